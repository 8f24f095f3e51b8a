"""Log redaction: no customer address or message body reaches a log line."""

from __future__ import annotations

import logging

import pytest

from outreach.redact import RedactFilter, install, redact_text


def _record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("outreach.test", logging.INFO, __file__, 1, msg, args, None)


def test_addresses_become_stable_tags() -> None:
    text = redact_text("from Jane.Doe+billing@Example.co.uk and jane.doe+billing@example.co.uk, bob@x.io")
    assert "@" not in text
    tags = text.replace(",", "").split()
    assert tags[1] == tags[3], "the same address (any case) gets the same tag"
    assert tags[1] != tags[4]


def test_filter_redacts_arguments_and_message() -> None:
    rec = _record("reply from %s about %s (%d chars)", "ann@shop.example", "refund", 42)
    assert RedactFilter().filter(rec) is True
    out = rec.getMessage()
    assert "ann@shop.example" not in out and "refund" in out and "42 chars" in out


def test_body_like_arguments_are_replaced_by_their_length() -> None:
    body = "Hi team,\nmy order never arrived and I want my money back.\n> On Monday you wrote"
    rec = _record("parsed: %s", body)
    RedactFilter().filter(rec)
    assert rec.getMessage() == f"parsed: <text: {len(body)} chars>"
    long_line = "x" * 500
    rec = _record("text %s", long_line)
    RedactFilter().filter(rec)
    assert "xxxxx" not in rec.getMessage()


def test_exception_text_is_redacted() -> None:
    try:
        raise ValueError("cannot deliver to carl@corp.example")
    except ValueError:
        import sys

        rec = logging.LogRecord("outreach.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    RedactFilter().filter(rec)
    assert "carl@corp.example" not in (rec.exc_text or "") and "ValueError" in rec.exc_text


def test_install_covers_child_loggers_and_prefect_run_loggers(caplog: pytest.LogCaptureFixture) -> None:
    child = logging.getLogger("outreach.some.module")
    install()
    for name in ("outreach", "connectors", "flows", "prefect.flow_runs", "prefect.task_runs"):
        assert any(isinstance(f, RedactFilter) for f in logging.getLogger(name).filters), name
    with caplog.at_level(logging.INFO, logger="outreach.some.module"):
        child.info("sent to %s", "dora@home.example")
        child.info("customer eve@home.example wrote")
    assert caplog.messages and all("@home.example" not in m for m in caplog.messages)
    # Installing again adds nothing.
    before = len(child.filters)
    install()
    assert len(child.filters) == before


def test_international_and_quoted_addresses_are_redacted() -> None:
    text = redact_text('josé@example.com, jürgen@müller.de, 用户@例子.广告 and "john doe"@example.com wrote')
    assert "@" not in text and "john doe" not in text and "jürgen" not in text
    assert text.endswith(" wrote")


def test_a_logger_first_used_after_install_is_redacted_even_on_the_last_resort_handler(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The CLI installs redaction at start; modules imported later log through loggers made later."""
    install()
    late = logging.getLogger("outreach.module_imported_later")
    assert not late.handlers and not late.filters
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()  # no handler anywhere: Python's last-resort stderr handler prints it
    outreach = logging.getLogger("outreach")
    saved_outreach, outreach.handlers = outreach.handlers[:], []
    try:
        late.warning("login rate limit hit for %r", "ada@example.org")
    finally:
        root.handlers[:] = saved
        outreach.handlers[:] = saved_outreach
    err = capsys.readouterr().err
    assert "login rate limit hit for" in err and "ada@example.org" not in err
    # Other libraries' records are left as they are.
    record = logging.getLogRecordFactory()("httpx", logging.INFO, __file__, 1, "to %s", ("x@y.org",), None)
    assert record.getMessage() == "to x@y.org"
