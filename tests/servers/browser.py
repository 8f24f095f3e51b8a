"""Chromium for end-to-end tests, driven by Playwright with the system browser.

Never runs ``playwright install``: Debian's ``/usr/bin/chromium`` is launched directly.

Fixtures:
    chromium_path: ``/usr/bin/chromium`` (skip locally / fail in CI when missing).
    chromium: a :class:`ChromiumLauncher` (``with chromium.launch() as browser: ...``).
    browser: a launched Playwright ``Browser`` for one test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from tests.servers.common import missing, require_binary

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass(frozen=True)
class ChromiumLauncher:
    """Launches the system Chromium through Playwright's sync API."""

    path: str
    args: tuple[str, ...] = tuple(CHROMIUM_ARGS)

    @contextmanager
    def launch(self, **kwargs: Any) -> Iterator[Any]:
        """Yield a headless ``playwright.sync_api.Browser``; closed (and Playwright stopped) after."""
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:  # pragma: no cover - dev extra not installed
            missing("playwright is not installed (pip install -e '.[dev]')")
            raise
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=self.path, args=list(self.args), headless=True, **kwargs
            )
            try:
                yield browser
            finally:
                browser.close()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of the system Chromium."""
    return require_binary(CHROMIUM, "chromium")


@pytest.fixture
def chromium(chromium_path: str) -> ChromiumLauncher:
    """A launcher for the system Chromium."""
    return ChromiumLauncher(chromium_path)


@pytest.fixture
def browser(chromium: ChromiumLauncher) -> Iterator[Any]:
    """A headless Chromium ``Browser`` for one test."""
    with chromium.launch() as launched:
        yield launched
