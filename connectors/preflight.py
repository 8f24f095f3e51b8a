"""Check a configuration against the real systems before it is scheduled (``outreach check``).

Each check answers one question an operator has after editing the config: can Outreach
open its store, log in to the mailbox and find the folders, reach the sending provider,
sign links, run the review app, render the templates, reach the Prefect API that runs the
schedules? Every check runs even when an earlier one fails, nothing is sent or changed on
the mailbox, and each answer is one line naming what was checked and, on failure, what to fix.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from outreach.errors import OutreachError
from outreach.settings import Settings

__all__ = ["Check", "run_checks"]

log = logging.getLogger(__name__)

Outcome = Literal["ok", "failed", "skipped"]


@dataclass(frozen=True, slots=True)
class Check:
    """The answer to one question.

    Attributes:
        name: What was checked (``store``, ``mailbox``, ``sender``, ``links``, ``review``,
            ``templates``, ``prefect``).
        outcome: ``ok``, ``failed``, or ``skipped`` (not needed with these settings).
        detail: One line: what was found, or what is wrong and how to fix it.
    """

    name: str
    outcome: Outcome
    detail: str


def run_checks(settings: Settings) -> list[Check]:
    """Run every check, in order; none stops the others.

    Args:
        settings: The settings to check.

    Returns:
        One :class:`Check` per question.
    """
    checks: list[tuple[str, Callable[[Settings], tuple[Outcome, str]]]] = [
        ("store", _store),
        ("mailbox", _mailbox),
        ("sender", _sender),
        ("links", _links),
        ("review", _review),
        ("templates", _templates),
        ("detection", _detection),
        ("prefect", _prefect),
    ]
    results = []
    for name, check in checks:
        try:
            outcome, detail = check(settings)
        except OutreachError as exc:
            outcome, detail = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - a check reports every failure; one never stops the others
            outcome, detail = "failed", f"unexpected {type(exc).__name__}: {exc}"[:300]
        log.info("check %s: %s", name, outcome)
        results.append(Check(name, outcome, detail))
    return results


def _store(settings: Settings) -> tuple[Outcome, str]:
    from connectors.store import SCHEMA_HEAD, Store, redact_url

    where = redact_url(settings.store.url)
    with Store.open(settings.store.url, migrate=False) as store:
        version = store.schema_version()
        if version is None:
            return "ok", f"{where}: reachable, empty (the first run creates the tables)"
        if version != SCHEMA_HEAD:
            return "ok", f"{where}: schema {version}, upgraded to {SCHEMA_HEAD} by the next run"
        counts = store.status(datetime.now(UTC))
    return "ok", f"{where}: {counts['messages']:,} messages, {counts['threads']:,} threads"


def _mailbox(settings: Settings) -> tuple[Outcome, str]:
    imap = settings.imap
    if not imap.host:
        return "skipped", "imap.host is empty: sync reads mbox or Maildir files (--source)"
    from connectors.factory import imap_credentials
    from connectors.imap import ImapSource

    password, token = imap_credentials(imap)
    with ImapSource(imap, password=password, oauth2_token=token, retries=1, backoff_base=0.2) as source:
        found = source.folders()
        offers_idle = "IDLE" in source.capabilities
    names = [name for name, _sent in found]
    missing = [f for f in imap.folders if f not in names]
    how = imap.auth if not callable(token) else f"{imap.auth}, access token renewed"
    listed = ", ".join(f"{name} (staff)" if sent else name for name, sent in found) or "none"
    detail = f"{source.name}: logged in ({how}); folders to sync: {listed}"
    if missing:
        return "failed", f"{detail}; not on the server: {', '.join(missing)} (check imap.folders)"
    if not any(sent for _name, sent in found):
        detail += "; no sent folder found, so staff replies are seen only when they are in the synced folders"
    if not offers_idle:
        detail += f"; no IDLE on this server: `outreach watch` checks every {imap.poll_seconds} s"
    return "ok", detail


def _sender(settings: Settings) -> tuple[Outcome, str]:
    from connectors.factory import make_sender

    sender = make_sender(settings)
    try:
        return "ok", f"{sender.name}: {sender.verify()}"
    finally:
        sender.close()


def _links(settings: Settings) -> tuple[Outcome, str]:
    from flows.steps import MIN_SIGNING_KEY_LENGTH, signing_key

    key = signing_key(settings)
    if len(key) < MIN_SIGNING_KEY_LENGTH:
        return "failed", (
            f"sender.signing_key has {len(key)} characters, at least {MIN_SIGNING_KEY_LENGTH} are needed: "
            "a short key can be guessed from one signed link "
            '(python -c "import secrets; print(secrets.token_urlsafe(48))")'
        )
    if not settings.sender.public_url:
        return "failed", "sender.public_url is empty: survey and unsubscribe links need the app's public address"
    from urllib.parse import urlsplit

    from outreach.settings import is_loopback

    if settings.sender.provider != "outbox" and is_loopback(urlsplit(settings.sender.public_url).hostname or ""):
        return "failed", (
            f"sender.public_url is {settings.sender.public_url}: customers cannot open links to this machine's "
            "loopback address; set the review app's public address"
        )
    return "ok", f"survey and unsubscribe links are signed and point to {settings.sender.public_url}"


def _review(settings: Settings) -> tuple[Outcome, str]:
    from outreach.review.auth import session_secret

    if settings.review.session_secret is None:
        return "skipped", "review.session_secret is not set: needed only to run `outreach review`"
    session_secret(settings)
    return "ok", "agents' sessions can be signed"


def _templates(settings: Settings) -> tuple[Outcome, str]:
    from outreach.drafting import check_templates

    problems = check_templates(settings.templates_path)
    if problems:
        more = f" (and {len(problems) - 1} more: outreach templates check)" if len(problems) > 1 else ""
        return "failed", f"{problems[0]}{more}"
    return "ok", f"every template renders ({settings.templates_path})"


def _detection(settings: Settings) -> tuple[Outcome, str]:
    path = settings.detection.customer_values_csv
    if not path:
        return "ok", "every customer has the default value (detection.customer_values_csv is empty)"
    from outreach.signals import customer_values

    values = customer_values(path)  # a ConfigError names the key and the problem
    return "ok", f"{len(values)} customer values read from {path}"


def _prefect(_settings: Settings) -> tuple[Outcome, str]:
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        return "skipped", "no PREFECT_API_URL: `outreach serve` runs the schedules with a local Prefect server"
    from prefect.client.orchestration import get_client

    from flows.serve import load_specs

    with get_client(sync_client=True) as client:
        problem = client.api_healthcheck()
        if problem is not None:
            return "failed", f"{url}: not reachable ({type(problem).__name__})"
        deployed = {d.name for d in client.read_deployments()}
    wanted = [spec.name for spec in load_specs()]
    missing = [name for name in wanted if name not in deployed]
    if missing:
        return "ok", f"{url}: reachable; not deployed yet: {', '.join(missing)} (prefect deploy --all, or outreach serve)"
    return "ok", f"{url}: reachable; all {len(wanted)} deployments of prefect.yaml are there"
