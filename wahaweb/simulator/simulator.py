"""``Simulator``: one simulated WAHA server, as an ASGI app plus Python handles for tests.

Everything a simulator holds is built here and passed down through constructors: several
simulators in one process (each with its own key, profile and sessions) share nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from .app import SimulatorApp, build_app
from .config import SimulatorConfig
from .controls import ControlRoutes
from .engine import SessionEngine, SessionStatus, SimSession
from .events import EventHub
from .faults import FaultInjector, RequestLog
from .profile import Profile
from .qr import QrRenderer
from .routes import WahaRoutes
from .webhooks import WebhookDispatcher


class Simulator:
    """A WAHA look-alike. Serve ``.app`` (uvicorn, or ``httpx.ASGITransport(app=sim.app)``).

    Timers and webhook deliveries are asyncio tasks created on first use inside the running
    loop; call the Python controls (``scan``, ``fail``...) from that loop too.
    """

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        """``sleep`` is what every simulated wait goes through (QR lifetimes, the boot, the
        action delay): a test passes one that records or advances a fake clock."""
        self.config = config or SimulatorConfig()
        signed = self.config.behaviour.signed_webhooks
        environment = self.config.environment()
        self.webhooks = WebhookDispatcher(
            environment, transport=webhook_transport, timeout=self.config.webhook_timeout, signed=signed
        )
        self.events = EventHub(environment, signed=signed)
        self.engine = SessionEngine(self.config, on_status_change=self._on_status_change, sleep=sleep)
        self.faults = FaultInjector()
        self.request_log = RequestLog()
        renderer = QrRenderer()
        waha = WahaRoutes(self.config, self.engine, renderer, sleep, started_at=time.time())
        controls = ControlRoutes(self.engine, self.faults, self.request_log, self.webhooks)
        self.app: SimulatorApp = build_app(
            api_key=self.config.api_key,
            check_waha_key=self.config.behaviour.checks_api_key,
            routes=waha.routes() + controls.routes(),
            faults=self.faults,
            request_log=self.request_log,
            events=self.events,
            sleep=sleep,
            lifespan=self._lifespan,
        )

    @property
    def profile(self) -> Profile:
        """The WAHA release this simulator plays (``config.profile``'s flags)."""
        return self.config.behaviour

    def _on_status_change(self, session: SimSession) -> None:
        self.webhooks.on_status_change(session)
        self.events.on_status_change(session)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Any) -> AsyncIterator[None]:
        """Only a real server sends lifespan events; then shutdown closes the simulator."""
        yield
        await self.aclose()

    # ------------------------------------------------------ the phone's side
    def scan(self, name: str, *, phone: str | None = None, push_name: str | None = None) -> dict[str, Any]:
        """Link a phone: SCAN_QR_CODE -> WORKING. Raises ``SimulatorError`` (422) otherwise."""
        return self.engine.scan(name, phone, push_name).info()

    def passkey(self, name: str, *, confirm: bool = False) -> dict[str, Any]:
        """The phone asks for a passkey: -> PASSKEY_REQUIRED (or PASSKEY_CONFIRMATION_REQUIRED)."""
        return self.engine.passkey(name, confirm).info()

    def fail(self, name: str) -> dict[str, Any]:
        return self.engine.fail(name).info()

    def logout_phone(self, name: str) -> dict[str, Any]:
        """The user unlinked the device on the phone: WORKING -> FAILED, auth lost."""
        return self.engine.logout_phone(name).info()

    # ---------------------------------------------------------------- faults
    def inject(
        self,
        *,
        status: int | None = None,
        count: int = 1,
        path_prefix: str = "",
        latency_ms: float | None = None,
        refuse_seconds: float | None = None,
    ) -> dict[str, Any]:
        return self.faults.inject(
            status=status,
            count=count,
            path_prefix=path_prefix,
            latency_ms=latency_ms,
            refuse_seconds=refuse_seconds,
        )

    def clear_faults(self) -> dict[str, Any]:
        return self.faults.clear()

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The WAHA-path request log (``/_sim/`` excluded), oldest first."""
        return self.request_log.entries()

    def clear_requests(self) -> None:
        self.request_log.clear()

    # ------------------------------------------------------------ inspection
    def session(self, name: str) -> SimSession | None:
        return self.engine.sessions.get(name)

    def status(self, name: str) -> str | None:
        session = self.engine.sessions.get(name)
        return session.status.value if session else None

    async def wait_for_status(self, name: str, *statuses: str, timeout: float = 5.0) -> str | None:
        """Wait (on the real clock) until ``name`` reaches one of ``statuses``; returns the status then."""
        session = await self.engine.wait_for_status(name, [SessionStatus(s) for s in statuses], timeout)
        return session.status.value if session else None

    @property
    def webhook_deliveries(self) -> list[dict[str, Any]]:
        return list(self.webhooks.deliveries)

    async def drain_webhooks(self) -> None:
        await self.webhooks.drain()

    async def aclose(self) -> None:
        """Cancel every timer and pending delivery, close sockets and the webhook client. Idempotent."""
        self.events.close_all()
        await self.engine.aclose()
        await self.webhooks.aclose()
