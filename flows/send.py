"""Deployable flow ``outreach-send``: send what the throttle allows, each draft at most once.

Every 15 minutes. Outside every send window (the team's hours and days, and
those of the customers whose drafts are approved) the run logs why and
returns at once, so a quiet night costs a few milliseconds per run, not a
store transaction. The send task has no retries: a blind retry around a
provider call could send twice (the step retries what is safe and
reconciles the rest).
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.artifacts import publish_run_artifacts
from flows.runtime import install_redaction
from flows.tasks import now_from, send_task, settings_from


@task(name="send-window", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30])
def send_window_task(config: str | None, as_of: str | None) -> dict[str, Any]:
    """Whether any send window is open now, and when the next one opens."""
    from connectors.store import Store
    from outreach.throttle import next_open

    settings = settings_from(config)
    now = now_from(as_of)
    if not settings.throttle.respect_send_window:
        return {"open": True, "next_open": now.isoformat(), "zones": []}
    team = settings.team
    zones = {team.timezone}
    with Store.open(settings.store.url) as store:
        approved = {r["customer"] for r in store.list_drafts(status="approved")}
        if approved:
            customers = store.frames(text_columns=False)["customers"]
            if "timezone" in customers:
                known = customers[customers["address"].isin(approved)]["timezone"].dropna()
                zones |= set(known)
    holidays = frozenset(team.holidays)
    opens = min(next_open(now, tz, team.hours, team.days, holidays) for tz in sorted(zones))
    return {"open": opens <= now, "next_open": opens.isoformat(), "zones": sorted(zones)}


@flow(name="outreach-send", log_prints=False)
def send_flow(config: str | None = None, as_of: str | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Send approved drafts within the caps, the send windows and the team's reply capacity.

    Args:
        config: Config file path (TOML); default: ``$OUTREACH_CONFIG`` or built-in defaults.
        as_of: ISO 8601 time to treat as "now"; default: the run's start.
        dry_run: Decide what would be sent and publish it; send nothing.
    """
    install_redaction()
    window = send_window_task(config, as_of)
    if not window["open"]:
        get_run_logger().info(
            "outside every send window (%s); next opens %s: nothing to do",
            ", ".join(window["zones"]), window["next_open"],
        )
        return {"skipped": True, "next_open": window["next_open"]}
    sent = send_task(config, as_of, dry_run)
    publish_run_artifacts(None, None, sent, config=config)
    return {"skipped": False, **sent}
