"""Fixtures for the core: settings and a throw-away store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.store import Store
from outreach.settings import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
CORPUS = (REPO / ".." / "shared" / "corpus").resolve()


def corpus_path(*parts: str) -> Path:
    """A path in the shared test corpus, or skip the test when the corpus is absent."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"corpus not present: {path}")
    return path


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
