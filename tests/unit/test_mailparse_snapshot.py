"""parse_message gives exactly the results it gave before its fast paths: a fingerprint per corpus file.

The fingerprints in ``data/mailparse_snapshot.json`` were recorded with the
parser before the ingest speed work (compat32 header parse for every
message, no hand-rolled fast path). A change in any parsed field of any
file of ``A_raw_email`` — or in the reason a file is rejected — fails here.
When a parsing change is *meant* to alter results, re-record with::

    .venv/bin/python tests/unit/test_mailparse_snapshot.py --record

and say in the commit which files changed and why.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from outreach.errors import MessageParseError
from outreach.mailparse import parse_message

CORPUS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus").resolve()
RAW = CORPUS / "A_raw_email"
SNAPSHOT = Path(__file__).resolve().parent / "data" / "mailparse_snapshot.json"
FALLBACK = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def fingerprint(data: bytes) -> str:
    """A stable digest of every field parse_message returns (or of its rejection reason)."""
    try:
        parsed = parse_message(data, reply_local="support", reply_domain="example.com", fallback_date=FALLBACK)
    except MessageParseError as exc:
        return "rejected: " + exc.reason
    fields = asdict(parsed)
    fields["date"] = parsed.date.isoformat()
    if not fields["bounce_refs"]:
        del fields["bounce_refs"]  # added later: the recorded prints of other mail stay valid
    text = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _files() -> list[Path]:
    return sorted(p for p in RAW.rglob("*") if p.is_file())


def record() -> None:
    prints = {p.relative_to(RAW).as_posix(): fingerprint(p.read_bytes()) for p in _files()}
    SNAPSHOT.write_text(json.dumps(prints, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"recorded {len(prints)} fingerprints in {SNAPSHOT}")


def test_every_corpus_file_parses_exactly_as_recorded() -> None:
    if not RAW.is_dir():
        pytest.skip(f"corpus not present: {RAW}")
    expected: dict[str, str] = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    files = {p.relative_to(RAW).as_posix(): p for p in _files()}
    assert set(expected) <= set(files), "corpus files missing: the snapshot cannot be checked"
    changed = [rel for rel, want in expected.items() if fingerprint(files[rel].read_bytes()) != want]
    assert not changed, f"{len(changed)} files parse differently, e.g. {changed[:5]}"
    # The snapshot covers the corpus: a fast path nothing exercises proves nothing.
    assert len(expected) > 900


if __name__ == "__main__" and "--record" in sys.argv:
    record()
