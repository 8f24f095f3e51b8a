"""Mail parsing throughput and reply-text quality.

Throughput of :func:`outreach.mailparse.parse_message` (MIME, header
decoding, HTML to text, reply extraction, auto-reply classification,
language guess: everything ingest does per message) is printed as a ratio
against the bare standard-library parse, ``email.message_from_bytes`` with
``policy=compat32``, timed in the same run on the same bytes (best of three
rounds, CPU time of this process). ``policy.default`` is timed too, as the figure a straightforward
implementation would get.

Inputs: the raw corpus (``../shared/corpus/A_raw_email``: malformed,
multi-megabyte and binary files included, so it is the slow case) and a
synthetic batch of 5,000 typical support messages (plain and HTML
alternatives, quoted history in several languages, signatures, an
attachment now and then).

Quality: exact match (whitespace-normalised) of :func:`extract_reply`
against Discourse's trimmed fixtures and mailgun/talon's expected replies.
"""

from __future__ import annotations

import email
import random
import time
from collections.abc import Callable, Sequence
from email import policy
from pathlib import Path

from outreach.errors import MessageParseError
from outreach.mailparse import parse_message
from outreach.replytext import extract_reply, normalise_ws

CORPUS = (Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus").resolve()
RAW = CORPUS / "A_raw_email"
DISCOURSE = CORPUS / "B_replies" / "discourse-email_reply_trimmer"
TALON = CORPUS / "B_replies" / "mailgun-talon" / "standard_replies"
SYNTHETIC_COUNT = 5_000

_OPENINGS = [
    "Hi,\n\nI still have not received my order #{n} and it has been three weeks.",
    "Hello team,\n\nthe invoice {n} charges me twice for the same month. Please fix this.",
    "Thanks, that worked! The export runs fine now.",
    "Hallo,\n\nich habe meine Bestellung {n} immer noch nicht erhalten. Können Sie bitte nachsehen?",
    "Bonjour,\n\nje ne peux toujours pas me connecter à mon compte depuis hier.",
    "This is the third time I ask: please cancel my subscription and refund the last payment.",
    "Could you tell me when the new version will be available? We need it for a client demo.",
]
_MIDDLES = [
    "I tried restarting the app and clearing the cache, but nothing changed.",
    "My account email is the one I am writing from.",
    "It worked fine until last week's update.",
    "",
]
_MARKERS = [
    "On Mon, Apr 1, 2024 at 10:{m:02d} AM Support <support@example.com> wrote:",
    "Am Mo., 1. Apr. 2024 um 10:{m:02d} Uhr schrieb Support <support@example.com>:",
    "Le lun. 1 avr. 2024 à 10:{m:02d}, Support <support@example.com> a écrit :",
    "-----Original Message-----\nFrom: Support <support@example.com>\nSent: Monday, April 1, 2024 10:{m:02d}\n"
    "To: customer\nSubject: Re: your ticket",
]
_SIGNATURES = ["\n\nSent from my iPhone", "\n\nBest regards,\nJane\nACME Ltd\n+1 555 0100", "\n\n-- \nJohn", ""]


def _synthetic(count: int = SYNTHETIC_COUNT, seed: int = 7) -> list[bytes]:
    """Typical support mail: new words on top, our earlier answer quoted below."""
    rnd = random.Random(seed)
    out: list[bytes] = []
    for n in range(count):
        new = rnd.choice(_OPENINGS).format(n=n)
        middle = rnd.choice(_MIDDLES)
        body = f"{new}\n\n{middle}" if middle else new
        body += rnd.choice(_SIGNATURES)
        marker = rnd.choice(_MARKERS).format(m=n % 60)
        quoted = "\n".join(
            f"> {line}" for line in ("Hello,", "", "thanks for reaching out. We are looking into it.", "", "Support")
        )
        text = f"{body}\n\n{marker}\n{quoted}\n"
        headers = (
            f"Received: from mx.example.org by mx.example.com; Tue, 2 Apr 2024 09:{n % 60:02d}:00 +0000\r\n"
            f"From: Customer {n} <customer{n}@example.org>\r\n"
            f"To: Support <support+tok{n:08d}@example.com>\r\n"
            f"Subject: Re: Ticket #{n}\r\n"
            f"Date: Tue, 2 Apr 2024 11:{n % 60:02d}:00 +0200\r\n"
            f"Message-ID: <c{n}.{seed}@example.org>\r\n"
            f"In-Reply-To: <s{n}@example.com>\r\n"
            f"References: <s{n}@example.com>\r\n"
            "MIME-Version: 1.0\r\n"
        )
        kind = n % 10
        if kind < 6:  # plain text
            msg = headers + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + text
        elif kind < 9:  # plain + HTML alternative, as most clients send
            html = "<html><body>" + "".join(f"<p>{line}</p>" for line in body.split("\n") if line) + (
                "<blockquote>thanks for reaching out.</blockquote></body></html>"
            )
            msg = (
                headers
                + 'Content-Type: multipart/alternative; boundary="b1"\r\n\r\n'
                + "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text
                + "\r\n--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html + "\r\n--b1--\r\n"
            )
        else:  # with a small attachment
            msg = (
                headers
                + 'Content-Type: multipart/mixed; boundary="b2"\r\n\r\n'
                + "--b2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text
                + '\r\n--b2\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename="screenshot.png"\r\n'
                + "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk\r\n--b2--\r\n"
            )
        out.append(msg.encode("utf-8"))
    return out


def _rate(fn: Callable[[bytes], object], items: Sequence[bytes], rounds: int = 3) -> float:
    """Messages per CPU-second of this process, best of ``rounds``.

    CPU time, not wall time: on a shared machine the wall clock also counts
    the time other processes held the core; per-core throughput is the figure.
    """
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for data in items:
            try:
                fn(data)
            except MessageParseError:
                pass
        best = min(best, time.process_time() - started)
    return len(items) / best if best > 0 else float("inf")


def _compat32(data: bytes) -> object:
    return email.message_from_bytes(data, policy=policy.compat32)


def _modern(data: bytes) -> object:
    msg = email.message_from_bytes(data, policy=policy.default)
    # What a straightforward parser does next: read headers and the body.
    _ = msg["from"], msg["to"], msg["subject"], msg["date"], msg["message-id"]
    try:
        body = msg.get_body(("plain", "html"))
        if body is not None:
            body.get_content()
    except (LookupError, ValueError, AttributeError, KeyError):
        pass
    return msg


def _parse(data: bytes) -> object:
    return parse_message(data, reply_local="support", reply_domain="example.com")


def reply_scores() -> tuple[int, int, int, int]:
    """(discourse hits, discourse total, talon hits, talon total)."""
    d_hits = d_total = t_hits = t_total = 0
    if (DISCOURSE / "emails").is_dir():
        for path in sorted((DISCOURSE / "emails").iterdir()):
            want = DISCOURSE / "trimmed" / path.name
            if not want.is_file():
                continue
            d_total += 1
            got = extract_reply(path.read_text(encoding="utf-8"))
            d_hits += normalise_ws(got) == normalise_ws(want.read_text(encoding="utf-8"))
    for name in ("iphone", "sparrow"):
        eml, want = TALON / f"{name}.eml", TALON / f"{name}_reply_text"
        if not (eml.is_file() and want.is_file()):
            continue
        t_total += 1
        text = parse_message(eml.read_bytes()).text
        # Talon's expected replies keep the signature.
        got = extract_reply(text, keep_signature=True)
        t_hits += normalise_ws(got) == normalise_ws(want.read_text(encoding="utf-8"))
    return d_hits, d_total, t_hits, t_total


def run() -> list[str]:
    """Measure and return the lines to print."""
    lines: list[str] = []
    synthetic = _synthetic()
    base = _rate(_compat32, synthetic)
    ours = _rate(_parse, synthetic)
    modern = _rate(_modern, synthetic[:1000], rounds=1)
    lines.append(
        f"synthetic support mail ({len(synthetic)}): parse_message {ours:,.0f} msg/s; "
        f"bare compat32 parse {base:,.0f} msg/s (ratio {ours / base:.2f}); "
        f"policy.default parse+read {modern:,.0f} msg/s (ours is {ours / modern:.1f}x)"
    )
    if RAW.is_dir():
        files = [p.read_bytes() for p in sorted(RAW.rglob("*")) if p.is_file()]
        parsed = rejected = 0
        for data in files:
            try:
                _parse(data)
                parsed += 1
            except MessageParseError:
                rejected += 1
        base = _rate(_compat32, files, rounds=2)
        ours = _rate(_parse, files, rounds=2)
        size = sum(len(d) for d in files) / 1e6
        lines.append(
            f"raw corpus ({len(files)} files, {size:.1f} MB; {parsed} parsed, {rejected} rejected with a reason): "
            f"parse_message {ours:,.0f} msg/s; bare compat32 {base:,.0f} msg/s (ratio {ours / base:.2f})"
        )
    else:
        lines.append(f"raw corpus not present at {RAW}: skipped")
    d_hits, d_total, t_hits, t_total = reply_scores()
    if d_total or t_total:
        total = d_total + t_total
        lines.append(
            f"reply text exact match: discourse {d_hits}/{d_total}, talon {t_hits}/{t_total} "
            f"(signatures kept, as talon expects); combined {(d_hits + t_hits) / total:.1%}"
        )
    else:
        lines.append("reply fixtures not present: skipped")
    return lines


if __name__ == "__main__":
    for line in run():
        print(line)
