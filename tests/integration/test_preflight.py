"""``outreach check``: every question answered against real servers, nothing sent, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.preflight import Check, run_checks
from outreach.settings import Settings
from tests.servers.dovecot import DovecotUser
from tests.servers.http_stub import HttpStub
from tests.servers.smtp import SmtpSink

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SIGNING_KEY = "k" * 40
SESSION_SECRET = "s" * 40


def settings_for(dovecot: DovecotUser, tmp_path: Path, **sections: dict[str, object]) -> Settings:
    values: dict[str, dict[str, object]] = {
        "store": {"url": f"sqlite:///{tmp_path / 'store.db'}"},
        "imap": {
            "host": "127.0.0.1", "port": dovecot.port, "username": dovecot.user, "password": dovecot.password,
            "ssl": False, "folders": ["INBOX"], "sent_folders": ["Sent"], "timeout_seconds": 10,
        },
        "sender": {"provider": "outbox", "signing_key": SIGNING_KEY, "public_url": "https://outreach.example.com"},
        "outbox": {"path": str(tmp_path / "outbox")},
        "review": {"session_secret": SESSION_SECRET},
    }
    for name, extra in sections.items():
        values[name] = {**values.get(name, {}), **extra}
    return Settings(**values)


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_a_working_setup_passes_every_check_and_sends_nothing(dovecot: DovecotUser, tmp_path: Path) -> None:
    dovecot.append("Sent", b"From: support@example.test\r\nSubject: Re: Hi\r\n\r\nHello\r\n")
    before = dovecot.status("INBOX")
    checks = by_name(run_checks(settings_for(dovecot, tmp_path)))
    prefect = checks.pop("prefect")  # skipped without a Prefect API; ok when the flow tests' server runs
    assert prefect.outcome in ("ok", "skipped")
    assert {n: c.outcome for n, c in checks.items()} == {
        "store": "ok", "mailbox": "ok", "sender": "ok", "links": "ok", "review": "ok", "templates": "ok",
        "detection": "ok",
    }
    assert "logged in (login)" in checks["mailbox"].detail
    assert "INBOX, Sent (staff)" in checks["mailbox"].detail
    assert "IDLE" not in checks["mailbox"].detail
    assert list((tmp_path / "outbox").iterdir()) == []  # the outbox was tried, not written to
    assert dovecot.status("INBOX") == before


def test_the_store_check_on_postgresql_empty_then_migrated_and_unreachable(
    dovecot: DovecotUser, tmp_path: Path, postgres: str
) -> None:
    from connectors.store import Store

    check = by_name(run_checks(settings_for(dovecot, tmp_path, store={"url": postgres})))["store"]
    assert check.outcome == "ok" and "reachable, empty" in check.detail
    Store.open(postgres).close()  # the first run creates the tables
    check = by_name(run_checks(settings_for(dovecot, tmp_path, store={"url": postgres})))["store"]
    assert check.outcome == "ok" and "0 messages, 0 threads" in check.detail
    # A port nobody listens on, with a password that must not be shown.
    down = "postgresql://outreach:s3cret-pw@127.0.0.1:1/nowhere"
    check = by_name(run_checks(settings_for(dovecot, tmp_path, store={"url": down})))["store"]
    assert check.outcome == "failed" and "cannot connect to store" in check.detail
    assert "s3cret-pw" not in check.detail and "outreach:***@127.0.0.1:1" in check.detail


def test_each_failure_is_named_and_the_other_checks_still_run(
    dovecot: DovecotUser, tmp_path: Path, smtp_tls_server: SmtpSink
) -> None:
    settings = settings_for(
        dovecot, tmp_path,
        imap={"password": "wrong-password"},
        sender={"provider": "smtp", "signing_key": None, "public_url": ""},
        smtp={"host": "localhost", "port": smtp_tls_server.port, "starttls": True, "username": "mailer",
              "password": "also-wrong", "ca_file": str(smtp_tls_server.ca_file)},
        review={"session_secret": "too-short"},
    )
    checks = by_name(run_checks(settings))
    assert checks["mailbox"].outcome == "failed" and "authentication failed" in checks["mailbox"].detail
    assert checks["sender"].outcome == "failed" and "login refused" in checks["sender"].detail
    assert checks["links"].outcome == "failed" and "sender.signing_key" in checks["links"].detail
    assert checks["review"].outcome == "failed" and "at least 32 characters" in checks["review"].detail
    assert checks["store"].outcome == "ok" and checks["templates"].outcome == "ok"
    assert "wrong-password" not in json.dumps([c.detail for c in checks.values()])
    assert smtp_tls_server.messages == []


def test_the_links_check_fails_on_a_short_key_or_an_address_customers_cannot_reach(
    dovecot: DovecotUser, tmp_path: Path
) -> None:
    short = by_name(run_checks(settings_for(dovecot, tmp_path, sender={"signing_key": "k" * 16})))["links"]
    assert short.outcome == "failed" and "has 16 characters, at least 32" in short.detail
    assert "k" * 16 not in short.detail
    loopback = settings_for(dovecot, tmp_path, sender={"provider": "smtp", "public_url": "http://127.0.0.1:8025"})
    check = by_name(run_checks(loopback))["links"]
    assert check.outcome == "failed" and "loopback" in check.detail
    demo = settings_for(dovecot, tmp_path, sender={"public_url": "http://127.0.0.1:8025"})  # the file outbox: fine
    assert by_name(run_checks(demo))["links"].outcome == "ok"


def test_the_detection_check_reads_the_customer_values_file(dovecot: DovecotUser, tmp_path: Path) -> None:
    missing = settings_for(dovecot, tmp_path, detection={"customer_values_csv": str(tmp_path / "values.csv")})
    check = by_name(run_checks(missing))["detection"]
    assert check.outcome == "failed" and "detection.customer_values_csv" in check.detail
    (tmp_path / "values.csv").write_text("address,value\nann@example.com,3\nbob@example.com,oops\n")
    check = by_name(run_checks(missing))["detection"]
    assert check.outcome == "failed" and "line 3: value must be a number" in check.detail
    (tmp_path / "values.csv").write_text("address,value\nann@example.com,3\n")
    check = by_name(run_checks(missing))["detection"]
    assert check.outcome == "ok" and "1 customer values" in check.detail


def test_a_missing_folder_fails_the_mailbox_check(dovecot: DovecotUser, tmp_path: Path) -> None:
    check = by_name(run_checks(settings_for(dovecot, tmp_path, imap={"folders": ["INBOX", "Support"]})))["mailbox"]
    assert check.outcome == "failed" and "not on the server: Support" in check.detail


def test_a_server_without_idle_is_named_with_the_watch_interval(
    dovecot_without_idle: DovecotUser, tmp_path: Path
) -> None:
    settings = settings_for(dovecot_without_idle, tmp_path, imap={"sent_folders": [], "poll_seconds": 30})
    check = by_name(run_checks(settings))["mailbox"]
    assert check.outcome == "ok"
    assert "no IDLE on this server: `outreach watch` checks every 30 s" in check.detail


def test_smtp_that_answers_and_logs_in_passes(dovecot: DovecotUser, tmp_path: Path, smtp_tls_server: SmtpSink) -> None:
    settings = settings_for(
        dovecot, tmp_path,
        sender={"provider": "smtp"},
        smtp={"host": "localhost", "port": smtp_tls_server.port, "starttls": True, "username": "mailer",
              "password": smtp_tls_server.password, "ca_file": str(smtp_tls_server.ca_file)},
    )
    check = by_name(run_checks(settings))["sender"]
    assert (check.outcome, check.detail) == ("ok", f"smtp: localhost:{smtp_tls_server.port} answered (STARTTLS, logged in as mailer)")
    assert smtp_tls_server.messages == []


@pytest.mark.parametrize(
    ("status", "scopes", "outcome", "detail"),
    [
        (200, ["mail.send", "stats.read"], "ok", "mail.send allowed"),
        (200, ["stats.read"], "failed", "lacks the mail.send permission"),
        (401, None, "failed", "401"),
    ],
)
def test_the_sendgrid_key_is_asked_for_its_permissions(
    dovecot: DovecotUser, tmp_path: Path, http_stub: HttpStub, status: int, scopes: list[str] | None,
    outcome: str, detail: str,
) -> None:
    body = {"scopes": scopes} if scopes is not None else {"errors": [{"message": "authorization required"}]}
    http_stub.respond(status, body, path="/v3/scopes")
    settings = settings_for(
        dovecot, tmp_path, sender={"provider": "sendgrid"},
        sendgrid={"api_key": "SG.test-key", "api_host": http_stub.url, "max_retries": 0},
    )
    check = by_name(run_checks(settings))["sender"]
    assert check.outcome == outcome and detail in check.detail, check.detail
    assert [r.path for r in http_stub.requests] == ["/v3/scopes"]
    assert http_stub.requests[0].headers["authorization"] == "Bearer SG.test-key"


def test_the_cli_prints_a_table_or_json_and_exits_1_on_a_failure(dovecot: DovecotUser, tmp_path: Path) -> None:
    env = dovecot.cli_env(
        tmp_path / "store.db", OUTREACH_SENDER__SIGNING_KEY=SIGNING_KEY,
        OUTREACH_OUTBOX__PATH=str(tmp_path / "outbox"),
    )
    ok = subprocess.run([sys.executable, "-m", "outreach.cli", "check", "--json"], env=env, cwd=REPO,
                        capture_output=True, text=True, timeout=120, check=False)
    assert ok.returncode == 0, ok.stderr
    assert {c["check"]: c["outcome"] for c in json.loads(ok.stdout)}["mailbox"] == "ok"
    env["OUTREACH_IMAP__PASSWORD"] = "wrong"
    bad = subprocess.run([sys.executable, "-m", "outreach.cli", "check"], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 1, bad.stdout
    assert "FAILED" in bad.stdout and "authentication failed" in bad.stdout
    assert "Traceback" not in bad.stdout + bad.stderr
