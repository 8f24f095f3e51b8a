"""What every web route needs: settings and the store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from outreach.settings import Settings

if TYPE_CHECKING:
    from connectors.store import Store


@dataclass
class WebContext:
    """Shared by the review app and the public pages.

    Attributes:
        settings: Loaded settings.
        store: The open store.
        signing_key: Signs survey and unsubscribe links.
        clock: "Now" (tests pass a fixed clock).
    """

    settings: Settings
    store: Store
    signing_key: str
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
