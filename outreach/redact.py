"""Keep customer addresses and message bodies out of logs.

:class:`RedactFilter` rewrites each record's message: email addresses become
``<address:1a2b3c>`` (a short hash, not the domain, since a customer's own
domain identifies them too; the hash still lets an operator see that two
lines concern the same address), and
any argument that looks like a message body (long, or spanning lines, or
quoted mail) becomes ``<text: N chars>``. :func:`install` redacts every
record of the named logger trees as it is created (a log record factory), so
a logger first used after it ran, or a record that reaches Python's
last-resort stderr handler, is covered too; it also puts the filter on those
loggers and their handlers for records made before.
"""

from __future__ import annotations

import hashlib
import logging
import numbers
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["DEFAULT_LOGGERS", "RedactFilter", "install", "redact_text"]

# Loose on purpose: anything shaped like local@domain.tld, including plus-addresses,
# international ones (josé@müller.de, RFC 6531) and quoted local parts ("john doe"@x.org).
_ADDRESS = re.compile(r"(?:\"[^\"\r\n]{1,64}\"|[\w!#$%&'*+/=?^`{|}~.-]+)@[\w-]+(?:\.[\w-]+)+")
_QUOTED_LINE = re.compile(r"(?m)^\s*>")

#: A string argument longer than this is treated as message text, not a label.
BODY_CHARS = 160

DEFAULT_LOGGERS: tuple[str, ...] = (
    "outreach",
    "connectors",
    "flows",
    "prefect",
    "prefect.flow_runs",
    "prefect.task_runs",
)


def _tag(address: str) -> str:
    # A stable short tag lets an operator follow one customer through a log without the address.
    digest = hashlib.blake2s(address.lower().encode("utf-8"), digest_size=3).hexdigest()
    return f"<address:{digest}>"


def redact_text(text: str) -> str:
    """``text`` with every email address replaced by a short stable tag."""
    return _ADDRESS.sub(lambda m: _tag(m.group(0)), text)


def _looks_like_body(value: str) -> bool:
    return len(value) > BODY_CHARS or "\n" in value.strip() or bool(_QUOTED_LINE.search(value))


def _clean_arg(value: Any) -> Any:
    if isinstance(value, bytes):
        return f"<bytes: {len(value)}>"
    if isinstance(value, str):
        if _looks_like_body(value):
            return f"<text: {len(value)} chars>"
        return redact_text(value)
    if isinstance(value, numbers.Number) or value is None:
        return value
    # Objects (exceptions, paths, dicts) are rendered once and checked like strings.
    return _clean_arg(str(value))


class RedactFilter(logging.Filter):
    """A logging filter that redacts addresses and body-like text; it never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: A003 - logging's name
        if getattr(record, "_outreach_redacted", False):
            return True
        args = record.args
        if isinstance(args, dict):
            record.args = {k: _clean_arg(v) for k, v in args.items()}
        elif isinstance(args, tuple):
            record.args = tuple(_clean_arg(a) for a in args)
        msg = record.msg if isinstance(record.msg, str) else str(record.msg)
        if not record.args and _looks_like_body(msg) and len(msg) > 4 * BODY_CHARS:
            # A whole message logged as the format string itself (print(body) with log_prints).
            msg = f"<text: {len(msg)} chars>"
        record.msg = redact_text(msg)
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            # Format the traceback now so the cached text is redacted too.
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        record._outreach_redacted = True  # type: ignore[attr-defined]
        return True


_FILTER = RedactFilter()
_PREFIXES: tuple[str, ...] = ()
_DOTTED: tuple[str, ...] = ()  # "outreach." etc.: built once per install, not per record
_base_factory: Any = None


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    name = record.name
    if name in _PREFIXES or name.startswith(_DOTTED):
        _FILTER.filter(record)
    return record


def install(names: Iterable[str] = DEFAULT_LOGGERS) -> RedactFilter:
    """Put the (single, shared) redaction filter on the named loggers, their descendants and handlers.

    Python consults a logger's filters only for records logged to that very
    logger, not for records its children propagate, so every existing
    descendant (``outreach.steps``…) gets the filter too, and so do the
    handlers of the named loggers and of the root logger. Loggers created
    later are covered by the record factory it installs (records of the named
    trees are redacted as they are made). Idempotent.
    """
    global _PREFIXES, _DOTTED, _base_factory
    names = tuple(names)
    _PREFIXES = tuple(dict.fromkeys((*_PREFIXES, *names)))
    _DOTTED = tuple(f"{p}." for p in _PREFIXES)
    if logging.getLogRecordFactory() is not _redacting_factory:
        _base_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_redacting_factory)
    prefixes = tuple(f"{n}." for n in names)
    existing = [
        n for n, obj in list(logging.root.manager.loggerDict.items())
        if isinstance(obj, logging.Logger) and n.startswith(prefixes)
    ]
    loggers = [logging.getLogger(n) for n in (*names, *existing)]
    for logger in loggers:
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    for logger in [*loggers[: len(names)], logging.getLogger()]:
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
    return _FILTER
