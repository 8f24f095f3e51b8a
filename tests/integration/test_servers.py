"""Each real-server fixture works: these fail loudly if the test harness itself breaks."""

from __future__ import annotations

import imaplib
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.integration

MESSAGE = b"From: a@example.test\r\nTo: b@example.test\r\nSubject: fixture check\r\n\r\nhello\r\n"


def _fetch_all(conn: imaplib.IMAP4, folder: str) -> list[bytes]:
    typ, _ = conn.select(f'"{folder}"', readonly=True)
    assert typ == "OK"
    typ, data = conn.uid("FETCH", "1:*", "(BODY.PEEK[])")
    assert typ == "OK"
    return [item[1] for item in data if isinstance(item, tuple)]


def test_dovecot_plain_login_append_fetch(dovecot) -> None:
    uid = dovecot.append("INBOX", MESSAGE, flags=["\\Flagged"])
    assert uid == 1
    conn = imaplib.IMAP4(dovecot.host, dovecot.port)
    try:
        conn.login(dovecot.user, dovecot.password)
        assert _fetch_all(conn, "INBOX") == [MESSAGE]
        typ, caps = conn.capability()
        assert typ == "OK"
        assert {b"CONDSTORE", b"QRESYNC", b"IDLE"} <= set(caps[0].split())
    finally:
        conn.logout()
    assert "\\Flagged" in dovecot.flags("INBOX")[1]
    assert "\\Seen" not in dovecot.flags("INBOX")[1]


def test_dovecot_wrong_password_refused(dovecot) -> None:
    conn = imaplib.IMAP4(dovecot.host, dovecot.port)
    try:
        with pytest.raises(imaplib.IMAP4.error):
            conn.login(dovecot.user, dovecot.password + "x")
    finally:
        conn.shutdown()


def test_dovecot_ssl_with_fixture_ca(dovecot) -> None:
    dovecot.append("Sent", MESSAGE)
    ctx = ssl.create_default_context(cafile=str(dovecot.ca_file))
    conn = imaplib.IMAP4_SSL("localhost", dovecot.ssl_port, ssl_context=ctx)
    try:
        conn.login(dovecot.user, dovecot.password)
        assert _fetch_all(conn, "Sent") == [MESSAGE]
    finally:
        conn.logout()


def test_dovecot_ssl_refuses_unrelated_ca(dovecot) -> None:
    ctx = ssl.create_default_context(cafile=str(dovecot.server.other_ca_file))
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL(dovecot.host, dovecot.ssl_port, ssl_context=ctx)


def test_dovecot_users_are_isolated(dovecot, dovecot_server) -> None:
    other = dovecot_server.add_user()
    dovecot.append("INBOX", MESSAGE)
    assert other.uids("INBOX") == []
    assert dovecot.uids("INBOX") == [1]


def test_dovecot_uidvalidity_change_renumbers(dovecot) -> None:
    dovecot.append("INBOX", MESSAGE)
    dovecot.append("INBOX", MESSAGE)
    before = dovecot.status("INBOX")
    after = dovecot.set_uidvalidity_change("INBOX")
    assert after != before["UIDVALIDITY"]
    assert dovecot.uids("INBOX") == [1, 2]


def test_dovecot_restart_keeps_mail(dovecot) -> None:
    dovecot.append("INBOX", MESSAGE)
    dovecot.restart()
    assert dovecot.uids("INBOX") == [1]


def test_postgres_accepts_queries(postgres) -> None:
    import sqlalchemy as sa

    assert postgres.startswith("postgresql+psycopg://")
    engine = sa.create_engine(postgres)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("create table t (x int)"))
            conn.execute(sa.text("insert into t values (41), (1)"))
            assert conn.execute(sa.text("select sum(x) from t")).scalar_one() == 42
    finally:
        engine.dispose()


def test_smtp_sink_receives(smtp_server) -> None:
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.sendmail("from@example.test", ["to@example.test"], MESSAGE)
    assert len(smtp_server.messages) == 1
    got = smtp_server.messages[0]
    assert got.mail_from == "from@example.test"
    assert got.rcpt_tos == ["to@example.test"]
    assert b"Subject: fixture check" in got.data


def test_smtp_sink_scripted_failure(smtp_server) -> None:
    smtp_server.reply_next("451 4.3.0 try again later")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPDataError) as err:
            client.sendmail("from@example.test", ["to@example.test"], MESSAGE)
    assert err.value.smtp_code == 451
    assert smtp_server.messages == []


def test_smtp_tls_requires_starttls_and_auth(smtp_tls_server) -> None:
    ctx = ssl.create_default_context(cafile=str(smtp_tls_server.ca_file))
    with smtplib.SMTP(smtp_tls_server.host, smtp_tls_server.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPException):
            client.sendmail("from@example.test", ["to@example.test"], MESSAGE)
    with smtplib.SMTP(smtp_tls_server.host, smtp_tls_server.port, timeout=10) as client:
        client.starttls(context=ctx)
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login(smtp_tls_server.user, "wrong")
    with smtplib.SMTP(smtp_tls_server.host, smtp_tls_server.port, timeout=10) as client:
        client.starttls(context=ctx)
        client.login(smtp_tls_server.user, smtp_tls_server.password)
        client.sendmail("from@example.test", ["to@example.test"], MESSAGE)
    assert [m.login for m in smtp_tls_server.messages] == [smtp_tls_server.user]


def _post(url: str, payload: dict, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer k"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_http_stub_records_and_replays(http_stub) -> None:
    http_stub.respond(429, {"errors": [{"message": "slow down"}]}, {"Retry-After": "2"})
    http_stub.respond(500, "boom", delay=0.2)
    status, headers, body = _post(http_stub.url + "/v3/mail/send", {"n": 1})
    assert status == 429 and headers["Retry-After"] == "2"
    assert json.loads(body) == {"errors": [{"message": "slow down"}]}
    started = time.monotonic()
    status, _, body = _post(http_stub.url + "/v3/mail/send", {"n": 2})
    assert status == 500 and body == b"boom"
    assert time.monotonic() - started >= 0.2
    status, headers, _ = _post(http_stub.url + "/v3/mail/send", {"n": 3})
    assert status == 202 and headers["X-Message-Id"]
    assert [r.json for r in http_stub.requests] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert http_stub.requests[0].headers["authorization"] == "Bearer k"
    assert {r.path for r in http_stub.requests} == {"/v3/mail/send"}


def test_chromium_renders_and_screenshots(browser, tmp_path) -> None:
    page = browser.new_page()
    page.goto("data:text/html,<title>ok</title><h1 id=h>Outreach</h1>")
    assert page.title() == "ok"
    assert page.inner_text("#h") == "Outreach"
    shot = tmp_path / "shot.png"
    page.screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
