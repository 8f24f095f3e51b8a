"""Fixtures for the core: settings and a throw-away store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.store import Store
from outreach.models import OutgoingEmail
from outreach.settings import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
CORPUS = (REPO / ".." / "shared" / "corpus").resolve()


def corpus_path(*parts: str) -> Path:
    """A path in the shared test corpus, or skip the test when the corpus is absent."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"corpus not present: {path}")
    return path


def outgoing_email(draft_id: int, *, kind: str, subject: str, text: str) -> OutgoingEmail:
    """A rendered outreach email as the senders get it (tokens and addresses derived from ``draft_id``)."""
    return OutgoingEmail(
        draft_id=draft_id,
        idempotency_key=f"idem-{draft_id}",
        message_id=f"outreach.tok{draft_id}@example.com",
        from_address="support@example.com",
        from_name="Sam (Support)",
        to_address=f"customer{draft_id}@example.org",
        reply_to=f"support+tok{draft_id}@example.com",
        subject=subject,
        text=text,
        html=f"<p>{text}</p>",
        headers={
            "List-Unsubscribe": "<http://127.0.0.1:8025/unsubscribe/abc>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
        category=kind,
    )


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """Demo settings with every path in a temp dir and a test signing key."""
    for key in [k for k in __import__("os").environ if k.startswith("OUTREACH_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("OUTREACH_SENDER__SIGNING_KEY", "test-signing-key")
    monkeypatch.setenv("OUTREACH_STORE__URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("OUTREACH_OUTBOX__PATH", str(tmp_path / "outbox"))
    monkeypatch.setenv("OUTREACH_PATHS__DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OUTREACH_REPORT__OUT_DIR", str(tmp_path / "report"))
    return load_settings(REPO / "config" / "demo.toml")


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    yield store
    store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The same tests on SQLite and on a real PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("postgres")
    store = Store.open(url)
    yield store
    store.close()


def tamper_signature(token: str) -> str:
    """``token`` with one character of its signature changed.

    In the middle, never at the end: the last base64 character of a signature carries
    padding bits, so changing it may decode to the same bytes and leave the token valid.
    """
    payload, _, signature = token.rpartition(".")
    middle = len(signature) // 2
    swapped = "A" if signature[middle] != "A" else "B"
    return f"{payload}.{signature[:middle]}{swapped}{signature[middle + 1:]}"
