"""Prefect process settings, applied before Prefect is imported."""

from __future__ import annotations

import os
import sys


def prepare_prefect(*, announce: bool = True) -> None:
    """Give the temporary local API time to start, keep analytics off, say what is happening.

    Measured here: the ephemeral server takes 12–23 s to start, and Prefect's
    default 20 s start-up timeout fails most first runs on a fresh home.
    """
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    install_redaction()
    if announce and not os.environ.get("PREFECT_API_URL"):
        sys.stderr.write(
            "Starting Prefect's temporary local server (about 15–30 s; set PREFECT_API_URL to use yours)…\n"
        )
        sys.stderr.flush()


def install_redaction() -> None:
    """Redact customer addresses and message bodies in every log line of ours and Prefect's.

    Called by each flow (a worker or ``serve`` process imports the flow, not
    the CLI) and by the CLI; installing twice changes nothing.
    """
    from outreach.redact import install

    install()
