"""From raw bytes to storable messages: parse, decide who wrote it, or quarantine."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from outreach.errors import MessageParseError
from outreach.mailparse import parse_message
from outreach.models import Direction, ParsedMessage, Quarantined, RawMessage, StoredMessage
from outreach.settings import Settings


def direction_of(parsed: ParsedMessage, sent_folder: bool, settings: Settings) -> Direction:
    """Staff wrote it when it sits in a sent folder or comes from a team address or domain."""
    if sent_folder or settings.is_staff(parsed.from_address):
        return "out"
    return "in"


def parse_batch(
    raws: Sequence[RawMessage], settings: Settings
) -> tuple[list[StoredMessage], list[Quarantined]]:
    """Parse a batch; a message that cannot be parsed is quarantined, never fatal."""
    stored: list[StoredMessage] = []
    bad: list[Quarantined] = []
    local, domain = settings.sender.reply_local, settings.sender.reply_domain
    for raw in raws:
        try:
            parsed = parse_message(
                raw.data, reply_local=local, reply_domain=domain, fallback_date=raw.received_at
            )
        except MessageParseError as exc:
            bad.append(
                Quarantined(
                    folder=raw.folder,
                    uidvalidity=raw.uidvalidity,
                    uid=raw.uid,
                    reason=exc.reason,
                    content_hash=hashlib.sha256(raw.data).hexdigest(),
                    size=len(raw.data),
                )
            )
            continue
        stored.append(
            StoredMessage(
                folder=raw.folder,
                uidvalidity=raw.uidvalidity,
                uid=raw.uid,
                direction=direction_of(parsed, raw.sent_folder, settings),
                parsed=parsed,
            )
        )
    return _with_tone(stored), bad


def _with_tone(stored: list[StoredMessage]) -> list[StoredMessage]:
    """Score customers' own words once, here, so detection never re-scores the whole store."""
    from dataclasses import replace

    from outreach.tone import score_texts

    human = [i for i, m in enumerate(stored) if m.direction == "in" and m.parsed.auto_kind is None]
    if not human:
        return stored
    tones = score_texts([stored[i].parsed.reply_text for i in human])
    for i, tone in zip(human, tones, strict=True):
        stored[i] = replace(stored[i], tone=tone.score)
    return stored
