"""The status engine: WAHA events in, one watcher per WAHA server, every change out.

Two ways a status reaches wahaweb, both ending in `SessionService.apply_waha_status`
(which drops replays and older observations) and then in the `Notifier`:

- WAHA's `session.status` webhooks (`apply_event`, called by the webhook route): the
  change is stored and the listeners are called before the HTTP answer, with no wait
  for the next tick. A SCAN_QR_CODE event also fetches that rotation's QR once.
- The watcher (`tick`, looped by `run`): ONE `GET /api/sessions?all=true` per WAHA
  server per tick, whatever the number of sessions or open tabs, then every row is
  reconciled with WAHA's answer:
    * a status that differs from the row's is applied (a connected session whose phone
      logged out becomes failed/pairing and loses its phone);
    * a session missing on WAHA becomes `failed` (rows still `creating` are left to the
      create flow, and to `reconcile_creating` once older than `creating_grace`);
    * a session in STARTING for longer than `stuck_after` is restarted once
      (`WaSession.auto_restarts`), then `failed` with the reason (and stopped on WAHA);
    * WAHA unreachable: nothing changes; the next successful tick reconciles.
  Every 0.3 s while any row is creating/starting/pairing, every 10 s otherwise (settings).
  With Redis, a lease makes one worker poll each WAHA server (see lease.py).

Nothing here imports Reflex: the Reflex layer registers a listener on `engine.notifier`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from wahaweb.core import status as st
from wahaweb.core.audit import OK, AuditLog
from wahaweb.core.clock import Clock
from wahaweb.core.db import Database
from wahaweb.core.errors import NotFound
from wahaweb.core.live.lease import WatcherLease, make_lease, server_key
from wahaweb.core.live.notify import QR, STATUS, LiveChange, Notifier, QrState
from wahaweb.core.live.qr import WAHA_QR_LIFETIMES, WAHA_QR_MAX_ROTATIONS, QrCache, rotation_from_statuses
from wahaweb.core.live.webhook import Secret, WebhookEvent, WebhookHandler
from wahaweb.core.models import User, WaSession
from wahaweb.waha.errors import WahaError, WahaNotFound

if TYPE_CHECKING:  # pragma: no cover
    from wahaweb.core.container import Core
    from wahaweb.core.sessions import SessionService, StatusChange
    from wahaweb.waha import WahaClient

logger = logging.getLogger("wahaweb.core.live")

FAST_STATUSES = (st.CREATING, st.STARTING, st.PAIRING)

MISSING_REASON = "The session no longer exists on WAHA."
LOGGED_OUT_REASON = "The phone was logged out: WhatsApp no longer links this session to it."
QR_EXHAUSTED_REASON = "No phone scanned the QR code in time, so WAHA gave up on this session."
STUCK_REASON = ("The session stayed in STARTING for more than {secs:g} seconds, even after an automatic "
                "restart. Restart it, or delete it and create a new one.")
AUTO_RESTART_DETAIL = "Stuck in STARTING for more than {secs:g} seconds: restarted automatically."

Sleep = Callable[[float], Awaitable[None]]


@dataclasses.dataclass
class WatchedServer:
    """One WAHA server the engine polls, and the lease that lets this process poll it."""

    key: str
    waha: WahaClient
    lease: WatcherLease
    #: Which rows live on this server (one server today: all of them).
    owns: Callable[[WaSession], bool] = lambda row: True
    down: bool = False
    last_error: str | None = None
    #: Number of list calls made by this process.
    polls: int = 0


@dataclasses.dataclass
class TickReport:
    """What one `tick()` did (for tests and logs)."""

    polled: list[str] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)
    down: list[str] = dataclasses.field(default_factory=list)
    changes: list[LiveChange] = dataclasses.field(default_factory=list)
    fast: bool = False


class StatusEngine:
    def __init__(
        self,
        sessions: SessionService,
        servers: Sequence[WatchedServer],
        *,
        db: Database,
        audit: AuditLog,
        notifier: Notifier | None = None,
        webhook_secret: Secret = None,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        fast_interval: float = 0.3,
        slow_interval: float = 10.0,
        stuck_after: float = 60.0,
        max_auto_restarts: int = 1,
        creating_grace: float = 60.0,
        probe_interval: float | None = None,
        lease_renew_every: float | None = None,
        qr_lifetimes: Sequence[float] = WAHA_QR_LIFETIMES,
        qr_max_rotations: int = WAHA_QR_MAX_ROTATIONS,
        on_tick: Callable[[float], None] | None = None,  # seconds of each tick: metrics
    ) -> None:
        self.on_tick = on_tick
        self.sessions = sessions
        self.servers = list(servers)
        self.db = db
        self.audit = audit
        self.notifier = notifier or Notifier()
        self.clock = clock
        self.sleep = sleep
        self.monotonic = monotonic
        self.fast_interval = fast_interval
        self.slow_interval = slow_interval
        self.stuck_after = stuck_after
        self.max_auto_restarts = max_auto_restarts
        self.creating_grace = creating_grace
        #: In slow mode, how often the DB is checked for rows that need the fast pace.
        self.probe_interval = probe_interval if probe_interval is not None else max(fast_interval, 1.0)
        self.lease_renew_every = lease_renew_every
        self.qr = QrCache(sessions.fetch_qr, on_new=self._publish_qr, clock=clock, lifetimes=qr_lifetimes,
                          max_rotations=qr_max_rotations)
        self.webhooks = WebhookHandler(self, webhook_secret)
        self.ticks = 0
        self._fast = True
        self._drift: dict[str, tuple[Any, ...]] = {}
        self._starting_since: dict[str, tuple[dt.datetime, dt.datetime]] = {}
        self._wake = asyncio.Event()
        self._tick_lock = asyncio.Lock()
        self._stopping = False
        self._task: asyncio.Task | None = None
        self._last_renew = 0.0

    # ================================================================ build
    @classmethod
    def from_core(
        cls,
        core: Core,
        *,
        notifier: Notifier | None = None,
        redis_prefix: str = "wahaweb",
        redis_client: Any = None,
        lease: WatcherLease | None = None,
        lease_ttl: float = 15.0,
        **kwargs: Any,
    ) -> StatusEngine:
        """The engine for a Core: its session service, WAHA client, clock and settings.

        The QR lifetimes are WAHA's (60 s, 20 s), divided by `sim_time_scale` when the
        Core runs the embedded simulator. With `settings.redis_url` (or `redis_client`)
        the watcher lease is in Redis under `{redis_prefix}:watcher:<server>`.
        """
        settings = core.settings
        key = server_key(core.waha.base_url)
        if lease is None:
            lease = make_lease(settings.redis_url, key, prefix=redis_prefix, ttl=lease_ttl, client=redis_client)
        server = WatchedServer(key=key, waha=core.waha, lease=lease)
        if "qr_lifetimes" not in kwargs and core.embedded:
            scale = settings.sim_time_scale or 1.0
            kwargs["qr_lifetimes"] = tuple(x / scale for x in WAHA_QR_LIFETIMES)
        kwargs.setdefault("fast_interval", settings.status_fast_interval)
        kwargs.setdefault("slow_interval", settings.status_slow_interval)
        kwargs.setdefault("lease_renew_every", lease_ttl / 3)
        kwargs.setdefault("on_tick", core.telemetry.observe_tick)
        return cls(core.sessions, [server], db=core.db, audit=core.audit, notifier=notifier,
                   webhook_secret=core.webhook_secret, clock=core.clock, **kwargs)

    # ============================================================== the loop
    @property
    def interval(self) -> float:
        """Seconds until the next tick: fast while a session is creating/starting/pairing."""
        if not any(s.lease.held for s in self.servers):
            return min(self.slow_interval, self._renew_every())
        return self.fast_interval if self._fast else self.slow_interval

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> asyncio.Task:
        """Run the loop as a background task (idempotent)."""
        if not self.running:
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self.run(), name="wahaweb-status-engine")
        assert self._task is not None
        return self._task

    async def stop(self) -> None:
        """Stop the loop, release the leases, cancel QR fetches."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.qr.aclose()
        for server in self.servers:
            with contextlib.suppress(Exception):
                await server.lease.release()

    async def aclose(self) -> None:
        await self.stop()
        for server in self.servers:
            with contextlib.suppress(Exception):
                await server.lease.aclose()

    def wake(self) -> None:
        """Tick now (e.g. after a user created or started a session in this process)."""
        self._fast = True
        self._wake.set()

    async def run(self) -> None:
        """Tick, pause, repeat, until `stop()`. A failing tick is logged and the loop goes on."""
        logger.info("status engine started (fast %.2f s, slow %.1f s, %d WAHA server(s))",
                    self.fast_interval, self.slow_interval, len(self.servers))
        try:
            while not self._stopping:
                try:
                    await self.tick()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("status engine tick failed")
                await self._pause()
        finally:
            for server in self.servers:
                with contextlib.suppress(Exception):
                    await server.lease.release()
            logger.info("status engine stopped")

    async def _pause(self) -> None:
        deadline = self.monotonic() + self.interval
        while not self._stopping:
            remaining = deadline - self.monotonic()
            if remaining <= 0:
                return
            holding = any(s.lease.held for s in self.servers)
            step = min(remaining, self.probe_interval) if holding and not self._fast else remaining
            if holding:
                step = min(step, self._renew_every())
            if await self._wait(step):
                return
            if holding:
                await self._renew_leases()
                if not self._fast and await self._fast_needed():
                    self._fast = True
                    return

    async def _wait(self, seconds: float) -> bool:
        """Sleep `seconds` (injectable sleep) unless woken first; True when woken."""
        if self._wake.is_set():
            self._wake.clear()
            return True
        waiter = asyncio.ensure_future(self._wake.wait())
        sleeper = asyncio.ensure_future(self.sleep(max(0.0, seconds)))
        try:
            await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for fut in (waiter, sleeper):
                fut.cancel()
        woke = self._wake.is_set()
        self._wake.clear()
        return woke

    def _renew_every(self) -> float:
        if self.lease_renew_every is not None:
            return self.lease_renew_every
        return max(self.slow_interval, 1.0)

    async def _renew_leases(self) -> None:
        if self.monotonic() - self._last_renew < self._renew_every():
            return
        self._last_renew = self.monotonic()
        for server in self.servers:
            if server.lease.held:
                await server.lease.acquire()

    async def _fast_needed(self) -> bool:
        try:
            async with self.db.session() as s:
                found = await s.exec(select(WaSession.id).where(col(WaSession.status).in_(FAST_STATUSES)).limit(1))
                return found.first() is not None
        except Exception as exc:  # noqa: BLE001
            logger.warning("status engine: database probe failed: %s", exc)
            return False

    # ================================================================= tick
    async def tick(self) -> TickReport:
        """One round: one list call per WAHA server whose lease we hold, reconcile, notify."""
        async with self._tick_lock:  # the loop and a test (or wake) never overlap two rounds
            started = time.perf_counter()
            try:
                return await self._tick()
            finally:
                if self.on_tick is not None:
                    self.on_tick(time.perf_counter() - started)

    async def _tick(self) -> TickReport:
        self.ticks += 1
        report = TickReport()
        fast = False
        for server in self.servers:
            if not await server.lease.acquire():
                report.skipped.append(server.key)
                continue
            self._last_renew = self.monotonic()
            changes, server_fast = await self._tick_server(server, report)
            report.changes.extend(changes)
            fast = fast or server_fast
        if report.polled or report.down:
            self._fast = fast or bool(report.down and self._fast)
        report.fast = self._fast
        return report

    async def _tick_server(self, server: WatchedServer, report: TickReport) -> tuple[list[LiveChange], bool]:
        observed_at = self.clock()
        try:
            server.polls += 1
            infos = await server.waha.list_sessions(all=True)
        except WahaError as exc:
            if not server.down:
                logger.warning("status engine: WAHA server %s unreachable, no changes until it answers: %s",
                               server.key, exc)
            server.down, server.last_error = True, str(exc)
            report.down.append(server.key)
            return [], False
        if server.down:
            logger.info("status engine: WAHA server %s answers again; reconciling", server.key)
        server.down, server.last_error = False, None
        report.polled.append(server.key)
        by_name = {info.name: info for info in infos}
        rows = [row for row in await self.sessions.rows_in() if server.owns(row)]
        live_ids = {row.id for row in rows}
        changes: list[LiveChange] = []
        statuses: dict[str, str] = {}
        for row in rows:
            try:
                got = await self._reconcile(server, row, by_name.get(row.id), observed_at)
            except Exception:  # one bad row must not stop the others
                logger.exception("status engine: reconciling %s failed", row.id)
                got = []
            changes.extend(got)
            statuses[row.id] = got[-1].status if got else row.status
        # Rows stuck in `creating` (the process died mid-create): adopted or failed.
        cutoff = self.clock() - dt.timedelta(seconds=self.creating_grace)
        if any(row.status == st.CREATING and row.created_at <= cutoff for row in rows):
            for change in await self.sessions.reconcile_creating(self.creating_grace):
                live = self._status_live(change, "reconcile")
                statuses[change.session_id] = change.new_status
                await self._after_status(live)
                changes.append(live)
        # Polling fallback for QR rotations (webhooks normally announce them first).
        for session_id in self.qr.due():
            row = next((r for r in rows if r.id == session_id), None)
            if row is not None and statuses.get(session_id) == st.PAIRING:
                self.qr.request(session_id, row.user_id)
            elif row is None or statuses.get(session_id) != st.PAIRING:
                self.qr.forget(session_id)
        for session_id in [sid for sid in self._drift if sid not in live_ids]:
            self._drift.pop(session_id, None)
        for session_id in [sid for sid in self._starting_since if statuses.get(sid) != st.STARTING]:
            self._starting_since.pop(session_id, None)
        return changes, any(status in FAST_STATUSES for status in statuses.values())

    async def _reconcile(self, server: WatchedServer, row: WaSession, info: Any,
                         observed_at: dt.datetime) -> list[LiveChange]:
        if row.status == st.CREATING:
            return []  # WAHA may not have it yet: the create flow (or reconcile_creating) decides
        raw = None if info is None else str(getattr(info.status, "value", info.status))
        if info is None and row.status == st.FAILED:
            self._drift.pop(row.id, None)
            return []
        if info is not None and (raw == row.waha_status or (row.status == st.FAILED and raw == "STOPPED")):
            self._drift.pop(row.id, None)
            return await self._consistent(server, row, info, raw)
        # WAHA disagrees with the row.
        key = (raw, row.status_seen_at, row.status)
        newer = row.status_seen_at is not None and row.status_seen_at > observed_at
        repeated = self._drift.get(row.id) == key
        if newer and not repeated:
            # Something newer than our list was applied meanwhile (a webhook, a user action):
            # look again next tick; if nothing moved by then, WAHA's list wins.
            self._drift[row.id] = key
            return []
        if info is None:
            change = await self.sessions.mark_failed(row.id, MISSING_REASON, source="watcher", clear_phone=True)
            self._drift.pop(row.id, None)
            if change is None:
                return []
            live = self._status_live(change, "watcher", detail=MISSING_REASON)
            await self._after_status(live)
            return [live]
        error, clear = self._failure_reason(row.status, raw)
        change = await self.sessions.apply_waha_status(
            row.id, raw, at=observed_at, me=info.me, source="watcher", error=error, clear_phone=clear,
            force=repeated,
        )
        if change is None:
            self._drift[row.id] = key
            return []
        self._drift.pop(row.id, None)
        live = self._status_live(change, "watcher", detail=error)
        await self._after_status(live, first_qr=row.status in (st.CREATING, st.STARTING))
        return [live]

    async def _consistent(self, server: WatchedServer, row: WaSession, info: Any, raw: str) -> list[LiveChange]:
        """WAHA and the row agree on the status: the slow checks (stuck, phone, first QR)."""
        if row.status == st.STARTING and raw == "STARTING":
            return await self._check_stuck(server, row)
        changes: list[LiveChange] = []
        if raw == "WORKING" and row.phone is None and info.me is not None:
            change = await self.sessions.apply_waha_status(row.id, raw, me=info.me, source="watcher")
            if change is not None:
                live = self._status_live(change, "watcher")
                await self._after_status(live)
                changes.append(live)
        if row.status in (st.PAIRING, st.CONNECTED) and row.auto_restarts:
            await self._reset_auto_restarts(row.id)
        if row.status == st.PAIRING and raw == "SCAN_QR_CODE" and self._qr_missing(row.id):
            # Pairing without a cached QR (e.g. this process started while it paired): fetch it once.
            self.qr.request(row.id, row.user_id)
        return changes

    def _qr_missing(self, session_id: str) -> bool:
        return self.qr.needs_first_fetch(session_id)

    @staticmethod
    def _failure_reason(old_status: str, raw: str) -> tuple[str | None, bool]:
        """(reason for a FAILED status, whether the phone link is gone) from the row's old status."""
        if raw == "FAILED":
            if old_status == st.CONNECTED:
                return LOGGED_OUT_REASON, True
            if old_status == st.PAIRING:
                return QR_EXHAUSTED_REASON, False
            return None, False
        if raw == "SCAN_QR_CODE" and old_status == st.CONNECTED:
            return None, True
        return None, False

    # ------------------------------------------------------------- stuck
    async def _check_stuck(self, server: WatchedServer, row: WaSession) -> list[LiveChange]:
        now = self.clock()
        known = self._starting_since.get(row.id)
        if known is None or known[0] != row.status_changed_at:
            known = (row.status_changed_at, now)
            self._starting_since[row.id] = known
        since = min(row.status_changed_at, known[1])
        if (now - since).total_seconds() < self.stuck_after:
            return []
        if row.auto_restarts < self.max_auto_restarts:
            return await self._auto_restart(server, row)
        reason = STUCK_REASON.format(secs=self.stuck_after)
        change = await self.sessions.mark_failed(row.id, reason, source="watcher")
        self._starting_since.pop(row.id, None)
        with contextlib.suppress(WahaError):  # a failed session should not keep running on WAHA
            await server.waha.stop_session(row.id)
        if change is None:
            return []
        live = self._status_live(change, "watcher", detail=reason)
        await self._after_status(live)
        return [live]

    async def _auto_restart(self, server: WatchedServer, row: WaSession) -> list[LiveChange]:
        detail = AUTO_RESTART_DETAIL.format(secs=self.stuck_after)
        try:
            dto = await server.waha.restart_session(row.id)
        except WahaNotFound:
            change = await self.sessions.mark_failed(row.id, MISSING_REASON, source="watcher")
            if change is None:
                return []
            live = self._status_live(change, "watcher", detail=MISSING_REASON)
            await self._after_status(live)
            return [live]
        except WahaError as exc:
            logger.warning("status engine: automatic restart of %s failed: %s", row.id, exc)
            return []
        now = self.clock()
        raw = str(getattr(dto.status, "value", dto.status))
        async with self.db.transaction() as s:
            fresh = await s.get(WaSession, row.id)
            if fresh is None:
                return []
            fresh.auto_restarts = (fresh.auto_restarts or 0) + 1
            fresh.updated_at = now
            if fresh.status == st.STARTING:
                fresh.status_changed_at = now  # the next stuck period counts from the restart
                fresh.waha_status = raw
            fresh.status_seen_at = now if fresh.status_seen_at is None else max(now, fresh.status_seen_at)
            self.audit.add(s, action="auto_restart", outcome=OK, user_id=None, session_id=row.id,
                           detail=f"{detail} ({fresh.auto_restarts} of {self.max_auto_restarts})")
        self._starting_since.pop(row.id, None)
        logger.warning("status engine: session %s stuck in STARTING; restarted automatically", row.id)
        live = LiveChange(kind=STATUS, session_id=row.id, user_id=fresh.user_id, status=fresh.status,
                          old_status=row.status, waha_status=fresh.waha_status, changed=False, session=fresh,
                          source="auto_restart", detail=detail, at=now)
        await self.notifier.publish(live)
        return [live]

    async def _reset_auto_restarts(self, session_id: str) -> None:
        async with self.db.transaction() as s:
            fresh = await s.get(WaSession, session_id)
            if fresh is not None and fresh.status in (st.PAIRING, st.CONNECTED):
                fresh.auto_restarts = 0

    # ============================================================== webhooks
    async def apply_event(self, event: WebhookEvent) -> str:
        """Apply one verified `session.status` event; notify at once. Returns the outcome."""
        row = await self.sessions.get_row(event.session)
        if row is None:
            return "unknown_session"
        if row.status == st.FAILED and event.status == "STOPPED":
            # Failed, then stopped on WAHA (e.g. after being stuck): keep the failure and its reason.
            return "ignored"
        error, clear = self._failure_reason(row.status, event.status or "")
        change = await self.sessions.apply_waha_status(
            event.session, event.status, at=event.at, event_id=event.id, me=event.me, source="webhook",
            error=error, clear_phone=clear,
        )
        if change is None:
            fresh = await self.sessions.get_row(event.session)
            if fresh is None:
                return "unknown_session"
            return "duplicate" if event.id is not None and fresh.last_event_id == event.id else "stale"
        self._drift.pop(event.session, None)
        live = self._status_live(change, "webhook", detail=error)
        if change.changed or _visible_diff(row, change.session):
            await self.notifier.publish(live)
        if event.status == "SCAN_QR_CODE":
            self.qr.request(event.session, change.user_id, rotation=rotation_from_statuses(event.statuses),
                            seen_at=self.clock(), certain=True)
        elif change.new_status != st.PAIRING:
            self.qr.forget(event.session)
        if change.new_status in FAST_STATUSES and not self._fast:
            self.wake()
        return "applied"

    # ==================================================================== QR
    def current_qr(self, session_id: str) -> QrState | None:
        """The cached QR of a pairing session (no WAHA call)."""
        return self.qr.get(session_id)

    async def qr_for(self, session_id: str) -> QrState | None:
        """For a page that opens: the cached QR, or one fetch (shared with any in flight) if pairing."""
        state = self.qr.get(session_id)
        if state is not None:
            return state
        row = await self.sessions.get_row(session_id)
        if row is None or row.status != st.PAIRING:
            return None
        state = self.qr.get(session_id)  # another caller may have fetched it meanwhile
        if state is not None:
            return state
        if not self.qr.fetching(session_id):
            self.qr.request(session_id, row.user_id)
        await self.qr.wait(session_id)
        return self.qr.get(session_id)

    async def manual_refresh(self, user: User | None, session_id: str) -> QrState:
        """The page's "refresh QR" button: rate-limited (QR, 10/min), owner or admin only.

        Raises what `SessionService.qr` raises (RateLimited, NotFound, InvalidState, WahaProblem).
        A new QR is cached and pushed to the owner's pages like any other.
        """
        image = await self.sessions.qr(user, session_id)
        row = await self.sessions.get_row(session_id)
        if row is None:
            raise NotFound()
        state = await self.qr.store(session_id, row.user_id, image)
        return state or self.qr.get(session_id)  # type: ignore[return-value]

    async def announce(self, session_id: str, *, source: str = "action", old_status: str | None = None,
                       detail: str | None = None) -> LiveChange | None:
        """Push a row changed by a user action (start, stop, scan...) through the same channel.

        User actions write the row themselves; the WAHA event for the same change then
        arrives older than the action's own observation and is (rightly) not applied again,
        so it notifies nobody. Call this after an action to reach the owner's other tabs and
        the admins. Also keeps the QR cache in step. None when the row is gone.
        """
        row = await self.sessions.get_row(session_id)
        if row is None:
            self.qr.forget(session_id)
            return None
        live = LiveChange(kind=STATUS, session_id=row.id, user_id=row.user_id, status=row.status,
                          old_status=old_status, waha_status=row.waha_status,
                          changed=old_status is not None and old_status != row.status, session=row, source=source,
                          detail=detail or (row.last_error if row.status == st.FAILED else None), at=self.clock())
        await self.notifier.publish(live)
        if row.status != st.PAIRING:
            self.qr.forget(row.id)
        elif self.qr.needs_first_fetch(row.id):
            self.qr.request(row.id, row.user_id)
        if row.status in FAST_STATUSES:
            self.wake()
        return live

    async def drain(self) -> None:
        """Wait for background QR fetches (tests)."""
        await self.qr.drain()

    # ============================================================= internals
    def _status_live(self, change: StatusChange, source: str, detail: str | None = None) -> LiveChange:
        row = change.session
        if detail is None and change.new_status == st.FAILED:
            detail = row.last_error
        return LiveChange(kind=STATUS, session_id=change.session_id, user_id=change.user_id,
                          status=change.new_status, old_status=change.old_status, waha_status=change.waha_status,
                          changed=change.changed, session=row, source=source, detail=detail, at=self.clock())

    async def _after_status(self, live: LiveChange, *, first_qr: bool = False) -> None:
        """Notify a status change found by the watcher, and keep the QR cache in step."""
        await self.notifier.publish(live)
        if live.status == st.PAIRING:
            if live.old_status != st.PAIRING and not self.qr.fetching(live.session_id):
                self.qr.forget(live.session_id)
                self.qr.request(live.session_id, live.user_id, rotation=1 if first_qr else None,
                                certain=first_qr)
        else:
            self.qr.forget(live.session_id)
        if live.status in FAST_STATUSES:
            self._fast = True

    async def _publish_qr(self, state: QrState) -> None:
        row = await self.sessions.get_row(state.session_id)
        if row is None or row.status not in FAST_STATUSES:
            self.qr.forget(state.session_id)
            return
        await self.notifier.publish(LiveChange(
            kind=QR, session_id=state.session_id, user_id=state.user_id, status=row.status,
            waha_status=row.waha_status, qr=state, source="qr", notify_admins=False, at=self.clock(),
        ))


def _visible_diff(before: WaSession, after: WaSession) -> bool:
    return any(getattr(before, f) != getattr(after, f)
               for f in ("status", "waha_status", "phone", "push_name", "last_error"))


__all__ = ["FAST_STATUSES", "StatusEngine", "TickReport", "WatchedServer"]
