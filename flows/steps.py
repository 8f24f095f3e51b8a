"""The pipeline's steps, one function each, shared by the CLI and the Prefect flows.

This module imports neither Prefect nor the web app: the CLI's single-step
commands call these functions in-process (answers in about a second), and
the flows in this package wrap the very same functions as tasks. Every step
works on batches and is idempotent: run twice, it changes nothing the
second time.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from connectors.store import Store
from outreach.errors import ConfigError, OutreachError, ProviderError, ProviderOutcomeUnknown
from outreach.models import Candidate
from outreach.ports import MessageSource, Sender
from outreach.settings import Settings

if TYPE_CHECKING:
    from outreach.ingest import BatchParser

log = logging.getLogger("outreach.steps")

Progress = Callable[[int], None]


# -- sync -------------------------------------------------------------------


@dataclass(slots=True)
class SyncReport:
    """What one sync did."""

    source: str
    folders: int = 0
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    threaded: int = 0


def sync(
    store: Store,
    source: MessageSource,
    settings: Settings,
    *,
    progress: Progress | None = None,
    parser: BatchParser | None = None,
) -> SyncReport:
    """Fetch what is new in every folder, store it, and thread it.

    Each batch is stored, threaded and the folder's new position recorded in one
    transaction, so a run killed at any moment and rerun stores every message once.

    Args:
        store: The open store.
        source: Where the mail comes from.
        settings: All settings.
        progress: Called with the number of messages of each stored batch.
        parser: A parser the caller made (and closes), e.g. started early; by default
            one is made, only once there is mail, and closed here.
    """
    report = SyncReport(source=source.name)
    unmatched_reports: list[Any] = []
    own_parser = parser is None
    live_threads = None
    try:
        for folder, _is_sent in source.folders():
            report.folders += 1
            mailbox_id, state = store.mailbox_state(source.name, folder)
            batches = iter(source.fetch_new(folder, state, settings.imap.batch_size, settings.imap.batch_bytes))
            first = next(batches, None)
            if first is None:
                continue
            if parser is None:
                from outreach.ingest import BatchParser

                parser = BatchParser(settings)
            if live_threads is None:
                live_threads = store.live_threads()
            # Batches are parsed in parallel but come back in fetch order, so
            # each one still advances the folder position in its own transaction.
            for batch, stored, bad in parser.parse(_chain(first, batches)):
                outcome = store.save_batch(
                    mailbox_id,
                    uidvalidity=batch.uidvalidity,
                    last_uid=batch.last_uid,
                    highestmodseq=batch.highestmodseq,
                    stored=stored,
                    quarantined=bad,
                    threads=live_threads,
                )
                unmatched_reports.extend(_suppress_bounced(store, stored))
                report.fetched += len(batch.messages)
                report.stored += outcome.stored
                report.duplicates += outcome.duplicates
                report.quarantined += outcome.quarantined
                report.threaded += outcome.threaded
                if progress:
                    progress(len(batch.messages))
    finally:
        if own_parser and parser is not None:
            parser.close()
    report.threaded += thread_new_messages(store)
    # A staff reply from the sent folder may be stored after the bounce that returned it.
    ignored = _suppress_bounced(store, unmatched_reports)
    if ignored:
        log.info(
            "sync %s: %d bounce or complaint report(s) did not point to mail we sent; nobody suppressed",
            source.name, len(ignored),
        )
    __import__("flows.reply_steps").reply_steps.process_replies(store, settings)  # answers, stop automation, close the loop
    log.info(
        "sync %s: %d fetched, %d stored, %d quarantined",
        source.name, report.fetched, report.stored, report.quarantined,
    )
    return report


def _chain(first: Any, rest: Any) -> Any:
    yield first
    yield from rest


def _suppress_bounced(store: Store, stored: Any) -> list[Any]:
    """Bounces (DSN) and spam complaints (ARF) in the inbox: never write to those addresses again.

    Only recipients of mail we sent (a draft, or a staff reply in the store) that the
    report points back to are suppressed: anyone can write a bounce-like message naming
    any address. Returns the reports that pointed to nothing we know yet.
    """
    from datetime import UTC

    now = datetime.now(UTC)
    unmatched = []
    for m in stored:
        kind = m.parsed.auto_kind
        if kind not in ("bounce", "complaint") or not m.parsed.bounced_addresses:
            continue
        ours = store.recipients_of(m.parsed.bounce_refs)
        addresses = [a for a in m.parsed.bounced_addresses if a in ours]
        if not addresses:
            unmatched.append(m)
        for address in addresses:
            store.suppress(address, kind, "dsn" if kind == "bounce" else "arf", now)
    return unmatched


def thread_new_messages(store: Store) -> int:
    """Give every unthreaded message a thread, merging threads a late parent links.

    A sync threads each batch as it stores it; this finishes anything stored unthreaded.
    """
    return store.thread_unthreaded()


# -- detect -----------------------------------------------------------------


def detect(store: Store, settings: Settings, now: datetime) -> list[Candidate]:
    """Score every thread and make the live candidates match (one per thread and kind)."""
    from outreach.detection import DetectionInput
    from outreach.detection import detect as run_detection

    frames = store.frames()
    found = run_detection(_detection_input(DetectionInput, frames), settings, now)
    store.sync_candidates(found, now)
    return found


def explain(store: Store, settings: Settings, thread_id: int, now: datetime) -> dict[str, Any]:
    """Every signal's value for one thread."""
    from outreach.detection import DetectionInput
    from outreach.detection import explain as run_explain

    return run_explain(thread_id, _detection_input(DetectionInput, store.frames()), settings, now)


def _detection_input(cls: Any, frames: dict[str, Any]) -> Any:
    return cls(
        messages=frames["messages"],
        threads=frames["threads"],
        customers=frames["customers"],
        outreach=frames["outreach"],
    )


# -- draft ------------------------------------------------------------------


@dataclass(slots=True)
class DraftReport:
    created: int = 0
    auto_approved: int = 0
    expired: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def draft(store: Store, settings: Settings, now: datetime) -> DraftReport:
    """Write a draft for every open candidate, then expire stale ones.

    A template problem on one draft is recorded and the rest go on.
    """
    from outreach.drafting import (
        DraftContext,
        customer_reference,
        first_name,
        key_sentence,
        pick_language,
        render_draft,
        topic,
    )
    from outreach.links import make_survey_token, new_reply_token, survey_url
    from outreach.replies import survey_comment

    report = DraftReport()
    key = signing_key(settings)
    templates = settings.templates_path
    for cand in store.candidates_to_draft():
        last = store.last_customer_message(cand["thread_id"]) or {}
        # A resolved conversation's last message is usually the customer's thanks: what it
        # was about is in their first one.
        first = store.first_customer_message(cand["thread_id"]) or {}
        # Whatever languages have a template folder are supported; anything else gets the default.
        language = pick_language(
            templates,
            cand.get("customer_language") or last.get("language"),
            settings.drafts.default_language,
        )
        kind = cand["kind"]
        # Closing the loop with an unhappy customer always gets a human eye.
        auto = kind in settings.drafts.auto_approve and cand.get("source") != "loop"
        status = "approved" if auto else "pending_review"
        token = new_reply_token()
        domain = settings.sender.from_address.rpartition("@")[2] or "outreach.invalid"
        base_ctx = {
            "customer_name": first_name(cand.get("customer_name") or last.get("from_name") or "", cand["customer"]),
            "customer_address": cand["customer"],
            "agent_name": settings.drafts.agent_name,
            "signature": settings.drafts.signature,
            "team_name": settings.team.name,
            "thread_subject": cand.get("thread_subject") or last.get("subject") or "",
            # Never our thread id ("#276" means nothing to them): their own order/ticket number, if any.
            "thread_ref": customer_reference(cand.get("thread_subject") or last.get("subject") or ""),
            # Closing the loop answers the survey comment, never the old message before it.
            "key_sentence": key_sentence(
                survey_comment(cand.get("reasons") or [])
                if cand.get("source") == "loop"
                else last.get("reply_text") or ""
            ),
            "topic": topic(
                first.get("reply_text") or "",
                cand.get("thread_subject") or first.get("subject") or last.get("subject") or "",
            ),
            "kind": kind,
            "language": language,
            "survey_scale": settings.surveys.scale,
            "reasons": list(cand.get("reasons") or []),
        }

        def render(draft_id: int, ctx: dict[str, Any] = base_ctx, kind: str = kind) -> dict[str, Any]:
            from outreach.links import make_unsubscribe_token, unsubscribe_url

            scores = range(1, 6) if settings.surveys.scale == "csat" else range(11)
            links = {
                s: survey_url(settings.sender.public_url, make_survey_token(draft_id, s, key)) for s in scores
            }
            unsub = unsubscribe_url(
                settings.sender.public_url, make_unsubscribe_token(ctx["customer_address"], key)
            )
            rendered = render_draft(
                kind, DraftContext(**ctx, score_links=links, unsubscribe_url=unsub, gesture=None), templates
            )
            return {"subject": rendered.subject, "text": rendered.text, "html": rendered.html}

        row = {
            "candidate_id": cand["id"],
            "thread_id": cand["thread_id"],
            "customer": cand["customer"],
            "kind": kind,
            "priority": cand["priority"],
            "template": f"email/{language}/{kind}",
            "language": language,
            "context": {**base_ctx, "in_reply_to": last.get("message_id")},
            "status": status,
            "created_at": now,
            "reviewed_at": now if status == "approved" else None,
            "reviewer": "policy" if status == "approved" else None,
            "idempotency_key": secrets.token_hex(16),
            "reply_token": token,
            "message_id": f"outreach.{token}@{domain}",
        }
        try:
            created = store.add_draft(row, render=render)
        except OutreachError as exc:
            report.errors.append(f"candidate {cand['id']}: {exc}")
            continue
        if created is None:
            report.skipped += 1
            continue
        report.created += 1
        report.auto_approved += status == "approved"
    report.expired = store.expire_drafts(
        review_before=now - timedelta(days=settings.drafts.expire_days),
        approved_before=now - timedelta(hours=settings.throttle.stale_after_hours),
        now=now,
    )
    return report


# -- send -------------------------------------------------------------------


@dataclass(slots=True)
class SendReport:
    sent: int = 0
    failed: int = 0
    retry_later: int = 0
    deferred: int = 0
    unknown: int = 0
    dry_run: bool = False
    would_send: list[int] = field(default_factory=list)
    wait_reasons: dict[str, int] = field(default_factory=dict)
    budget: dict[str, Any] = field(default_factory=dict)


def _wait_label(reason: str) -> str:
    """One line per kind of wait: the reason without its per-draft details."""
    head, _, tail = reason.partition("; ")
    if head.startswith(("surveyed on", "contacted on")) and tail:
        return tail  # "one survey per 30 days", whatever the date
    return head.split(": ", 1)[0]  # "suppressed", "reply capacity"; "(09:00-17:00 UTC)" stays whole


def send(
    store: Store,
    sender: Sender,
    settings: Settings,
    now: datetime,
    *,
    dry_run: bool = False,
    worker: str | None = None,
    progress: Progress | None = None,
) -> SendReport:
    """Send what the throttle allows, each draft at most once.

    The budget is decided and the drafts claimed (``sending``) in one locked
    transaction, so parallel senders share the caps; each draft is settled
    after its provider call. A draft left ``sending`` by a dead sender
    becomes ``unknown`` for an operator instead of being sent again.
    """
    from outreach import throttle
    from outreach.outgoing import outgoing_for

    report = SendReport(dry_run=dry_run)
    worker = worker or f"{socket.gethostname()}:{os.getpid()}"
    report.unknown = len(store.reconcile_sending(older_than=now - timedelta(minutes=15), now=now))
    key = signing_key(settings)
    batch_size = settings.sender.batch_size
    tried: set[int] = set()  # a retryable failure waits for the next run, not the next batch
    first = True
    while True:
        # Plan and claim under the lock, a batch at a time: parallel senders interleave
        # their batches under one budget, and a crash strands at most one batch.
        with store.send_lock() as conn:
            approved, inputs, rates = throttle_inputs(store, conn, settings, now)
            plan = throttle.plan(approved, rates=rates, settings=settings, now=now, **inputs)
            if first:
                first = False
                report.budget = plan.budget.as_dict() if plan.budget else {}
                for _, reason in plan.waits.values():
                    label = _wait_label(reason)
                    report.wait_reasons[label] = report.wait_reasons.get(label, 0) + 1
                report.deferred = len(plan.waits)
                if dry_run:
                    report.would_send = list(plan.send)
                    return report
                store.defer(conn, plan.waits)
            fresh = [d for d in plan.send if d not in tried][:batch_size]
            claimed = store.claim(conn, fresh, worker, now) if fresh else []
        if not claimed:
            return report
        tried.update(claimed)
        _deliver(store, sender, settings, key, claimed, now, report, progress, outgoing_for)


def _deliver(
    store: Store, sender: Sender, settings: Settings, key: str, claimed: list[int], now: datetime,
    report: SendReport, progress: Progress | None, outgoing_for: Callable[..., Any],
) -> None:
    """Make one provider call per claimed draft and settle each right after it.

    Calls run on ``sender.concurrency`` threads (the provider's latency, not our
    CPU, is the limit); there is no retry around a call beyond the sender's own.
    """
    from concurrent.futures import ThreadPoolExecutor

    from outreach.composer import build_mime

    rows = store.drafts_by_id(claimed)

    def one(draft_id: int) -> str:
        row = rows.get(draft_id)
        if row is None:
            return "gone"
        try:
            email = outgoing_for(row, settings, key)
            build_mime(email, date=now)  # pure: a draft that cannot become an email fails alone
        except (ValueError, TypeError, LookupError, OutreachError) as exc:
            store.settle_failed(
                draft_id, provider=sender.name, error=f"cannot build the email: {exc}"[:500], retryable=False, now=now
            )
            return "failed"
        try:
            result = sender.send(email)
        except ProviderOutcomeUnknown as exc:
            store.settle_unknown(draft_id, provider=sender.name, error=str(exc), now=now)
            return "unknown"
        except ProviderError as exc:
            store.settle_failed(
                draft_id, provider=sender.name, error=str(exc), retryable=exc.retryable, now=now
            )
            return "retry_later" if exc.retryable else "failed"
        except Exception as exc:  # noqa: BLE001 - one draft must not stop the batch; it may have gone out
            log.exception("draft %d: unexpected error while sending; marked unknown", draft_id)
            store.settle_unknown(draft_id, provider=sender.name, error=f"{type(exc).__name__}: {exc}"[:500], now=now)
            return "unknown"
        store.settle_sent(draft_id, provider=result.provider, provider_id=result.provider_id, now=now)
        if progress:
            progress(1)
        return "sent"

    workers = max(1, min(settings.sender.concurrency, len(claimed)))
    if workers == 1:
        outcomes = [one(d) for d in claimed]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="outreach-send") as pool:
            outcomes = list(pool.map(one, claimed))
    for outcome in outcomes:
        if outcome != "gone":
            setattr(report, outcome, getattr(report, outcome) + 1)


def signing_key(settings: Settings) -> str:
    """The key that signs survey and unsubscribe links (a secret: env or Prefect Secret block)."""
    from connectors.factory import secret

    key = secret(settings.sender.signing_key, settings.sender.signing_key_block, "sender.signing_key")
    if key is None:
        raise ConfigError(
            "sender.signing_key",
            "required to sign survey and unsubscribe links; set OUTREACH_SENDER__SIGNING_KEY "
            "or sender.signing_key_block",
        )
    if len(key) < MIN_SIGNING_KEY_LENGTH and not _weak_key_warned:
        # Not refused: links already in customers' inboxes were signed with it and a new
        # key would break them all. `outreach check` fails on it until it is replaced.
        _weak_key_warned.append(True)
        log.warning(
            "sender.signing_key has %d characters: a short key can be guessed from one signed link; "
            "use at least %d (links signed with the old key stop working)", len(key), MIN_SIGNING_KEY_LENGTH,
        )
    return key


MIN_SIGNING_KEY_LENGTH = 32
_weak_key_warned: list[bool] = []


# -- review actions (CLI and web app share them) ------------------------------


def approval_blockers(store: Store, settings: Settings, draft_row: dict[str, Any], now: datetime) -> list[str]:
    """Why policy forbids sending this draft, in words (empty: allowed)."""
    problems: list[str] = []
    customer = draft_row["customer"]
    if customer in store.suppressed():
        problems.append("the customer unsubscribed, bounced or complained: outreach to them is suppressed")
    last = store.last_sent_to(customer)
    gap = timedelta(days=settings.throttle.contact_every_days)
    if last is not None and draft_row["kind"] not in ("follow_up", "apology") and now - last < gap:
        problems.append(
            f"contacted on {last:%Y-%m-%d}; policy allows one proactive email per "
            f"{settings.throttle.contact_every_days:g} days"
        )
    return problems


def approve(
    store: Store, settings: Settings, draft_ids: list[int], reviewer: str, now: datetime
) -> tuple[list[int], dict[int, str]]:
    """Approve drafts; those policy forbids are refused with the reason."""
    from outreach.errors import DraftStateError

    done: list[int] = []
    refused: dict[int, str] = {}
    for draft_id in draft_ids:
        row = store.get_draft(draft_id)
        if row is None:
            refused[draft_id] = "no such draft"
            continue
        blockers = approval_blockers(store, settings, row, now)
        if blockers:
            refused[draft_id] = "; ".join(blockers)
            store.record_audit(reviewer, "approval_blocked", draft_id, reasons=blockers)
            continue
        try:
            store.transition(
                draft_id, "approved", actor=reviewer, action="approved", now=now,
                expect={"pending_review"}, values={"reviewer": reviewer, "reviewed_at": now},
            )
        except DraftStateError as exc:
            refused[draft_id] = str(exc)
            continue
        done.append(draft_id)
    return done, refused


def reject(store: Store, draft_id: int, reviewer: str, reason: str, now: datetime) -> None:
    """Reject a draft with the reviewer's reason (kept in the audit log)."""
    if not reason.strip():
        raise OutreachError("a rejection needs a reason")
    store.transition(
        draft_id, "rejected", actor=reviewer, action="rejected", now=now,
        expect={"pending_review", "approved", "failed"},
        values={"reviewer": reviewer, "reviewed_at": now, "review_note": reason},
        detail={"reason": reason},
    )


def edit(
    store: Store, settings: Settings, draft_id: int, *, subject: str, text_body: str, reviewer: str,
    now: datetime, gesture: str | None = None,
) -> bool:
    """Replace a draft's subject and text; the HTML twin is rebuilt from the text.

    The agent edits the body only: any unsubscribe footer in ``text_body`` is dropped
    and the draft's own footer is put back under it, so the customer gets it exactly once.

    Returns:
        True when the draft had been approved: it is back in review, since the
        approval was given to the old text.
    """
    from outreach.drafting import html_from_text, with_footer
    from outreach.outgoing import footer_for

    if len(subject) > 78:
        raise OutreachError(f"subject is {len(subject)} characters; keep it to 78")
    if any(c in subject for c in "\r\n\x00"):
        raise OutreachError("subject must be one line")
    if gesture is not None and gesture not in settings.drafts.gestures:
        raise OutreachError(f"gesture {gesture!r} is not one of drafts.gestures")
    row = store.get_draft(draft_id)
    if row is None:
        raise OutreachError(f"draft {draft_id} does not exist")
    text = with_footer(text_body, footer_for(row, settings, signing_key(settings)))
    return store.update_draft_content(
        draft_id, subject=subject, text_body=text, html=html_from_text(text, row.get("language") or settings.drafts.default_language),
        actor=reviewer, now=now, gesture=gesture,
    )


def throttle_inputs(
    store: Store, conn: Any, settings: Settings, now: datetime
) -> tuple[Any, dict[str, Any], dict[str, float]]:
    """The throttle's inputs as ``send`` reads them, on ``conn``.

    Returns:
        The approved drafts (a frame), the other keyword inputs of
        :func:`outreach.throttle.plan`, and the reply rates per kind.
    """
    from outreach import throttle

    pressure = max(settings.throttle.contact_every_days, settings.throttle.survey_every_days)
    inputs = store.throttle_inputs(conn, now, pressure)
    rates = throttle.reply_rates(inputs.pop("rate_history"), settings)
    return inputs.pop("approved"), inputs, rates


def budget_today(store: Store, settings: Settings, now: datetime) -> dict[str, Any]:
    """Today's remaining budget and what limits it (read-only)."""
    from outreach import throttle

    with store.engine.connect() as conn:
        approved, inputs, rates = throttle_inputs(store, conn, settings, now)
    plan = throttle.plan(approved, rates=rates, settings=settings, now=now, **inputs)
    assert plan.budget is not None
    data = plan.budget.as_dict()
    data["would_send_now"] = len(plan.send)
    data["waiting"] = len(plan.waits)
    return data


@dataclass(slots=True)
class ReportResult:
    html_path: Any
    json_path: Any
    figures: dict[str, Any]


def report(
    store: Store, settings: Settings, out_dir: Any, now: datetime, *, progress: Progress | None = None
) -> ReportResult:
    """Compute the report's figures from the store and write HTML + JSON.

    ``progress`` is called with 1 per step: loading the store, each of the
    report's sections (``outreach.report.REPORT_STEPS``) and the rendering.
    """
    import json as jsonlib
    from pathlib import Path

    import pandas as pd

    from outreach.report import compute_figures, render_html

    tick = progress or (lambda _n: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frames = store.frames()
    frames["candidates"] = pd.DataFrame(store.list_candidates(status=None), columns=["kind", "status"])
    tick(1)
    figures = compute_figures(
        frames, settings, now, budget=budget_today(store, settings, now), progress=progress
    )
    html_path = out / "report.html"
    json_path = out / "report.json"
    html_path.write_text(render_html(figures, settings), encoding="utf-8")
    tick(1)
    json_path.write_text(jsonlib.dumps(figures, indent=2, default=str), encoding="utf-8")
    return ReportResult(html_path=html_path, json_path=json_path, figures=figures)
