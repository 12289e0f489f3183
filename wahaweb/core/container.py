"""The composition root of core: one `Core` builds and owns everything core needs.

    core = Core.from_settings(settings, waha_transport=None, clock=None)   # no I/O
    core = await Core.create(settings)                                    # + migrations
    core.db, core.waha, core.accounts, core.sessions, core.admin, core.limiter, core.audit
    core.live               # the status engine: the only way changes reach pages
    await core.aclose()

Core knows nothing of its stand-in: the app (`wahaweb.composition`) builds the embedded
WAHA simulator when no WAHA_URL is set and hands core a transport to it and a `demo`
(the phone that scans, in demo mode). Everything else is passed in, as starlette does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

import httpx
import sqlalchemy as sa
from pwdlib import PasswordHash

from wahaweb.core.accounts import Accounts
from wahaweb.core.admin import AdminService, compute_metrics
from wahaweb.core.admin import Metrics as AdminMetrics
from wahaweb.core.audit import AuditLog
from wahaweb.core.clock import Clock, utcnow
from wahaweb.core.constants import WEBHOOK_PATH
from wahaweb.core.db import Database
from wahaweb.core.live.engine import StatusEngine
from wahaweb.core.live.webhook import WebhookVerifier
from wahaweb.core.migrate import upgrade_engine
from wahaweb.core.models import AppSetting
from wahaweb.core.passwords import Passwords
from wahaweb.core.ratelimit import RateLimiter, RateLimits
from wahaweb.core.recent import Recent
from wahaweb.core.servers import ServerRegistry
from wahaweb.core.servers.admin import ServerAdmin
from wahaweb.core.servers.probe import ServerInfo, ServerProbe
from wahaweb.core.servers.registry import DEFAULT_SERVER, ServerHealth
from wahaweb.core.sessions import SessionService
from wahaweb.core.telemetry import server_label, session_counts
from wahaweb.observability.metrics import Metrics
from wahaweb.settings import Settings
from wahaweb.waha import WahaClient

logger = logging.getLogger("wahaweb.core")

WEBHOOK_SECRET_KEY = "webhook_secret"
STATE_SECRET_KEY = "state_secret"


@dataclasses.dataclass(frozen=True)
class HealthResult:
    ok: bool
    database_ok: bool
    waha_ok: bool
    database_error: str | None = None
    waha_error: str | None = None
    #: Every enabled WAHA server: name, reachable, latency, version (admins only; no URL, no key).
    servers: tuple[ServerHealth, ...] = ()

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
            body["servers"] = [dataclasses.asdict(server) for server in self.servers]
        return body


class DemoWaha(Protocol):
    """The embedded WAHA simulator, as core sees it (the app builds it; core never imports it)."""

    async def scan(self, session_name: str) -> None:
        """Act as the phone that scans the session's QR (raises NotFound / InvalidState)."""

    async def aclose(self) -> None: ...


class Core:
    def __init__(
        self,
        settings: Settings,
        *,
        db: Database,
        waha: WahaClient,
        limiter: RateLimiter,
        clock: Clock,
        demo: DemoWaha | None = None,
        live_options: dict[str, Any] | None = None,
        password_hasher: PasswordHash | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        create_timeout: float = 30.0,
        telemetry: Metrics | None = None,
        servers: ServerRegistry | None = None,
    ) -> None:
        self.settings = settings
        #: Prometheus instruments of this Core (its own registry), served at /metrics.
        self.telemetry = telemetry or Metrics()
        self.telemetry.sessions_from(lambda: session_counts(db, server_label(settings.embedded, waha.base_url)))
        self.clock = clock
        self.db = db
        self.waha = waha
        #: The WAHA servers (rows, one client each, probes); the `default` one's client is `waha`.
        self.servers = servers or ServerRegistry(
            db, make_client=lambda url, key: WahaClient(url, key), default_client=waha,
            secret=settings.secret_key, clock=clock)
        #: The default server as the panel shows it: one shared probe (`server_info`).
        self.probe = ServerProbe(waha, self.servers, embedded=demo is not None)
        self.limiter = limiter
        #: The embedded WAHA simulator in demo mode (built by the app), else None.
        self.demo = demo
        self.audit = AuditLog(db, clock)
        self.accounts = Accounts(
            db, limiter, self.audit, clock=clock, hasher=password_hasher,
            token_ttl=dt.timedelta(hours=settings.token_ttl_hours), signup_plan=settings.signup_plan,
            default_session_limit=settings.default_session_limit,
        )
        self.passwords = Passwords(db, self.accounts, self.audit, clock=clock)
        self.sessions = SessionService(
            db, waha, self.accounts, limiter, self.audit, clock=clock,
            default_session_limit=settings.default_session_limit,
            webhook_url=f"{settings.public_url}{WEBHOOK_PATH}" if settings.public_url else None,
            webhook_secret=self.webhook_secret, create_timeout=create_timeout, sleep=sleep, monotonic=monotonic,
            demo_scan=demo.scan if demo is not None else None, on_create=self.telemetry.observe_create,
            servers=self.servers, on_no_capacity=self.telemetry.no_capacity_refused,
        )
        self.admin = AdminService(db, self.accounts, self.audit, default_session_limit=settings.default_session_limit,
                                  stop_sessions_of=self.sessions.stop_all_of_user)
        self._webhook_secret: str | None = settings.webhook_secret
        self._state_secret: str | None = None
        self._closed = False
        #: The last health check, shared: load balancers and strangers probe often.
        self._health: Recent[HealthResult] = Recent(self._check_health)
        #: Verifies WAHA's webhook requests; the route hands what passes to `live`.
        self.webhooks = WebhookVerifier(self.webhook_secret)
        self.live = StatusEngine.from_core(self, **(live_options or {}))
        self.sessions.observer = self.live  # what the service writes reaches pages through the engine
        #: The operator's server panel (admins only; every change audited; the engine follows).
        self.server_admin = ServerAdmin(self.servers, self.accounts, self.audit,
                                        on_change=lambda: self.live.servers_changed())

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
        telemetry: Metrics | None = None,
        demo: DemoWaha | None = None,
        live_options: dict[str, Any] | None = None,
        server_transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    ) -> Core:
        """Build everything from settings; no I/O happens here.

        `server_transports` (base URL -> transport) reaches WAHA servers other than the default
        in-process (tests run several simulators); any other server goes over the network.

        `waha_transport` replaces the network (the embedded simulator's ASGI transport in
        demo mode, or a test's). `demo` is the embedded simulator, when there is one.
        `live_options` go to the status engine (`StatusEngine.from_core`). `clock` drives tokens,
        rate limits, ids and timestamps. `retry_waits`/`sleep` go to the WAHA client
        (and `sleep` to wait_for_status). `redis_prefix` namespaces the Redis keys.
        """
        clock = clock or utcnow
        telemetry = telemetry or Metrics()
        client_kwargs: dict[str, Any] = {}
        if retry_waits is not None:
            client_kwargs["retry_waits"] = tuple(retry_waits)
        if sleep is not None:
            client_kwargs["sleep"] = sleep
        waha = WahaClient(
            settings.effective_waha_url, settings.effective_waha_api_key,
            connect_timeout=settings.waha_connect_timeout, read_timeout=settings.waha_read_timeout,
            transport=waha_transport, **client_kwargs,
            observer=telemetry.waha_recorder(server_label(settings.embedded, settings.effective_waha_url)),
        )
        transports = dict(server_transports or {})

        def make_client(base_url: str, api_key: str | None) -> WahaClient:
            return WahaClient(
                base_url, api_key, connect_timeout=settings.waha_connect_timeout,
                read_timeout=settings.waha_read_timeout, transport=transports.get(base_url.rstrip("/")),
                **client_kwargs, observer=telemetry.waha_recorder(server_label(False, base_url)),
            )

        if rate_limits is None:
            rate_limits = RateLimits(sign_up=settings.sign_up_rate, sign_in_client=settings.sign_in_client_rate)
        if settings.redis_url:
            limiter = RateLimiter.redis(settings.redis_url, rate_limits, clock=clock, prefix=redis_prefix,
                                        on_refused=telemetry.rate_limited)
        else:
            limiter = RateLimiter.memory(rate_limits, clock=clock, on_refused=telemetry.rate_limited)
        db = database or Database.from_url(settings.database_url)
        servers = ServerRegistry(db, make_client=make_client, default_client=waha, secret=settings.secret_key,
                                 clock=clock)
        return cls(
            settings, db=db, waha=waha, limiter=limiter, servers=servers,
            clock=clock, demo=demo, live_options=live_options, password_hasher=password_hasher,
            sleep=sleep or asyncio.sleep, monotonic=monotonic or time.monotonic, create_timeout=create_timeout,
            telemetry=telemetry,
        )

    @classmethod
    async def create(cls, settings: Settings, *, migrate: bool = True, **kwargs: Any) -> Core:
        """`from_settings`, then bring the database schema up to date (idempotent)."""
        return await cls.from_settings(settings, **kwargs).ready(migrate=migrate)

    async def ready(self, *, migrate: bool = True) -> Core:
        """Bring the database schema up to date (idempotent); a Core that cannot is closed."""
        if migrate:
            try:
                await self.migrate()
            except BaseException:
                await self.aclose()
                raise
        return self

    async def migrate(self) -> None:
        """Schema to head, then the `default` server from WAHA_URL / WAHA_API_KEY (or the simulator).

        Raises ServerKeyUnreadable when a stored API key cannot be decrypted (a changed
        WAHAWEB_SECRET_KEY): better a clear stop at start-up than sessions failing one by one.
        """
        await upgrade_engine(self.db.engine)
        await self.servers.seed_default(self.settings.effective_waha_url, self.settings.effective_waha_api_key,
                                        capacity=self.settings.default_server_capacity)
        await self.servers.probe_at_start(timeout=10.0)

    # ------------------------------------------------------------ facilities
    @property
    def embedded(self) -> bool:
        return self.demo is not None

    async def webhook_secret(self) -> str:
        """The HMAC key for WAHA webhooks: WAHAWEB_WEBHOOK_SECRET, else generated once and stored."""
        if not self._webhook_secret:
            self._webhook_secret = await self._stored_secret(WEBHOOK_SECRET_KEY)
        return self._webhook_secret

    async def feed_token(self, token_hash: str) -> str:
        """The shared-state token of one sign-in's live feed: an HMAC of the sign-in under a server secret.

        Reflex lets a client connect under any token it likes, and a shared state lives under
        its token; a token that can be guessed (`user2`) is a key to that user's data. This one
        cannot be derived without the secret, which never leaves the server (and is the same on
        every worker, being stored in the database). It names a sign-in (the cookie's token,
        as stored hashed), not a user: every tab of one browser shares it, and once that
        sign-in is revoked (sign-out, disabled account, password change) nothing more is
        pushed to it.
        """
        return await self._state_token("feed", token_hash)

    async def qr_token(self, token_hash: str) -> str:
        """The shared-state token of one sign-in's QR codes (`UserQr`): like `feed_token`, an HMAC of
        the sign-in under the same secret, for another purpose, so neither token gives the other.
        It has the feed token's shape (`feed` + 64 hex digits), which the log redactor masks."""
        return await self._state_token("qr", token_hash)

    async def _state_token(self, purpose: str, token_hash: str) -> str:
        if self._state_secret is None:
            self._state_secret = await self._stored_secret(STATE_SECRET_KEY)
        digest = hmac.new(self._state_secret.encode(), f"{purpose}:{token_hash}".encode(), hashlib.sha256)
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

    async def server_info(self, *, max_age: float = 0.0) -> ServerInfo:
        """Reachability, version, tier and engine of the default WAHA server (panel, banners);
        shared by every page load (see `ServerProbe`)."""
        return await self.probe.info(max_age=max_age)

    async def health(self, *, max_age: float = 2.0) -> HealthResult:
        """Database and WAHA both answer? For /api/health (a result up to `max_age` s old is reused:
        anyone may call it, and it must not turn into one WAHA ping per request, nor while WAHA
        hangs: requests that come while a check runs wait for that one)."""
        return await self._health.get(max_age)

    async def _check_health(self) -> HealthResult:
        db_ok, db_error = True, None
        try:
            async with self.db.session() as s:
                await (await s.connection()).execute(sa.text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
            db_ok, db_error = False, f"database unavailable: {type(exc).__name__}"
        servers: tuple[ServerHealth, ...] = ()
        if db_ok:
            servers = tuple(await self.servers.health())
        default_ok = next((s.reachable for s in servers if s.name == DEFAULT_SERVER), None)
        if default_ok is None:
            default_ok = await self.waha.ping()
        down = [s.name for s in servers if not s.reachable and s.name != DEFAULT_SERVER]
        waha_error = None if default_ok else f"WAHA at {self.waha.base_url} did not answer /ping"
        if down:
            waha_error = "; ".join(filter(None, (waha_error, f"WAHA server(s) {', '.join(down)} did not answer /ping")))
        waha_ok = default_ok and not down
        return HealthResult(ok=db_ok and waha_ok, database_ok=db_ok, waha_ok=waha_ok, database_error=db_error,
                            waha_error=waha_error, servers=servers)

    async def metrics(self) -> AdminMetrics:
        """Counts and create timings (no actor: for the operator's /api/metrics)."""
        return await compute_metrics(self.db)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.live.aclose()
        await self.sessions.aclose()
        await self.servers.aclose()
        await self.waha.aclose()
        if self.demo is not None:
            await self.demo.aclose()
        await self.limiter.aclose()
        await self.db.aclose()

    async def __aenter__(self) -> Core:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
