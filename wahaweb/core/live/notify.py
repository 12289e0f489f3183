"""What the status engine tells the pages, and the registry of those who listen.

The Reflex layer registers ONE async callback per backend process
(`notifier.add(on_change)`); the engine calls it for every status change and every
new QR code, whatever their source (a WAHA webhook, the watcher, a manual QR
refresh). A callback's failure or slowness is logged and never breaks the engine.

Routing is by user id: a `PageUpdate` names the owner of the session
(`user_id`) and says whether admins watching `/admin` should also hear about it
(`notify_admins`). `audience()` is the one routing rule; the state layer applies it to
per-user subscribers (one per open tab, or one per user's shared state).
QR codes go to their owner only: a QR is a credential to link a WhatsApp account.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Literal

from wahaweb.core.models import WaSession

logger = logging.getLogger("wahaweb.core.live")

STATUS: Literal["status"] = "status"
QR: Literal["qr"] = "qr"
REMOVED: Literal["removed"] = "removed"


@dataclasses.dataclass(frozen=True)
class CurrentQr:
    """The current QR code of a pairing session, as cached server-side."""

    session_id: str
    user_id: int
    #: `data:image/png;base64,...`, ready for an <img src>.
    data_url: str
    #: 1 for WAHA's first QR, then 2..max_rotations; after the last one WAHA fails the session.
    rotation: int
    max_rotations: int
    #: When wahaweb got this QR (its own clock).
    fetched_at: dt.datetime
    #: Estimated end of this QR's life (WAHA: the first lives 60 s, each next 20 s).
    expires_at: dt.datetime

    @property
    def expires_at_ms(self) -> int:
        """`expires_at` in Unix milliseconds (for a countdown in the browser)."""
        return int(self.expires_at.timestamp() * 1000)


@dataclasses.dataclass(frozen=True)
class PageUpdate:
    """One thing a page should show now: a session's new status, or its new QR code."""

    #: "status" (the row changed: status, phone, error...) or "qr" (a new QR for a pairing session).
    kind: Literal["status", "qr", "removed"]
    session_id: str
    #: The session's owner: only this user's pages (and admins', see notify_admins) hear of it.
    user_id: int
    #: Canonical status now (creating, starting, pairing, connected, stopped, failed).
    status: str
    #: Canonical status before this change (None for QR changes).
    old_status: str | None = None
    #: WAHA's raw status as last seen.
    waha_status: str | None = None
    #: True when the canonical status changed (False: phone, error or QR changed only).
    changed: bool = False
    #: The row after the change (None for QR changes).
    session: WaSession | None = None
    #: The new QR (kind == "qr" only).
    qr: CurrentQr | None = None
    #: Where it came from: webhook, watcher, auto_restart, qr, manual_qr.
    source: str = "watcher"
    #: Admins on /admin should be told too (status changes: yes; QR codes: never).
    notify_admins: bool = True
    #: Human-readable reason when there is one (the failure reason, "restarted automatically"...).
    detail: str | None = None
    #: When wahaweb learned of it (its own clock).
    at: dt.datetime | None = None


def audience(change: PageUpdate, admin_ids: Iterable[int] = ()) -> set[int]:
    """The user ids whose pages must receive `change`: the owner, plus admins when allowed."""
    users = {change.user_id}
    if change.notify_admins and change.kind == STATUS:
        users.update(admin_ids)
    return users


Listener = Callable[[PageUpdate], Awaitable[None]]


class Notifier:
    """A tiny registry of async listeners, called for every PageUpdate."""

    def __init__(self, *, timeout: float = 5.0) -> None:
        #: A listener slower than this is abandoned for that change (and logged).
        self.timeout = timeout
        self._listeners: list[Listener] = []
        self.published = 0

    def add(self, listener: Listener) -> Callable[[], None]:
        """Register `listener`; returns a function that unregisters it."""
        self._listeners.append(listener)
        return lambda: self.remove(listener)

    def remove(self, listener: Listener) -> None:
        try:
            self._listeners.remove(listener)
        except ValueError:
            pass

    def __len__(self) -> int:
        return len(self._listeners)

    async def publish(self, change: PageUpdate) -> None:
        """Call every listener (concurrently); errors and timeouts are logged, never raised."""
        self.published += 1
        listeners = list(self._listeners)
        if not listeners:
            return
        if len(listeners) == 1:
            await self._call(listeners[0], change)
            return
        await asyncio.gather(*(self._call(listener, change) for listener in listeners))

    async def _call(self, listener: Listener, change: PageUpdate) -> None:
        try:
            await asyncio.wait_for(listener(change), self.timeout)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            logger.warning("live listener %r took more than %.1f s for %s %s; skipped",
                           listener, self.timeout, change.kind, change.session_id)
        except Exception:
            logger.exception("live listener %r failed for %s %s", listener, change.kind, change.session_id)
