"""The agents' pages: login, the queue, one draft, survey answers to read, the audit log, the agents list.

Every route but login goes through :func:`_guard`: no valid session → 303 to
the login page (401 with ``HX-Redirect`` for htmx requests); a POST without
the session's CSRF token → 403. Handlers are plain functions run in a thread
(the store is synchronous). Customer text is only ever rendered escaped;
a draft's HTML preview goes through nh3 first.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import jinja2
import nh3
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from outreach.errors import OutreachError
from outreach.review import actions
from outreach.review.auth import (
    CSRF_FIELD,
    LoginLimiter,
    csrf_ok,
    csrf_token,
    end_session,
    safe_next,
    session_agent_name,
    session_epoch,
    start_session,
)
from outreach.review.context import WebContext

if TYPE_CHECKING:
    from connectors.accounts import Agent

log = logging.getLogger("outreach.review")

# Pages only load our own files: nothing inline, nothing from elsewhere.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SNOOZE_HOURS = (1, 4, 24, 48)
BULK_KINDS = frozenset({"survey"})
SURVEY_REVIEW_LIMIT = 200
# The preview shows our own email; images could only be trackers or noise.
PREVIEW_TAGS = set(nh3.ALLOWED_TAGS) - {"img"}

Handler = Callable[[Request, "Agent", FormData | None], Response]


@dataclass
class Pages:
    """The review pages bound to one app's context."""

    ctx: WebContext
    templates: Jinja2Templates
    limiter: LoginLimiter

    # -- plumbing ------------------------------------------------------------

    def render(self, request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
        values.setdefault("agent", getattr(request.state, "agent", None))
        values["csrf"] = csrf_token(request)
        values["csrf_field"] = CSRF_FIELD
        values["team_name"] = self.ctx.settings.team.name
        values["flashes"] = request.session.pop("flash", [])
        response = self.templates.TemplateResponse(request, template, values, status_code=status_code)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Cache-Control"] = "no-store"
        return response

    def flash(self, request: Request, level: str, text: str) -> None:
        request.session.setdefault("flash", [])
        request.session["flash"] = [*request.session["flash"], [level, text[:500]]][-5:]

    def current_agent(self, request: Request) -> Agent | None:
        from connectors.accounts import get_agent

        name = session_agent_name(request, self.ctx.clock(), self.ctx.settings.review.session_minutes)
        if name is None:
            return None
        agent = get_agent(self.ctx.store, name)
        if agent is None or agent.disabled or session_epoch(request) != agent.session_epoch:
            end_session(request)
            return None
        return agent

    def guard(self, handler: Handler, *, admin: bool = False) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            agent = await run_in_threadpool(self.current_agent, request)
            if agent is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                location = "/login" if request.method != "GET" else f"/login?next={quote(target, safe='/')}"
                if request.headers.get("hx-request"):
                    return Response(status_code=401, headers={"HX-Redirect": location})
                return RedirectResponse(location, status_code=303)
            form: FormData | None = None
            if request.method == "POST":
                form = await request.form()
                if not csrf_ok(request, form):
                    return PlainTextResponse("missing or invalid CSRF token", status_code=403)
            if admin and not agent.is_admin:
                return PlainTextResponse("admins only", status_code=403)
            request.state.agent = agent
            return await run_in_threadpool(handler, request, agent, form)

        return endpoint

    # -- login -----------------------------------------------------------------

    def login_page(self, request: Request) -> Response:
        return self.render(request, "login.html.j2", next=safe_next(request.query_params.get("next")), agent=None)

    async def login(self, request: Request) -> Response:
        form = await request.form()
        if not csrf_ok(request, form):
            return PlainTextResponse("missing or invalid CSRF token", status_code=403)
        name = str(form.get("name") or "").strip()[:100]
        password = str(form.get("password") or "")
        address = request.client.host if request.client else "unknown"
        wait = self.limiter.begin(name, address)
        if wait is not None:
            # Not the name: it is often a password typed into the wrong field.
            log.warning("login rate limit hit from %s", address)
            response = self.render(
                request, "login.html.j2", status_code=429, agent=None, next=safe_next(str(form.get("next") or "")),
                error=f"Too many attempts. Try again in {math.ceil(wait)} seconds.",
            )
            response.headers["Retry-After"] = str(math.ceil(wait))
            return response
        from connectors.accounts import verify_agent

        agent = await run_in_threadpool(verify_agent, self.ctx.store, name, password) if name and password else None
        if agent is None:
            log.info("failed login from %s", address)
            return self.render(
                request, "login.html.j2", status_code=401, agent=None, next=safe_next(str(form.get("next") or "")),
                error="Wrong name or password.", login_name=name,
            )
        self.limiter.succeeded(name, address)
        start_session(request, agent, self.ctx.clock())
        await run_in_threadpool(self.ctx.store.record_audit, agent.name, "login", None)
        return RedirectResponse(safe_next(str(form.get("next") or "")), status_code=303)

    def logout(self, request: Request, agent: Agent, form: FormData | None) -> Response:
        from connectors.accounts import end_sessions

        end_sessions(self.ctx.store, agent.name)  # a copied cookie must not outlive the logout
        end_session(request)
        return RedirectResponse("/login", status_code=303)

    # -- queue -----------------------------------------------------------------

    def _queue(self, now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        pending = self.ctx.store.list_drafts(status="pending_review")
        ready = [d for d in pending if not actions.is_snoozed(d, now)]
        snoozed = sorted((d for d in pending if actions.is_snoozed(d, now)), key=lambda d: d["not_before"])
        return ready, snoozed

    def _load(self, ready: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
        """Today's budget and what approving the whole queue would add to the team's replies."""
        from flows import steps

        settings = self.ctx.settings
        try:
            budget = steps.budget_today(self.ctx.store, settings, now)
        except OutreachError as exc:
            return {"error": str(exc)}
        rates = budget.get("reply_rates") or {}
        prior = settings.capacity.reply_rate_prior
        replies = sum(float(rates.get(d["kind"], getattr(prior, d["kind"], 0.3))) for d in ready)
        minutes = replies * settings.capacity.handle_minutes
        return {
            **budget,
            "queue_replies": replies,
            "queue_minutes": minutes,
            "overloaded": minutes > max(float(budget.get("free_minutes", 0.0)), 0.0),
        }

    def queue(self, request: Request, agent: Agent, form: FormData | None) -> Response:
        now = self.ctx.clock()
        ready, snoozed = self._queue(now)
        kinds: dict[str, int] = {}
        for d in ready:
            kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
        from connectors.survey_store import count_needs_review

        return self.render(
            request, "queue.html.j2", drafts=ready, snoozed=snoozed, kinds=kinds, load=self._load(ready, now),
            now=now, bulk_kinds=sorted(BULK_KINDS), surveys_to_read=count_needs_review(self.ctx.store),
        )

    # -- one draft -------------------------------------------------------------

    def _draft_or_404(self, request: Request) -> dict[str, Any] | None:
        return self.ctx.store.get_draft(int(request.path_params["draft_id"]))

    def draft(self, request: Request, agent: Agent, form: FormData | None) -> Response:
        from connectors.conversation_view import customer_flags, thread_messages
        from flows import steps

        draft = self._draft_or_404(request)
        if draft is None:
            return self.render(request, "missing.html.j2", status_code=404, what="draft")
        now = self.ctx.clock()
        ready, _ = self._queue(now)
        ids = [d["id"] for d in ready]
        position = ids.index(draft["id"]) if draft["id"] in ids else None
        prev_id = ids[position - 1] if position is not None and position > 0 else None
        next_id = ids[position + 1] if position is not None and position + 1 < len(ids) else None
        pending = draft["status"] == "pending_review"
        blockers = steps.approval_blockers(self.ctx.store, self.ctx.settings, draft, now) if pending else []
        from outreach.drafting import strip_footer

        return self.render(
            request, "draft.html.j2", draft=draft, reasons=(draft.get("context") or {}).get("reasons") or [],
            # The footer is re-applied under the agent's words on every save: not theirs to edit.
            editable_text=strip_footer(draft["text"] or ""),
            messages=thread_messages(self.ctx.store, draft["thread_id"]),
            customer=customer_flags(self.ctx.store, draft["customer"]),
            preview=nh3.clean(draft.get("html") or "", tags=PREVIEW_TAGS), blockers=blockers, pending=pending,
            snoozed=actions.is_snoozed(draft, now), expires=actions.expires_at(self.ctx.settings, draft),
            gestures=self.ctx.settings.drafts.gestures, snooze_hours=SNOOZE_HOURS,
            prev_id=prev_id, next_id=next_id, position=position, total=len(ids),
            history=self.ctx.store.audit_log(draft["id"], limit=50),
        )

    def _after(self, request: Request, form: FormData | None, draft_id: int) -> Response:
        """Where to go after an action: the next draft in the queue, or the queue."""
        if form is not None and form.get("then") == "next":
            ready, _ = self._queue(self.ctx.clock())
            ids = [d["id"] for d in ready]
            later = [i for i in ids if i != draft_id]
            if later:
                # The acted-on draft left the queue, so the top is the next most urgent one.
                return RedirectResponse(f"/drafts/{later[0]}", status_code=303)
        return RedirectResponse("/", status_code=303)

    def approve(self, request: Request, agent: Agent, form: FormData | None) -> Response:
        from flows import steps

        draft_id = int(request.path_params["draft_id"])
        done, refused = steps.approve(self.ctx.store, self.ctx.settings, [draft_id], agent.name, self.ctx.clock())
        if done:
            self.flash(request, "ok", f"Approved #{draft_id}.")
        for bad, why in refused.items():
            self.flash(request, "warn", f"#{bad} not approved: {why}")
            return RedirectResponse(f"/drafts/{draft_id}", status_code=303)
        return self._after(request, form, draft_id)

    def edit(self, request: Request, agent: Agent, form: FormData | None) -> Response:
        from flows import steps

        assert form is not None
        draft = self._draft_or_404(request)
        if draft is None:
            return self.render(request, "missing.html.j2", status_code=404, what="draft")
        draft_id = draft["id"]
        now = self.ctx.clock()
        subject = str(form.get("subject") or "").strip()
        body = str(form.get("text") or "").replace("\r\n", "\n")
        gesture = str(form.get("gesture") or "") or None
        from outreach.drafting import strip_footer

        text_changed = body.strip() != strip_footer(draft["text"] or "").strip()
        subject_changed = subject != draft["subject"]
        reopened = False
        try:
            if not subject or not body.strip():
                raise OutreachError("subject and text may not be empty")
            if draft["kind"] == "apology" and gesture != draft.get("gesture") and not text_changed and not subject_changed:
                actions.regesture(
                    self.ctx.store, self.ctx.settings, draft, gesture, signing_key=self.ctx.signing_key,
                    reviewer=agent.name, now=now,
                )
            elif text_changed or subject_changed or gesture != draft.get("gesture"):
                reopened = steps.edit(
                    self.ctx.store, self.ctx.settings, draft_id, subject=subject, text_body=body,
                    reviewer=agent.name, now=now, gesture=gesture,
                )
                if draft["kind"] == "apology" and gesture and gesture != draft.get("gesture"):
                    self.flash(request, "warn", "You changed the text, so the gesture was not written in: mention it yourself.")
        except OutreachError as exc:
            self.flash(request, "warn", f"Not saved: {exc}")
            return RedirectResponse(f"/drafts/{draft_id}", status_code=303)
        if form.get("action") == "approve":
            return self.approve(request, agent, form)
        if reopened:
            self.flash(request, "warn", f"Saved #{draft_id}. It was approved before this change: approve it again to send it.")
        else:
            self.flash(request, "ok", f"Saved #{draft_id}.")
        return RedirectResponse(f"/drafts/{draft_id}", status_code=303)

    def reject(self, request: Request, agent: Agent, form: FormData | None) -> Response:
        from flows import steps

        assert form is not None
        draft_id = int(request.path_params["draft_id"])
        reason = str(form.get("reason") or "").strip()[:1000]
        try:
            steps.reject(self.ctx.store, draft_id, agent.name, reason, self.ctx.clock())
        except OutreachError as exc:
            self.flash(request, "warn", f"Not rejected: {exc}")
            return RedirectResponse(f"/drafts/{draft_id}", status_code=303)
        self.flash(request, "ok", f"Rejected #{draft_id}.")
        return self._after(request, form, draft_id)

    def snooze(self, request: Request, agent: Agent, form: FormData | None) -> Response:
        assert form is not None
        draft_id = int(request.path_params["draft_id"])
        try:
            hours = float(str(form.get("hours") or "0"))
            until = actions.snooze(
                self.ctx.store, self.ctx.settings, draft_id, hours=hours, reviewer=agent.name, now=self.ctx.clock()
            )
        except (OutreachError, ValueError) as exc:
            self.flash(request, "warn", f"Not snoozed: {exc}")
            return RedirectResponse(f"/drafts/{draft_id}", status_code=303)
        self.flash(request, "ok", f"Snoozed #{draft_id} until {until:%a %H:%M} UTC.")
        return self._after(request, form, draft_id)

    def wake(self, request: Request, agent: Agent, form: FormData | None) -> Response:
        draft_id = int(request.path_params["draft_id"])
        try:
            actions.wake(self.ctx.store, draft_id, reviewer=agent.name, now=self.ctx.clock())
        except OutreachError as exc:
            self.flash(request, "warn", f"Not woken: {exc}")
        return RedirectResponse(f"/drafts/{draft_id}", status_code=303)

    def bulk_approve(self, request: Request, agent: Agent, form: FormData | None) -> Response:
        """Approve several surveys at once (other kinds need a look each)."""
        from flows import steps

        assert form is not None
        now = self.ctx.clock()
        ready, _ = self._queue(now)
        eligible = {d["id"] for d in ready if d["kind"] in BULK_KINDS}
        if form.get("all") == "surveys":
            ids = sorted(eligible)
        else:
            try:
                ids = [int(v) for v in form.getlist("ids")]
            except ValueError:
                return PlainTextResponse("bad draft id", status_code=400)
        skipped = [i for i in ids if i not in eligible]
        ids = [i for i in ids if i in eligible]
        done, refused = steps.approve(self.ctx.store, self.ctx.settings, ids, agent.name, now) if ids else ([], {})
        self.flash(request, "ok", f"Approved {len(done)} survey{'s' if len(done) != 1 else ''}.")
        for draft_id, why in refused.items():
            self.flash(request, "warn", f"#{draft_id} not approved: {why}")
        if skipped:
            self.flash(request, "warn", f"Skipped {len(skipped)} that are not pending surveys (review those one by one).")
        return RedirectResponse("/", status_code=303)

    # -- survey answers an agent must read -------------------------------------

    def survey_review(self, request: Request, agent: Agent, form: FormData | None) -> Response:
        from connectors.survey_store import responses_to_review
        from outreach.surveys import SCALES

        rows = responses_to_review(self.ctx.store, limit=SURVEY_REVIEW_LIMIT)
        return self.render(request, "surveys.html.j2", responses=rows, scales=SCALES, limit=SURVEY_REVIEW_LIMIT)

    def survey_resolve(self, request: Request, agent: Agent, form: FormData | None) -> Response:
        """Record the score an agent read in an answer, or that it holds none."""
        from connectors.survey_store import resolve_response

        assert form is not None
        response_id = int(request.path_params["response_id"])
        back = RedirectResponse("/surveys/review", status_code=303)
        raw = str(form.get("score") or "").strip()
        if form.get("no_score"):
            score = None
        elif raw.lstrip("-").isdigit() and len(raw) <= 4:
            score = int(raw)
        else:
            self.flash(request, "warn", f"Answer #{response_id} not recorded: type a score, or choose “no score”.")
            return back
        try:
            candidate_id = resolve_response(
                self.ctx.store, self.ctx.settings.surveys, response_id, score=score, reviewer=agent.name,
                now=self.ctx.clock(),
            )
        except OutreachError as exc:
            self.flash(request, "warn", f"Answer #{response_id} not recorded: {exc}")
            return back
        if score is None:
            self.flash(request, "ok", f"Answer #{response_id} recorded without a score.")
        else:
            follow = f"; close-the-loop candidate #{candidate_id} added" if candidate_id is not None else ""
            self.flash(request, "ok", f"Answer #{response_id} recorded as {score}{follow}.")
        return back

    # -- audit, agents ---------------------------------------------------------

    def audit(self, request: Request, agent: Agent, form: FormData | None) -> Response:
        raw = request.query_params.get("draft")
        draft_id = int(raw) if raw and raw.isdigit() else None
        entries = self.ctx.store.audit_log(draft_id=draft_id, limit=500)
        return self.render(request, "audit.html.j2", entries=entries, draft_id=draft_id)

    def agents(self, request: Request, agent: Agent, form: FormData | None) -> Response:
        from connectors.accounts import list_agents

        return self.render(request, "agents.html.j2", agents=list_agents(self.ctx.store))

    def agent_disable(self, request: Request, agent: Agent, form: FormData | None) -> Response:
        from connectors.accounts import AccountError, set_disabled

        assert form is not None
        name = request.path_params["name"]
        disable = form.get("disabled") != "0"
        if name == agent.name and disable:
            self.flash(request, "warn", "You cannot disable yourself.")
            return RedirectResponse("/agents", status_code=303)
        try:
            set_disabled(self.ctx.store, name, disable)
        except AccountError as exc:
            self.flash(request, "warn", str(exc))
            return RedirectResponse("/agents", status_code=303)
        self.ctx.store.record_audit(agent.name, "agent_disabled" if disable else "agent_enabled", None, agent=name)
        self.flash(request, "ok", f"{'Disabled' if disable else 'Enabled'} {name}.")
        return RedirectResponse("/agents", status_code=303)


def templates_env(directory: Path) -> jinja2.Environment:
    """Jinja2 for the review pages: everything autoescaped, undefined names are errors."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    return env


def _when(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


def routes(ctx: WebContext, limiter: LoginLimiter) -> list[BaseRoute]:
    """The review app's routes (static files and public pages are mounted by ``app.py``)."""
    directory = ctx.settings.templates_path / "review"
    pages = Pages(ctx, Jinja2Templates(env=templates_env(directory)), limiter)
    g = pages.guard
    return [
        Route("/login", pages.login_page, methods=["GET"], name="login"),
        Route("/login", pages.login, methods=["POST"]),
        Route("/logout", g(pages.logout), methods=["POST"], name="logout"),
        Route("/", g(pages.queue), methods=["GET"], name="queue"),
        Route("/drafts/bulk-approve", g(pages.bulk_approve), methods=["POST"], name="bulk_approve"),
        Route("/drafts/{draft_id:int}", g(pages.draft), methods=["GET"], name="draft"),
        Route("/drafts/{draft_id:int}/approve", g(pages.approve), methods=["POST"], name="approve"),
        Route("/drafts/{draft_id:int}/edit", g(pages.edit), methods=["POST"], name="edit"),
        Route("/drafts/{draft_id:int}/reject", g(pages.reject), methods=["POST"], name="reject"),
        Route("/drafts/{draft_id:int}/snooze", g(pages.snooze), methods=["POST"], name="snooze"),
        Route("/drafts/{draft_id:int}/wake", g(pages.wake), methods=["POST"], name="wake"),
        Route("/surveys/review", g(pages.survey_review), methods=["GET"], name="survey_review"),
        Route("/surveys/{response_id:int}/resolve", g(pages.survey_resolve), methods=["POST"], name="survey_resolve"),
        Route("/audit", g(pages.audit), methods=["GET"], name="audit"),
        Route("/agents", g(pages.agents, admin=True), methods=["GET"], name="agents"),
        Route("/agents/{name}/disable", g(pages.agent_disable, admin=True), methods=["POST"], name="agent_disable"),
    ]


__all__ = ["CSP", "Pages", "routes", "templates_env"]
