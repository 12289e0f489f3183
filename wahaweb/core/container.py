"""The composition root: one `Core` builds and owns everything core needs.

    core = Core.from_settings(settings, waha_transport=None, clock=None)   # no I/O
    core = await Core.create(settings)                                    # + migrations
    core.db, core.waha, core.accounts, core.sessions, core.admin, core.limiter, core.audit
    core.simulator          # the embedded WAHA simulator (None with a real WAHA)
    await core.aclose()

The Reflex layer, the API routes and the tests all build it this way. In embedded
mode (no WAHA_URL) it builds the in-process Simulator and wires the WahaClient to
it through httpx.ASGITransport; this is the only core module that imports
wahaweb.simulator.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
import sqlalchemy as sa
from pwdlib import PasswordHash

from wahaweb.core.accounts import Accounts
from wahaweb.core.admin import AdminService, Metrics, compute_metrics
from wahaweb.core.audit import AuditLog
from wahaweb.core.clock import Clock, utcnow
from wahaweb.core.db import Database
from wahaweb.core.errors import InvalidState, NotFound
from wahaweb.core.migrate import upgrade_engine
from wahaweb.core.models import AppSetting
from wahaweb.core.ratelimit import RateLimiter, RateLimits
from wahaweb.core.sessions import SessionService
from wahaweb.settings import Settings
from wahaweb.waha import WahaClient
from wahaweb.waha.errors import WahaError

logger = logging.getLogger("wahaweb.core")

WEBHOOK_PATH = "/api/waha/webhook"
WEBHOOK_SECRET_KEY = "webhook_secret"
STATE_SECRET_KEY = "state_secret"


@dataclasses.dataclass(frozen=True)
class ServerInfo:
    """The WAHA server as the operator should see it (never its key)."""

    embedded: bool
    url: str
    reachable: bool
    version: str | None = None
    tier: str | None = None
    engine: str | None = None
    error: str | None = None
    latency_ms: float | None = None


@dataclasses.dataclass(frozen=True)
class HealthResult:
    ok: bool
    database_ok: bool
    waha_ok: bool
    database_error: str | None = None
    waha_error: str | None = None

    def as_json(self, *, details: bool = False) -> dict[str, Any]:
        """The body of GET /api/health.

        Anyone may probe it (load balancers do), so by default it says only "ok" or
        "degraded": URLs and error texts describe the operator's infrastructure and go to
        signed-in administrators alone (`details=True`).
        """
        body: dict[str, Any] = {"status": "ok" if self.ok else "degraded"}
        if details:
            body["db"] = "ok" if self.database_ok else self.database_error
            body["waha"] = "ok" if self.waha_ok else self.waha_error
        return body


class Core:
    def __init__(
        self,
        settings: Settings,
        *,
        db: Database,
        waha: WahaClient,
        limiter: RateLimiter,
        clock: Clock,
        simulator: Any = None,
        password_hasher: PasswordHash | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        create_timeout: float = 30.0,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.db = db
        self.waha = waha
        self.limiter = limiter
        self.simulator = simulator
        self.audit = AuditLog(db, clock)
        self.accounts = Accounts(
            db, limiter, self.audit, clock=clock, hasher=password_hasher,
            token_ttl=dt.timedelta(hours=settings.token_ttl_hours), signup_plan=settings.signup_plan,
            default_session_limit=settings.default_session_limit,
        )
        self.sessions = SessionService(
            db, waha, self.accounts, limiter, self.audit, clock=clock,
            default_session_limit=settings.default_session_limit,
            webhook_url=f"{settings.public_url}{WEBHOOK_PATH}" if settings.public_url else None,
            webhook_secret=self.webhook_secret, create_timeout=create_timeout, sleep=sleep, monotonic=monotonic,
            demo_scan=self._demo_scan if simulator is not None else None,
        )
        self.admin = AdminService(db, self.accounts, self.audit, default_session_limit=settings.default_session_limit,
                                  stop_sessions_of=self.sessions.stop_all_of_user)
        self._webhook_secret: str | None = settings.webhook_secret
        self._state_secret: str | None = None
        self._closed = False
        #: (time.monotonic() taken, result) of the last WAHA probe, shared by every page load.
        self._server_info: tuple[float, ServerInfo] | None = None

    # ------------------------------------------------------------------ build
    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        waha_transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        password_hasher: PasswordHash | None = None,
        rate_limits: RateLimits | None = None,
        redis_prefix: str = "wahaweb",
        retry_waits: Sequence[float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        monotonic: Callable[[], float] | None = None,
        create_timeout: float = 30.0,
        database: Database | None = None,
    ) -> Core:
        """Build everything from settings; no I/O happens here.

        `waha_transport` replaces the network (tests; with settings.embedded the
        simulator's ASGI transport is used unless one is given). `clock` drives tokens,
        rate limits, ids and timestamps. `retry_waits`/`sleep` go to the WAHA client
        (and `sleep` to wait_for_status). `redis_prefix` namespaces the Redis keys.
        """
        clock = clock or utcnow
        simulator = None
        if settings.embedded:
            from wahaweb.simulator import Simulator, SimulatorConfig

            simulator = Simulator(SimulatorConfig(api_key=settings.sim_api_key, qr_delay=settings.sim_qr_delay,
                                                  time_scale=settings.sim_time_scale))
            if waha_transport is None:
                waha_transport = httpx.ASGITransport(app=simulator.app)
        client_kwargs: dict[str, Any] = {}
        if retry_waits is not None:
            client_kwargs["retry_waits"] = tuple(retry_waits)
        if sleep is not None:
            client_kwargs["sleep"] = sleep
        waha = WahaClient(
            settings.effective_waha_url, settings.effective_waha_api_key,
            connect_timeout=settings.waha_connect_timeout, read_timeout=settings.waha_read_timeout,
            transport=waha_transport, **client_kwargs,
        )
        if rate_limits is None:
            rate_limits = RateLimits(sign_up=settings.sign_up_rate)
        if settings.redis_url:
            limiter = RateLimiter.redis(settings.redis_url, rate_limits, clock=clock, prefix=redis_prefix)
        else:
            limiter = RateLimiter.memory(rate_limits, clock=clock)
        return cls(
            settings, db=database or Database.from_url(settings.database_url), waha=waha, limiter=limiter,
            clock=clock, simulator=simulator, password_hasher=password_hasher, sleep=sleep or asyncio.sleep,
            monotonic=monotonic or time.monotonic, create_timeout=create_timeout,
        )

    @classmethod
    async def create(cls, settings: Settings, *, migrate: bool = True, **kwargs: Any) -> Core:
        """`from_settings`, then bring the database schema up to date (idempotent)."""
        core = cls.from_settings(settings, **kwargs)
        if migrate:
            try:
                await core.migrate()
            except BaseException:
                await core.aclose()
                raise
        return core

    async def migrate(self) -> None:
        await upgrade_engine(self.db.engine)

    # ------------------------------------------------------------ facilities
    @property
    def embedded(self) -> bool:
        return self.simulator is not None

    async def webhook_secret(self) -> str:
        """The HMAC key for WAHA webhooks: WAHAWEB_WEBHOOK_SECRET, else generated once and stored."""
        if not self._webhook_secret:
            self._webhook_secret = await self._stored_secret(WEBHOOK_SECRET_KEY)
        return self._webhook_secret

    async def feed_token(self, user_id: int) -> str:
        """The shared-state token of a user's live feed: an HMAC of the id under a server secret.

        Reflex lets a client connect with any token it likes, and a shared state lives under
        its token; a token that can be guessed (`user2`) is a key to that user's data. This one
        cannot be derived without the secret, which never leaves the server (and is the same
        on every worker, being stored in the database).
        """
        if self._state_secret is None:
            self._state_secret = await self._stored_secret(STATE_SECRET_KEY)
        digest = hmac.new(self._state_secret.encode(), f"feed:{user_id}".encode(), hashlib.sha256)
        return "feed" + digest.hexdigest()

    async def _stored_secret(self, key: str) -> str:
        """A random secret generated on first use and kept in the database (shared by all workers)."""
        async with self.db.locked_write() as s:
            row = await s.get(AppSetting, key)
            if row is None:
                row = AppSetting(key=key, value=secrets.token_urlsafe(32))
                s.add(row)
                logger.info("generated and stored the %s", key.replace("_", " "))
            return row.value

    async def _demo_scan(self, session_name: str) -> None:
        from wahaweb.simulator import SimulatorError

        sim = self.simulator
        if sim is None:  # pragma: no cover - not wired without a simulator
            raise InvalidState("Simulating a phone scan is only possible with the built-in WAHA simulator.")
        try:
            sim.scan(session_name)
        except SimulatorError as exc:
            if exc.status_code == 404:
                raise NotFound() from exc
            raise InvalidState("The session is not showing a QR code right now, so there is nothing to scan.") from exc

    async def server_info(self, *, max_age: float = 0.0) -> ServerInfo:
        """Reachability, version, tier and engine of the WAHA server (admin panel, banners).

        `max_age` > 0 reuses a probe at most that old: every signed-in page load checks WAHA,
        and that must not cost one WAHA call per tab.
        """
        cached = self._server_info
        if max_age > 0 and cached is not None and time.monotonic() - cached[0] <= max_age:
            return cached[1]
        info = await self._probe_waha()
        self._server_info = (time.monotonic(), info)
        return info

    async def _probe_waha(self) -> ServerInfo:
        started = time.perf_counter()
        url = "embedded WAHA simulator" if self.embedded else self.waha.base_url
        try:
            version = await self.waha.server_version()
        except WahaError as exc:
            return ServerInfo(embedded=self.embedded, url=url, reachable=False, error=str(exc),
                              latency_ms=round((time.perf_counter() - started) * 1000, 1))
        return ServerInfo(embedded=self.embedded, url=url, reachable=True, version=version.version,
                          tier=version.tier, engine=version.engine,
                          latency_ms=round((time.perf_counter() - started) * 1000, 1))

    async def health(self) -> HealthResult:
        """Database and WAHA both answer? For /api/health."""
        db_ok, db_error = True, None
        try:
            async with self.db.session() as s:
                await s.exec(sa.text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
            db_ok, db_error = False, f"database unavailable: {type(exc).__name__}"
        waha_ok = await self.waha.ping()
        return HealthResult(ok=db_ok and waha_ok, database_ok=db_ok, waha_ok=waha_ok, database_error=db_error,
                            waha_error=None if waha_ok else f"WAHA at {self.waha.base_url} did not answer /ping")

    async def metrics(self) -> Metrics:
        """Counts and create timings (no actor: for the operator's /api/metrics)."""
        return await compute_metrics(self.db)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.sessions.aclose()
        await self.waha.aclose()
        if self.simulator is not None:
            await self.simulator.aclose()
        await self.limiter.aclose()
        await self.db.aclose()

    async def __aenter__(self) -> Core:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
