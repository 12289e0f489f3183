"""The status engine: WAHA events in, one watcher per WAHA server, every change out.

Three ways a status reaches wahaweb, all ending in `SessionService.apply_waha_status`
(which drops replays and older observations) and then in the `Notifier`:

- WAHA's events socket (`/ws`, socket.py): one per WAHA server, held by the worker that
  holds the server's lease; needs no public URL. While it is up the list poll slows down.
- WAHA's `session.status` webhooks (`apply_event`, called by the webhook route): the
  change is stored and the listeners are called before the HTTP answer, with no wait
  for the next tick. A SCAN_QR_CODE event also fetches that rotation's QR once, asked for
  BEFORE the status is written, so WAHA's answer overlaps the DB write and the status push.
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
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from wahaweb.core import status as st
from wahaweb.core.clock import Clock
from wahaweb.core.constants import META_SESSION_ID
from wahaweb.core.errors import NotFound
from wahaweb.core.live.lease import WatcherLease, make_lease, server_key
from wahaweb.core.live.notify import QR, REMOVED, STATUS, CurrentQr, Notifier, PageUpdate
from wahaweb.core.live.qr import (
    WAHA_QR_LIFETIMES,
    WAHA_QR_MAX_ROTATIONS,
    QrCache,
    rotation_from_statuses,
)
from wahaweb.core.live.servers import SERVER_UNREACHABLE, rebuild_watched
from wahaweb.core.live.socket import EventSocket, SocketWatcher
from wahaweb.core.live.webhook import WebhookEvent
from wahaweb.core.models import User, WaSession
from wahaweb.core.qr_svg import QrPicture

if TYPE_CHECKING:  # pragma: no cover
    from wahaweb.core.container import Core
    from wahaweb.core.servers import ServerRegistry
    from wahaweb.core.sessions import AppliedStatus, SessionService

logger = logging.getLogger("wahaweb.core.live")

from wahaweb.core.live.watcher import (
    FAST_STATUSES,
    Sleep,
    TickReport,
    WatchedServer,
)


class StatusEngine(SocketWatcher):
    def __init__(
        self,
        sessions: SessionService,
        servers: Sequence[WatchedServer],
        *,
        notifier: Notifier | None = None,
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
        registry: ServerRegistry | None = None,
        make_lease_for: Callable[[str], WatcherLease] | None = None,
        servers_every: float = 5.0,
        probe_every: float = 60.0,
        events_socket: bool = True,
        webhooks_configured: bool = False,
        socket_poll_every: float | None = None,
    ) -> None:
        #: Open WAHA's events socket (`/ws`) for each held server once the loop runs (socket.py).
        self.events_socket = events_socket
        self.webhooks_configured = webhooks_configured
        #: While a server's socket is up, list it only this often (default: the slow interval).
        self.socket_poll_every = socket_poll_every if socket_poll_every is not None else slow_interval
        self.sockets: dict[str, EventSocket] = {}
        self._sockets_on = False
        self.on_tick = on_tick
        #: The `waha_server` table: with it, the engine polls one WatchedServer per enabled server.
        self.registry = registry
        self._make_lease_for = make_lease_for or (lambda key: make_lease(None, key))
        self.servers_every = servers_every
        self.probe_every = probe_every
        self._servers_at: float | None = None
        self._probe_task: asyncio.Task | None = None
        self.sessions = sessions
        self.servers = list(servers)
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
        self.qr = QrCache(self._fetch_qr, on_new=self._publish_qr, clock=clock, lifetimes=qr_lifetimes,
                          max_rotations=qr_max_rotations)
        #: The row the last QR fetch of each session was made for, and what it fetched (`_publish_qr`).
        self._qr_rows: dict[str, tuple[WaSession, str]] = {}
        self._qr_hint: dict[str, tuple[float, WaSession]] = {}  # a webhook's row, for its QR fetch
        self.ticks = 0
        self._fast = True
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

        def lease_for(server_key_: str) -> WatcherLease:
            if server_key_ == key:
                return lease  # type: ignore[return-value]
            return make_lease(settings.redis_url, server_key_, prefix=redis_prefix, ttl=lease_ttl,
                              client=redis_client)

        kwargs.setdefault("registry", core.servers)
        kwargs.setdefault("make_lease_for", lease_for)
        if "qr_lifetimes" not in kwargs and core.embedded:
            scale = settings.sim_time_scale or 1.0
            kwargs["qr_lifetimes"] = tuple(x / scale for x in WAHA_QR_LIFETIMES)
        kwargs.setdefault("fast_interval", settings.status_fast_interval)
        kwargs.setdefault("slow_interval", settings.status_slow_interval)
        kwargs.setdefault("lease_renew_every", lease_ttl / 3)
        kwargs.setdefault("on_tick", core.telemetry.observe_tick)
        kwargs.setdefault("webhooks_configured", core.sessions.webhook_url is not None)
        return cls(core.sessions, [server], notifier=notifier,
                   clock=core.clock, **kwargs)

    # =============================================================== servers
    def servers_changed(self) -> None:
        """An admin added, edited or removed a server: follow the table at the next tick."""
        self._servers_at = None
        self.wake()

    async def _refresh_servers(self) -> None:
        """One WatchedServer per enabled server (leases kept across refreshes); probes now and then."""
        if self.registry is None:
            return
        now = self.monotonic()
        if self._servers_at is not None and now - self._servers_at < self.servers_every:
            return
        self._servers_at = now
        try:
            rows = [srv for srv in await self.registry.all() if srv.enabled and srv.base_url and srv.id is not None]
            self.servers = await rebuild_watched(self.servers, rows, self.registry, self._make_lease_for)
        except Exception:  # the servers we had keep being polled
            logger.exception("status engine: reading the WAHA servers failed")

    def start(self) -> asyncio.Task:
        """The watcher loop, plus the probes: every server's version, tier and engine, now and
        every `probe_every` seconds (placement reads them; a tick never waits for one)."""
        task = super().start()
        self.open_sockets()
        if self.registry is not None and (self._probe_task is None or self._probe_task.done()):
            self._probe_task = asyncio.get_running_loop().create_task(self._probe_loop(), name="wahaweb-probes")
        return task

    async def _probe_loop(self) -> None:
        assert self.registry is not None
        while not self._stopping:
            try:
                await self.registry.probe_all()
            except Exception:  # noqa: BLE001 - the next round tries again
                logger.exception("status engine: probing the WAHA servers failed")
            await self.sleep(self.probe_every)

    async def stop(self) -> None:
        await self._stop_sockets()
        task, self._probe_task = self._probe_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await super().stop()

    async def _server_health(self, server: WatchedServer, reachable: bool) -> None:
        """A server stopped or started answering: record it; its sessions' cards say so (status kept)."""
        if server.server_id is not None and self.registry is not None:
            await self.registry.mark_reachable(server.server_id, reachable, server.last_error)
        detail = None if reachable else SERVER_UNREACHABLE
        for row in await server.rows(self.sessions):
            await self.notifier.publish(PageUpdate(
                kind=STATUS, session_id=row.id, user_id=row.user_id, status=row.status, old_status=row.status,
                waha_status=row.waha_status, session=row, source="server", detail=detail, at=self.clock()))

    # ============================================================== webhooks
    async def apply_event(self, event: WebhookEvent, server_id: int | None = None, *, source: str = "webhook") -> str:
        """Apply one verified `session.status` event (a webhook, or `server_id`'s socket); notify at once."""
        row = await self.sessions.row_for_event(event.session, event.metadata.get(META_SESSION_ID), server_id)
        if row is None:
            return "unknown_session"
        if row.status == st.FAILED and event.status == "STOPPED":
            # Failed, then stopped on WAHA (e.g. after being stuck): keep the failure and its reason.
            return "ignored"
        error, clear = self._failure_reason(row.status, event.status or "")
        qr_early = event.status == "SCAN_QR_CODE" and row.status in (st.CREATING, st.STARTING, st.PAIRING)
        generation = self.qr.generation(row.id)
        if qr_early:  # WAHA's QR fetch overlaps the status write and its pushes (it needs no pairing row)
            self._qr_hint[row.id] = (self.monotonic(), row)  # read a moment ago: the fetch needs no read
            self.qr.request(row.id, row.user_id, rotation=rotation_from_statuses(event.statuses),
                            seen_at=self.clock(), certain=True)
        change = await self.sessions.apply_waha_status(
            row.id, event.status, at=event.at, event_id=event.id, me=event.me, source=source,
            error=error, clear_phone=clear,
        )
        if change is None:
            fresh = await self.sessions.get_row(row.id)
            if fresh is None:
                return "unknown_session"
            return "duplicate" if event.id is not None and fresh.last_event_id == event.id else "stale"
        for watched in self.servers:
            watched.drift.pop(row.id, None)
        live = self._status_live(change, source, detail=error)
        if change.changed or change.visible:
            await self.notifier.publish(live)
        # An older event (STARTING) applied meanwhile forgot the early fetch: ask again.
        if event.status == "SCAN_QR_CODE" and (not qr_early or self.qr.generation(row.id) != generation):
            self.qr.request(row.id, change.user_id, rotation=rotation_from_statuses(event.statuses),
                            seen_at=self.clock(), certain=True)
        elif change.new_status != st.PAIRING:
            self.qr.forget(row.id)
        if change.new_status in FAST_STATUSES and not self._fast:
            self.wake()
        return "applied"

    # ==================================================================== QR
    def current_qr(self, session_id: str) -> CurrentQr | None:
        """The cached QR of a pairing session (no WAHA call)."""
        return self.qr.get(session_id)

    async def qr_for(self, session_id: str) -> CurrentQr | None:
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

    async def manual_refresh(self, user: User | None, session_id: str) -> CurrentQr:
        """The page's "refresh QR" button: rate-limited (QR, 10/min), owner or admin only.

        Raises what `SessionService.qr` raises (RateLimited, NotFound, InvalidState, WahaProblem).
        A new QR is cached and pushed to the owner's pages like any other.
        """
        image = await self.sessions.qr(user, session_id)
        row = await self.sessions.get_row(session_id)
        if row is None:
            raise NotFound()
        state = await self.qr.store(session_id, row.user_id, image) or self.qr.get(session_id)
        assert state is not None  # store() returns None only when this very QR is already cached
        return state

    async def announce_row(self, row: WaSession, *, source: str = "action", old_status: str | None = None,
                           detail: str | None = None) -> PageUpdate:
        """Push a row the session service wrote (a user action, a create) through the one channel.

        User actions write the row themselves; the WAHA event for the same change then
        arrives older than the action's own observation and is (rightly) not applied again,
        so it notifies nobody. This reaches the owner's other tabs and the admins, and keeps
        the QR cache in step (a first QR is fetched once the session is pairing).
        """
        live = PageUpdate(kind=STATUS, session_id=row.id, user_id=row.user_id, status=row.status,
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

    async def announce_removed(self, row: WaSession) -> None:
        """A deleted session: every page drops its card (no reload)."""
        self.qr.forget(row.id)
        await self.notifier.publish(PageUpdate(kind=REMOVED, session_id=row.id, user_id=row.user_id,
                                               status=row.status, source="delete", at=self.clock()))

    async def drain(self) -> None:
        """Wait for background QR fetches (tests)."""
        await self.qr.drain()

    # ============================================================= internals
    def _status_live(self, change: AppliedStatus, source: str, detail: str | None = None) -> PageUpdate:
        row = change.session
        if detail is None and change.new_status == st.FAILED:
            detail = row.last_error
        return PageUpdate(kind=STATUS, session_id=change.session_id, user_id=change.user_id,
                          status=change.new_status, old_status=change.old_status, waha_status=change.waha_status,
                          changed=change.changed, session=row, source=source, detail=detail, at=self.clock())

    async def _after_status(self, live: PageUpdate, *, first_qr: bool = False) -> None:
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

    async def _fetch_qr(self, session_id: str) -> QrPicture:
        at, known = self._qr_hint.pop(session_id, (0.0, None))
        known = known if self.monotonic() - at < 1.0 else None
        row, picture = await self.sessions.fetch_qr_with_row(session_id, known)
        self._qr_rows[session_id] = (row, picture.data_url)
        return picture

    async def _publish_qr(self, state: CurrentQr) -> None:
        """A new QR to the pages, with the row its fetch used (issue 16: no query here). A change this process
        applied meanwhile moved the cache's generation (nothing stored); another worker's was as late for
        this push when this was one query later, and its own push removes the QR (from `UserQr`, state/live.py)."""
        fetched = self._qr_rows.pop(state.session_id, None)
        row = fetched[0] if fetched is not None and fetched[1] == state.data_url else None
        if row is None:  # stored another way (the refresh button)
            row = await self.sessions.get_row(state.session_id)
        if row is None or row.status not in FAST_STATUSES:
            self.qr.forget(state.session_id)
            return
        await self.notifier.publish(PageUpdate(
            kind=QR, session_id=state.session_id, user_id=state.user_id, status=row.status,
            waha_status=row.waha_status, qr=state, source="qr", notify_admins=False, at=self.clock(),
        ))


__all__ = ["FAST_STATUSES", "StatusEngine", "TickReport", "WatchedServer"]
