"""The server-side QR cache: one WAHA fetch per QR rotation, whatever the number of tabs.

WAHA rotates a pairing session's QR (the first lives 60 s, each next one 20 s, at most
6, then the session FAILS) and announces every rotation with a `session.status`
SCAN_QR_CODE event. The engine asks this cache to fetch on each such event (or, with
polling only, when the session starts pairing and when the cached QR's estimated
expiry has passed); the cache fetches in the background, one fetch at a time per
session (a request arriving during a fetch runs one more fetch afterwards), stores
{data_url, rotation, expires_at}, and hands every QR that differs from the cached one
to `on_new` (which notifies the pages). Pages read `get()`; they never call WAHA.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence

from wahaweb.core.clock import Clock, utcnow
from wahaweb.core.errors import InvalidState, NotFound
from wahaweb.core.live.notify import CurrentQr
from wahaweb.core.qr_svg import QrPicture

logger = logging.getLogger("wahaweb.core.live")

#: WAHA's schedule: seconds of life of the first QR, then of each next one.
WAHA_QR_LIFETIMES: tuple[float, float] = (60.0, 20.0)
WAHA_QR_MAX_ROTATIONS = 6

Fetch = Callable[[str], Awaitable[QrPicture]]
OnNew = Callable[[CurrentQr], Awaitable[None]]


def rotation_from_statuses(statuses: Sequence[object] | None) -> int | None:
    """WAHA's `payload.statuses` history -> which QR this is (the trailing run of SCAN_QR_CODE)."""
    if not statuses:
        return None
    run = 0
    for point in reversed(list(statuses)):
        status = point.get("status") if isinstance(point, dict) else None
        if status != "SCAN_QR_CODE":
            break
        run += 1
    return run or None


@dataclasses.dataclass
class _Request:
    user_id: int
    rotation: int | None
    seen_at: dt.datetime | None
    #: Rotation number known (webhook history, or the start of pairing seen by the watcher).
    certain: bool


class QrCache:
    def __init__(self, fetch: Fetch, *, on_new: OnNew | None = None, clock: Clock = utcnow,
                 lifetimes: Sequence[float] = WAHA_QR_LIFETIMES, max_rotations: int = WAHA_QR_MAX_ROTATIONS) -> None:
        self.fetch = fetch
        self.on_new = on_new
        self.clock = clock
        self.first_lifetime, self.next_lifetime = float(lifetimes[0]), float(lifetimes[1])
        self.max_rotations = max_rotations
        self._entries: dict[str, CurrentQr] = {}
        #: When the polling fallback should look again (expiry + a grace, or sooner if unsure).
        self._check_at: dict[str, dt.datetime] = {}
        self._pending: dict[str, _Request] = {}
        self._tasks: dict[str, asyncio.Task] = {}
        self._generation: dict[str, int] = {}
        #: Number of WAHA QR fetches made (tests and metrics).
        self.fetches = 0
        #: Called (session id, owner id) when a fetch starts: whoever pushes the QR can get ready
        #: while WAHA answers (the pages' listener reads who to push to). Must not block.
        self.on_fetch: list[Callable[[str, int], None]] = []

    # ------------------------------------------------------------ reading
    def get(self, session_id: str) -> CurrentQr | None:
        return self._entries.get(session_id)

    def lifetime(self, rotation: int) -> float:
        return self.first_lifetime if rotation <= 1 else self.next_lifetime

    def due(self, now: dt.datetime | None = None) -> list[str]:
        """Sessions whose cached QR should have rotated by now (polling fallback)."""
        now = now or self.clock()
        return [sid for sid, at in self._check_at.items() if at <= now and sid not in self._tasks]

    def generation(self, session_id: str) -> int:
        """Bumped by every `forget`: a fetch started before a forget is dropped when it lands."""
        return self._generation.get(session_id, 0)

    def fetching(self, session_id: str) -> bool:
        return session_id in self._tasks

    def needs_first_fetch(self, session_id: str, now: dt.datetime | None = None) -> bool:
        """No QR cached, none being fetched, and no failed fetch waiting for its retry time."""
        if session_id in self._entries or session_id in self._tasks:
            return False
        check_at = self._check_at.get(session_id)
        return check_at is None or check_at <= (now or self.clock())

    async def wait(self, session_id: str) -> None:
        """Wait for the session's fetch in flight, if any."""
        task = self._tasks.get(session_id)
        if task is not None:
            await asyncio.wait({task})

    # ------------------------------------------------------------ writing
    def request(self, session_id: str, user_id: int, *, rotation: int | None = None,
                seen_at: dt.datetime | None = None, certain: bool = False) -> None:
        """Fetch the session's QR in the background (coalesced: at most one fetch in flight + one queued)."""
        self._pending[session_id] = _Request(user_id, rotation, seen_at, certain or rotation is not None)
        if session_id in self._tasks:
            return
        task = asyncio.get_running_loop().create_task(self._worker(session_id), name=f"wahaweb-qr:{session_id}")
        self._tasks[session_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(session_id, None))
        for hook in self.on_fetch:
            try:
                hook(session_id, user_id)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop the fetch
                logger.exception("QR of %s: an on_fetch hook failed", session_id)

    def forget(self, session_id: str) -> None:
        """The session left pairing: drop its QR (a queued fetch is dropped too)."""
        self._entries.pop(session_id, None)
        self._check_at.pop(session_id, None)
        self._pending.pop(session_id, None)
        self._generation[session_id] = self._generation.get(session_id, 0) + 1

    async def store(self, session_id: str, user_id: int, image: QrPicture, *, rotation: int | None = None,
                    seen_at: dt.datetime | None = None, certain: bool = False) -> CurrentQr | None:
        """Record a fetched QR; returns the new state, or None when it is the one already cached."""
        now = self.clock()
        prev = self._entries.get(session_id)
        if prev is not None and prev.data_url == image.data_url:
            # WAHA has not rotated yet (our estimate was early): look again a little later.
            self._check_at[session_id] = max(prev.expires_at, now) + dt.timedelta(seconds=self._retry_after())
            return None
        if rotation is None:
            rotation = prev.rotation + 1 if prev is not None else 1
        rotation = max(1, min(rotation, self.max_rotations))
        issued = min(seen_at, now) if seen_at is not None else now
        lifetime = self.lifetime(rotation)
        state = CurrentQr(session_id=session_id, user_id=user_id, data_url=image.data_url, rotation=rotation,
                        max_rotations=self.max_rotations, fetched_at=now,
                        expires_at=issued + dt.timedelta(seconds=lifetime))
        self._entries[session_id] = state
        # Unsure of the rotation number: the QR may live only the short lifetime; check then.
        horizon = lifetime if certain else min(lifetime, self.next_lifetime)
        self._check_at[session_id] = issued + dt.timedelta(seconds=horizon + self._grace(horizon))
        if self.on_new is not None:
            await self.on_new(state)
        return state

    async def drain(self) -> None:
        """Wait for every fetch in flight (tests use it instead of sleeping)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def aclose(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._pending.clear()

    # ----------------------------------------------------------- internals
    def _grace(self, lifetime: float) -> float:
        """Webhooks announce a rotation on time; the fallback waits a little longer than that."""
        return lifetime * 0.1

    def _retry_after(self) -> float:
        return self.next_lifetime * 0.1

    async def _worker(self, session_id: str) -> None:
        while True:
            req = self._pending.pop(session_id, None)
            if req is None:
                return
            generation = self._generation.get(session_id, 0)
            try:
                self.fetches += 1
                image = await self.fetch(session_id)
            except (InvalidState, NotFound) as exc:
                # Not pairing (any more), or gone: nothing to show. The status path says why.
                logger.debug("QR of %s not fetched: %s", session_id, exc)
                self._entries.pop(session_id, None)
                self._check_at.pop(session_id, None)
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - WAHA trouble: the fallback tries again later
                logger.warning("QR of %s could not be fetched: %s", session_id, exc)
                self._check_at[session_id] = self.clock() + dt.timedelta(seconds=self._retry_after())
                continue
            if self._generation.get(session_id, 0) != generation:
                continue  # the session left pairing while we fetched: don't resurrect its QR
            try:
                await self.store(session_id, req.user_id, image, rotation=req.rotation, seen_at=req.seen_at,
                                 certain=req.certain)
            except Exception:  # noqa: BLE001 - a listener bug must not kill the worker
                logger.exception("QR of %s: storing or notifying failed", session_id)
