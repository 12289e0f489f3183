"""WAHA's events socket (`/ws`) as the status engine's first source of news.

One socket per WAHA server, opened by the worker that holds that server's watcher lease
(so one socket per server across every worker) and closed when the lease goes. Every
`session.status` envelope it carries goes through the same door as a webhook
(`parse_envelope`, then `StatusEngine.apply_event`, which drops replays and older news).

- The API key is sent with the handshake; WAHA closes with 1008 when it is wrong. That
  stops reconnecting (retrying cannot fix a key) and is recorded as "key refused" for the
  admin; editing the server (a new client) tries again.
- Any other failure or close: reconnect after 1 s, doubling up to 60 s; back to 1 s once a
  connection has carried an event or stayed up for 60 s.
- While the socket is up, the list poll slows down (one poll per `poll_every` seconds per
  server, the safety net); a socket that opens or drops asks for a poll at once (news may
  have been missed meanwhile).

Nothing here needs a public URL: the socket goes from wahaweb to WAHA.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from wahaweb.core import status as st
from wahaweb.core.live.notify import PageUpdate
from wahaweb.core.live.servers import TickReport, WatchedServer
from wahaweb.core.live.watcher import Watcher
from wahaweb.core.live.webhook import SESSION_STATUS, BadEnvelope, WebhookEvent, parse_envelope
from wahaweb.waha.errors import WahaUnauthorized

if TYPE_CHECKING:  # pragma: no cover
    from wahaweb.core.servers import ServerRegistry

logger = logging.getLogger("wahaweb.core.live")

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0

#: Socket states.
OFF, CONNECTING, UP, RETRYING, REFUSED = "off", "connecting", "up", "retrying", "refused"

#: What the admin sees per server: how the status engine hears from it.
SOURCE_SOCKET, SOURCE_WEBHOOK, SOURCE_POLL, SOURCE_KEY_REFUSED = "socket", "webhook", "poll", "key refused"

Apply = Callable[[WebhookEvent, int | None], Awaitable[str]]
Sleep = Callable[[float], Awaitable[None]]


def envelope_body(envelope: dict[str, Any]) -> bytes:
    """The bytes an envelope is known by (an event without an id is de-duplicated by their hash)."""
    return json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class EventSocket:
    """The events socket of one WAHA server, with its reconnect loop."""

    def __init__(self, server: WatchedServer, apply: Apply, *, sleep: Sleep, monotonic: Callable[[], float],
                 on_state: Callable[[EventSocket], None] | None = None) -> None:
        self.server = server
        self._apply = apply
        self._sleep = sleep
        self._monotonic = monotonic
        self._on_state = on_state
        self.state = OFF
        self.error: str | None = None
        self.delay = BACKOFF_FIRST
        #: Counters (tests, metrics, the admin): connections opened, envelopes received, waits made.
        self.connects = 0
        self.received = 0
        self.waits: list[float] = []
        self._refused_client: object | None = None
        self._task: asyncio.Task | None = None

    @property
    def up(self) -> bool:
        return self.state == UP

    @property
    def refused(self) -> bool:
        return self.state == REFUSED

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def follow(self, holding: bool) -> None:
        """Open the socket while this process holds the server's lease; close it when not."""
        if self.refused and self.server.waha is not self._refused_client:
            self._set(OFF, None)  # the server was edited (new URL or key): try again
            self.delay = BACKOFF_FIRST
        if holding and not self.running and not self.refused:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"wahaweb-events-{self.server.key}")
        elif not holding and self.running:
            assert self._task is not None
            self._task.cancel()
            self._task = None
            self._set(OFF, None)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if not self.refused:
            self._set(OFF, None)

    def _set(self, state: str, error: str | None) -> None:
        changed = state != self.state
        self.state, self.error = state, error
        if changed and self._on_state is not None:
            self._on_state(self)

    async def _run(self) -> None:
        while True:
            client = self.server.waha
            opened_at: float | None = None
            carried = False
            self._set(CONNECTING, self.error)
            try:
                async with client.events(session="*", events=(SESSION_STATUS,)) as stream:
                    opened_at = self._monotonic()
                    self.connects += 1
                    logger.info("events socket of WAHA server %s open", self.server.key)
                    self._set(UP, None)
                    async for envelope in stream:
                        self.received += 1
                        carried = True
                        await self._deliver(envelope)
                why = "WAHA closed the events socket"
            except WahaUnauthorized as exc:
                self._refused_client = client
                logger.error("events socket of WAHA server %s: the API key was refused (1008); not retrying "
                             "until the server's key is changed", self.server.key)
                self._set(REFUSED, str(exc))
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: the poll covers, we reconnect
                why = str(exc) or type(exc).__name__
            if opened_at is not None and (carried or self._monotonic() - opened_at >= BACKOFF_MAX):
                self.delay = BACKOFF_FIRST
            logger.warning("events socket of WAHA server %s down (%s); again in %g s", self.server.key, why,
                           self.delay)
            self._set(RETRYING, why)
            self.waits.append(self.delay)
            await self._sleep(self.delay)
            self.delay = min(self.delay * 2, BACKOFF_MAX)

    async def _deliver(self, envelope: dict[str, Any]) -> None:
        try:
            event = parse_envelope(envelope_body(envelope))
        except BadEnvelope as exc:
            logger.warning("events socket of WAHA server %s: envelope refused: %s", self.server.key, exc)
            return
        if event.event != SESSION_STATUS:
            return
        try:
            await self._apply(event, self.server.server_id)
        except Exception:  # one bad event must not close the socket
            logger.exception("events socket of WAHA server %s: applying an event failed", self.server.key)


class SocketWatcher(Watcher):
    """The watcher, plus one events socket per held server and a slower poll while it is up."""

    events_socket: bool
    #: Sessions register wahaweb's webhook (a public URL is configured).
    webhooks_configured: bool
    registry: ServerRegistry | None
    socket_poll_every: float
    sockets: dict[str, EventSocket]
    _sockets_on: bool

    async def apply_event(self, event: WebhookEvent, server_id: int | None = None, *, source: str = "webhook") -> str:
        raise NotImplementedError

    async def _apply_socket_event(self, event: WebhookEvent, server_id: int | None) -> str:
        return await self.apply_event(event, server_id, source="socket")

    # =========================================================== events socket
    def open_sockets(self) -> None:
        """From now on each held server gets its events socket (the loop calls it; tests may)."""
        self._sockets_on = self.events_socket
        self._follow_sockets()

    def _follow_sockets(self) -> None:
        if not self._sockets_on:
            return
        for server in self.servers:
            sock = self.sockets.get(server.key)
            if sock is None or sock.server is not server:
                if sock is not None:
                    sock.follow(False)
                sock = self.sockets[server.key] = EventSocket(
                    server, self._apply_socket_event, sleep=self.sleep, monotonic=self.monotonic, on_state=self._socket_moved)
            sock.follow(server.lease.held)
        for key in [k for k in self.sockets if all(s.key != k for s in self.servers)]:
            self.sockets.pop(key).follow(False)  # the server was removed or disabled

    def _socket_moved(self, sock: EventSocket) -> None:
        if sock.state in (UP, RETRYING):  # news may have been missed meanwhile: list the server now
            sock.server.polled_at = float("-inf")
        if sock.state in (UP, RETRYING, REFUSED):
            self._wake.set()  # and the next tick records the event source

    def event_source(self, server: WatchedServer) -> str:
        """socket while it is up; key refused after a 1008; else webhook when configured; else poll."""
        sock = self.sockets.get(server.key)
        if sock is not None and sock.up:
            return SOURCE_SOCKET
        if sock is not None and sock.refused:
            return SOURCE_KEY_REFUSED
        return SOURCE_WEBHOOK if self.webhooks_configured else SOURCE_POLL

    async def _record_sources(self) -> None:
        """Store each held server's event source on its row when it changes (the admin page reads it)."""
        if not self._sockets_on or self.registry is None:
            return
        for server in self.servers:
            if not server.lease.held or server.server_id is None:
                continue
            source = self.event_source(server)
            if source != server.event_source:
                try:
                    await self.registry.record_event_source(server.server_id, source)
                except Exception:  # noqa: BLE001 - the next tick tries again
                    logger.exception("status engine: recording the event source of %s failed", server.key)
                    continue
                server.event_source = source

    async def _stop_sockets(self) -> None:
        self._sockets_on = False
        for sock in list(self.sockets.values()):
            await sock.stop()

    async def _tick(self) -> TickReport:
        report = await super()._tick()
        self._follow_sockets()
        await self._record_sources()
        return report

    async def _tick_server(self, server: WatchedServer, report: TickReport) -> tuple[list[PageUpdate], bool]:
        sock = self.sockets.get(server.key)
        if sock is not None and sock.up and self.monotonic() - server.polled_at < self.socket_poll_every:
            report.quiet.append(server.key)
            await self._due_qrs(server)
            return [], self._fast
        server.polled_at = self.monotonic()
        return await super()._tick_server(server, report)

    async def _due_qrs(self, server: WatchedServer) -> None:
        """A tick without the list: QR rotations still fetched on time (the socket announces them too)."""
        due = self.qr.due()
        if not due:
            return
        rows = {row.id: row for row in await server.rows(self.sessions)}
        for session_id in due:
            row = rows.get(session_id)
            if row is not None and row.status == st.PAIRING:
                self.qr.request(session_id, row.user_id)
            elif row is not None:
                self.qr.forget(session_id)

