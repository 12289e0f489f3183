"""The watcher half of the status engine: one list call per WAHA server per tick, reconciled.

ONE `GET /api/sessions?all=true` per WAHA server per tick, whatever the number of sessions or
tabs; every row on that server is reconciled with WAHA's answer (by WAHA name): a different
status is applied, a session missing on WAHA becomes `failed`, one stuck in STARTING is
restarted once, then failed; a server that does not answer changes no row ("server
unreachable" until it answers). Fast (0.3 s) while a session is creating/starting/pairing,
else slow (10 s). With Redis, a lease makes one worker poll each server (lease.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from wahaweb.core import status as st
from wahaweb.core.clock import Clock
from wahaweb.core.failures import LOGGED_OUT_REASON, MISSING_REASON, QR_EXHAUSTED_REASON, STUCK, STUCK_REASON
from wahaweb.core.live.notify import Notifier, PageUpdate
from wahaweb.core.live.qr import (
    QrCache,
)
from wahaweb.core.live.servers import TickReport, WatchedServer
from wahaweb.core.models import WaSession
from wahaweb.waha.errors import WahaError
from wahaweb.waha.models import SessionInfo

if TYPE_CHECKING:  # pragma: no cover
    from wahaweb.core.sessions import AppliedStatus, SessionService

logger = logging.getLogger("wahaweb.core.live")

FAST_STATUSES = (st.CREATING, st.STARTING, st.PAIRING)

AUTO_RESTART_DETAIL = "Stuck in STARTING for more than {secs:g} seconds: restarted automatically."

Sleep = Callable[[float], Awaitable[None]]


class Watcher:
    """The loop and the tick. Its state (servers, sessions, notifier, timings) is set by StatusEngine."""

    servers: list[WatchedServer]
    sessions: SessionService
    notifier: Notifier
    qr: QrCache
    clock: Clock
    sleep: Sleep
    monotonic: Callable[[], float]
    fast_interval: float; slow_interval: float; stuck_after: float  # noqa: E702 (one line: the pacing)
    max_auto_restarts: int
    creating_grace: float
    probe_interval: float
    lease_renew_every: float | None
    ticks: int
    on_tick: Callable[[float], None] | None
    _fast: bool
    _wake: asyncio.Event
    _tick_lock: asyncio.Lock
    _stopping: bool
    _task: asyncio.Task | None
    _last_renew: float

    def _status_live(self, change: AppliedStatus, source: str, detail: str | None = None) -> PageUpdate:
        raise NotImplementedError

    async def _refresh_servers(self) -> None:
        """Follow the `waha_server` table (StatusEngine does; a bare Watcher polls what it was given)."""

    async def _server_health(self, server: WatchedServer, reachable: bool) -> None:
        """A server went down or came back (StatusEngine records and announces it)."""

    async def _after_status(self, live: PageUpdate, *, first_qr: bool = False) -> None:
        raise NotImplementedError

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
            return await self.sessions.any_in(FAST_STATUSES)
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
        await self._refresh_servers()
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

    async def _tick_server(self, server: WatchedServer, report: TickReport) -> tuple[list[PageUpdate], bool]:
        observed_at = self.clock()
        try:
            server.polls += 1
            infos = await server.waha.list_sessions(all=True)
        except WahaError as exc:
            if not server.down:
                logger.warning("status engine: WAHA server %s unreachable, no changes until it answers: %s",
                               server.key, exc)
            was_down, (server.down, server.last_error) = server.down, (True, str(exc))
            report.down.append(server.key)
            if not was_down:
                await self._server_health(server, False)
            return [], False
        if server.down:
            logger.info("status engine: WAHA server %s answers again; reconciling", server.key)
            server.down, server.last_error = False, None
            await self._server_health(server, True)
        report.polled.append(server.key)
        by_name = {info.name: info for info in infos}  # WAHA's names: our rows' `name_on_waha`
        rows = await server.rows(self.sessions)  # one query per server per tick, whatever the tabs
        live_ids = {row.id for row in rows}
        changes: list[PageUpdate] = []
        statuses: dict[str, str] = {}
        for row in rows:
            try:
                got = await self._reconcile(server, row, by_name.get(row.name_on_waha), observed_at)
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
            due_row = next((r for r in rows if r.id == session_id), None)
            if due_row is not None and statuses.get(session_id) == st.PAIRING:
                self.qr.request(session_id, due_row.user_id)
            elif due_row is None or statuses.get(session_id) != st.PAIRING:
                self.qr.forget(session_id)
        for session_id in [sid for sid in server.drift if sid not in live_ids]:
            server.drift.pop(session_id, None)
        for session_id in [sid for sid in server.starting_since if statuses.get(sid) != st.STARTING]:
            server.starting_since.pop(session_id, None)
        return changes, any(status in FAST_STATUSES for status in statuses.values())

    async def _reconcile(self, server: WatchedServer, row: WaSession, info: SessionInfo | None,
                         observed_at: dt.datetime) -> list[PageUpdate]:
        if row.status == st.CREATING:
            return []  # WAHA may not have it yet: the create flow (or reconcile_creating) decides
        raw = None if info is None else str(info.status)
        if info is None and row.status == st.FAILED:
            server.drift.pop(row.id, None)
            return []
        if info is not None and (raw == row.waha_status or (row.status == st.FAILED and raw == "STOPPED")):
            server.drift.pop(row.id, None)
            return await self._consistent(server, row, info, str(info.status))
        # WAHA disagrees with the row.
        key = (raw, row.status_seen_at, row.status)
        newer = row.status_seen_at is not None and row.status_seen_at > observed_at
        repeated = server.drift.get(row.id) == key
        if newer and not repeated:
            # Something newer than our list was applied meanwhile (a webhook, a user action):
            # look again next tick; if nothing moved by then, WAHA's list wins.
            server.drift[row.id] = key
            return []
        if info is None:
            change = await self.sessions.mark_failed(row.id, MISSING_REASON, source="watcher", clear_phone=True)
            server.drift.pop(row.id, None)
            if change is None:
                return []
            live = self._status_live(change, "watcher", detail=MISSING_REASON)
            await self._after_status(live)
            return [live]
        raw = str(info.status)  # WAHA has the session (the missing case returned above)
        error, clear = self._failure_reason(row.status, raw)
        change = await self.sessions.apply_waha_status(
            row.id, raw, at=observed_at, me=info.me, source="watcher", error=error, clear_phone=clear,
            force=repeated,
        )
        if change is None:
            server.drift[row.id] = key
            return []
        server.drift.pop(row.id, None)
        live = self._status_live(change, "watcher", detail=error)
        await self._after_status(live, first_qr=row.status in (st.CREATING, st.STARTING))
        return [live]

    async def _consistent(self, server: WatchedServer, row: WaSession, info: SessionInfo,
                          raw: str) -> list[PageUpdate]:
        """WAHA and the row agree on the status: the slow checks (stuck, phone, first QR)."""
        if row.status == st.STARTING and raw == "STARTING":
            return await self._check_stuck(server, row)
        changes: list[PageUpdate] = []
        if raw == "WORKING" and row.phone is None and info.me is not None:
            change = await self.sessions.apply_waha_status(row.id, raw, me=info.me, source="watcher")
            if change is not None:
                live = self._status_live(change, "watcher")
                await self._after_status(live)
                changes.append(live)
        if row.status in (st.PAIRING, st.CONNECTED) and row.auto_restarts:
            await self.sessions.reset_auto_restarts(row.id)
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
    async def _check_stuck(self, server: WatchedServer, row: WaSession) -> list[PageUpdate]:
        now = self.clock()
        known = server.starting_since.get(row.id)
        if known is None or known[0] != row.status_changed_at:
            known = (row.status_changed_at, now)
            server.starting_since[row.id] = known
        since = min(row.status_changed_at, known[1])
        if (now - since).total_seconds() < self.stuck_after:
            return []
        if row.auto_restarts < self.max_auto_restarts:
            return await self._auto_restart(server, row)
        reason = STUCK_REASON.format(secs=self.stuck_after)
        change = await self.sessions.mark_failed(row.id, reason, source="watcher", code=STUCK)
        server.starting_since.pop(row.id, None)
        with contextlib.suppress(WahaError):  # a failed session should not keep running on WAHA
            await server.waha.stop_session(row.name_on_waha)
        if change is None:
            return []
        live = self._status_live(change, "watcher", detail=reason)
        await self._after_status(live)
        return [live]

    async def _auto_restart(self, server: WatchedServer, row: WaSession) -> list[PageUpdate]:
        detail = AUTO_RESTART_DETAIL.format(secs=self.stuck_after)
        change = await self.sessions.auto_restart(row, detail, self.max_auto_restarts)
        if change is None:
            return []
        server.starting_since.pop(row.id, None)
        if change.new_status == st.FAILED:
            live = self._status_live(change, "watcher", detail=MISSING_REASON)
            await self._after_status(live)
            return [live]
        live = self._status_live(change, "auto_restart", detail=detail)
        await self.notifier.publish(live)
        return [live]
