"""The WAHA servers of this install: rows in `waha_server`, one `WahaClient` each, their probes.

Core builds one `ServerRegistry` and hands it a `make_client(base_url, api_key)` (timeouts,
retries, metrics and, in tests or demo mode, an in-process transport are Core's business).
The `default` server's client is `core.waha`, so code written before servers were data keeps
talking to the same client. Plain keys exist only inside this module and the clients.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlmodel import col, select

from wahaweb.core.clock import Clock, utcnow
from wahaweb.core.db import Database
from wahaweb.core.models import AppSetting, WahaServer, WaSession, new_webhook_token
from wahaweb.core.servers.crypto import STORED_KEY_SETTING, KeyBox, generate_secret
from wahaweb.core.telemetry import server_label
from wahaweb.observability.log_config import register_secrets
from wahaweb.waha import WahaClient
from wahaweb.waha.errors import WahaError, WahaUnavailable
from wahaweb.waha.models import ServerVersion

logger = logging.getLogger("wahaweb.core.servers")

DEFAULT_SERVER = "default"
#: WAHA's own name for the one session a Core server before 2026.6.1 runs.
CORE_ONLY_NAME = "default"

MakeClient = Callable[[str, str | None], WahaClient]


def single_session(server: WahaServer) -> bool:
    """True when the last probe says Core before 2026.6.1: one session, named `default`."""
    if server.tier is None:
        return False
    return not ServerVersion(version=server.version, tier=server.tier).allows_many_sessions


def effective_capacity(server: WahaServer) -> int:
    """The operator's capacity, but 1 on a server that can only run `default`."""
    return min(server.capacity, 1) if single_session(server) else server.capacity


@dataclasses.dataclass(frozen=True)
class ServerHealth:
    """One server in an administrator's /api/health: no URL, no key."""

    name: str
    reachable: bool
    latency_ms: float
    #: From the server's last probe (a ping does not say).
    version: str | None


class ServerRegistry:
    def __init__(self, db: Database, *, make_client: MakeClient, default_client: WahaClient,
                 secret: str | None = None, clock: Clock = utcnow,
                 monotonic: Callable[[], float] = time.monotonic, client_ttl: float = 10.0) -> None:
        self.db = db
        self.clock = clock
        self._make_client = make_client
        self._default_client = default_client
        self._secret = secret
        self._box: KeyBox | None = None
        #: server id -> (checked at, base_url, sealed key, client): rebuilt when the row's URL or key changes.
        self._clients: dict[int, tuple[float, str, str | None, WahaClient]] = {}
        self._monotonic = monotonic
        self.client_ttl = client_ttl
        self._lock = asyncio.Lock()
        self._all_probed = False

    # ------------------------------------------------------------- keys
    async def box(self) -> KeyBox:
        """The cipher for API keys: WAHAWEB_SECRET_KEY, else a secret generated once and stored."""
        if self._box is None:
            secret = self._secret
            if not secret:
                async with self.db.locked_write() as s:
                    row = await s.get(AppSetting, STORED_KEY_SETTING)
                    if row is None:
                        row = AppSetting(key=STORED_KEY_SETTING, value=generate_secret())
                        s.add(row)
                        logger.info("generated and stored the key that encrypts WAHA API keys")
                    secret = row.value
            self._box = KeyBox(secret)
        return self._box

    # ------------------------------------------------------------ seeding
    async def seed_default(self, base_url: str, api_key: str | None, *, capacity: int) -> WahaServer:
        """Create or update the server named `default` from WAHA_URL / WAHA_API_KEY (or the simulator).

        Its URL and key follow the environment at every start; its capacity is the operator's
        once set (only a new or placeholder row takes `capacity`). Then every stored key is
        decrypted once, so a changed WAHAWEB_SECRET_KEY stops the start with a clear error.
        """
        box = await self.box()
        async with self.db.transaction() as s:
            row = (await s.exec(select(WahaServer).where(WahaServer.name == DEFAULT_SERVER))).first()
            if row is None:
                row = WahaServer(name=DEFAULT_SERVER, base_url=base_url, capacity=capacity, created_at=self.clock())
                s.add(row)
            elif row.base_url != base_url or box_differs(box, row, api_key):
                if not row.base_url:
                    row.capacity = capacity
                row.base_url = base_url
                row.reachable = row.version = row.tier = row.engine = None  # another WAHA: probe again
                row.probed_at = None
            if box_differs(box, row, api_key):
                row.api_key_encrypted = box.seal(api_key)
        await self.check_keys()
        return row

    async def check_keys(self) -> None:
        """Decrypt every stored key once (raises ServerKeyUnreadable naming the server)."""
        box = await self.box()
        for server in await self.all():
            register_secrets(box.open(server.api_key_encrypted, server_name=server.name))

    # ------------------------------------------------------------- reads
    async def all(self) -> list[WahaServer]:
        async with self.db.session() as s:
            return list(await s.exec(select(WahaServer).order_by(col(WahaServer.id))))

    async def get(self, server_id: int) -> WahaServer | None:
        async with self.db.session() as s:
            return await s.get(WahaServer, server_id)

    async def loads(self) -> dict[int, tuple[int, int]]:
        """server id -> (sessions placed there, of which creating/starting/pairing)."""
        from wahaweb.core.servers.placement import load_by_server

        async with self.db.session() as s:
            return await load_by_server(s)

    async def session_count(self, server_id: int) -> int:
        async with self.db.session() as s:
            found = await s.exec(select(sa.func.count()).select_from(WaSession)
                                 .where(WaSession.server_id == server_id))
            return int(found.one())

    # ------------------------------------------------------------ clients
    async def client_for(self, server_id: int | None) -> WahaClient:
        """The WAHA client of a server (the default server's is `core.waha`).

        Cached per server for `client_ttl` seconds (no database read per WAHA call); an edit of
        the URL or key made through this registry takes effect at once, one made by another
        worker within `client_ttl`.
        """
        if server_id is None:
            return self._default_client
        cached = self._clients.get(server_id)
        if cached is not None and self._monotonic() - cached[0] <= self.client_ttl:
            return cached[3]
        server = await self.get(server_id)
        if server is None:
            return self._default_client
        if cached is not None and cached[1] == server.base_url and cached[2] == server.api_key_encrypted:
            self._clients[server_id] = (self._monotonic(), *cached[1:])
            return cached[3]
        async with self._lock:
            if server.name == DEFAULT_SERVER and server_label(False, server.base_url) == self._default_client.base_url:
                client = self._default_client
            else:
                key = (await self.box()).open(server.api_key_encrypted, server_name=server.name)
                register_secrets(key)  # (re)loaded: no log line may carry it
                client = self._make_client(server.base_url, key)
            self._clients[server_id] = (self._monotonic(), server.base_url, server.api_key_encrypted, client)
            if cached is not None and cached[3] is not client and cached[3] is not self._default_client:
                await cached[3].aclose()
            return client

    def forget_client(self, server_id: int) -> None:
        """After an edit of a server's URL or key: the next call reads the row again."""
        cached = self._clients.get(server_id)
        if cached is not None:
            self._clients[server_id] = (float("-inf"), *cached[1:])

    def client_for_url(self, base_url: str, api_key: str | None) -> WahaClient:
        """A throw-away client (the admin's "test connection"): the caller closes it."""
        return self._make_client(base_url, api_key)

    # ------------------------------------------------------------- probes
    async def probe(self, server_id: int) -> WahaServer | None:
        """Ask a server its version, tier and engine; store the answer (or the failure) on its row."""
        client = await self.client_for(server_id)
        started = time.perf_counter()
        version: ServerVersion | None = None
        error, answered = None, True
        try:
            version = await client.server_version()
        except WahaError as exc:
            # A 401 or 404 is a misconfigured server, not a down one: creates still go there and
            # fail with WAHA's own clear message instead of a vague "no capacity".
            error, answered = str(exc), not isinstance(exc, WahaUnavailable)
        latency = round((time.perf_counter() - started) * 1000, 1)
        return await self.record_probe(server_id, version, error=error, latency_ms=latency, answered=answered)

    async def record_probe(self, server_id: int, version: ServerVersion | None, *, error: str | None = None,
                           latency_ms: float | None = None, answered: bool | None = None) -> WahaServer | None:
        """Store a probe; `answered` (default: a version came back) is what placement calls reachable."""
        reachable = version is not None if answered is None else answered
        async with self.db.transaction() as s:
            row = await s.get(WahaServer, server_id)
            if row is None:
                return None
            if row.reachable is not False and not reachable:
                logger.warning("WAHA server %s unreachable: %s", row.name, error)
            row.reachable = reachable
            row.error = error
            row.latency_ms = latency_ms
            row.probed_at = self.clock()
            if version is not None:
                row.version, row.tier, row.engine = version.version, version.tier, version.engine
        return row

    async def health(self) -> list[ServerHealth]:
        """Every enabled server pinged now, all at once (one attempt each, no retry), in id order."""
        async def one(server: WahaServer) -> ServerHealth:
            client = await self.client_for(server.id)
            started = time.perf_counter()
            answered = await client.ping()
            return ServerHealth(name=server.name, reachable=answered,
                                latency_ms=round((time.perf_counter() - started) * 1000, 1), version=server.version)

        servers = [s for s in await self.all() if s.enabled and s.base_url and s.id is not None]
        return list(await asyncio.gather(*(one(server) for server in servers)))

    async def probe_all(self, *, only_unprobed: bool = False) -> list[WahaServer]:
        """Probe every enabled server at once (start-up, the watcher's slow pace)."""
        servers = [s for s in await self.all() if s.enabled and s.base_url
                   and not (only_unprobed and s.probed_at is not None)]
        probed = await asyncio.gather(*(self.probe(s.id) for s in servers if s.id is not None))
        return [row for row in probed if row is not None]

    async def ensure_probed(self) -> None:
        """Before a placement: probe servers never probed, so a Core 2024 server is known to be one.

        Free once every server has been probed (remembered in this process; an added server
        resets it here, and the engine's probe loop covers servers other workers add).
        """
        if self._all_probed:
            return
        await self.probe_all(only_unprobed=True)
        self._all_probed = True

    async def probe_at_start(self, timeout: float) -> None:
        """Start-up: probe every server once (bounded), so the first create places knowing tiers."""
        try:
            await asyncio.wait_for(self.probe_all(), timeout)
            self._all_probed = True
        except TimeoutError:
            logger.warning("WAHA servers did not all answer the start-up probe within %.0f s", timeout)

    def servers_added(self) -> None:
        """A server was added in this process: the next create probes it first."""
        self._all_probed = False

    async def record_default_probe(self, version: ServerVersion | None, *, error: str | None,
                                   latency_ms: float | None, answered: bool | None = None) -> None:
        """The server panel's probe of `core.waha` is the default server's probe too."""
        async with self.db.session() as s:
            row = (await s.exec(select(WahaServer).where(WahaServer.name == DEFAULT_SERVER))).first()
        if row is not None and row.id is not None:
            await self.record_probe(row.id, version, error=error, latency_ms=latency_ms, answered=answered)

    async def mark_reachable(self, server_id: int, reachable: bool, error: str | None = None) -> None:
        """What a list poll learnt about a server (cheaper than a probe; keeps placement honest)."""
        async with self.db.transaction() as s:
            row = await s.get(WahaServer, server_id)
            if row is not None and (row.reachable is not reachable or row.error != error):
                row.reachable, row.error = reachable, error

    # ---------------------------------------------------- webhooks, events
    async def by_webhook_token(self, token: str) -> WahaServer | None:
        """The server whose `/api/waha/webhook/{token}` this is (compared in constant time), or None."""
        given = token.encode("utf-8", "replace")
        found = None
        for server in await self.all():
            stored = (server.webhook_token or "").encode()
            if stored and secrets.compare_digest(stored, given) and found is None:
                found = server  # no early exit: every server is compared
        return found

    async def webhook_token(self, server_id: int) -> str:
        """The server's webhook token (made and stored if it has none)."""
        async with self.db.transaction() as s:
            row = await s.get(WahaServer, server_id)
            if row is None:
                raise LookupError(f"no WAHA server {server_id}")
            if not row.webhook_token:
                row.webhook_token = new_webhook_token()
            return row.webhook_token

    async def record_event_source(self, server_id: int, source: str) -> None:
        """How the status engine hears from the server now (shown to the admin)."""
        async with self.db.transaction() as s:
            row = await s.get(WahaServer, server_id)
            if row is not None and row.event_source != source:
                row.event_source = source

    async def aclose(self) -> None:
        for *_, client in self._clients.values():
            if client is not self._default_client:
                await client.aclose()
        self._clients.clear()


def box_differs(box: KeyBox, row: WahaServer, api_key: str | None) -> bool:
    """Does the row hold a different key than `api_key`? (Fernet tokens differ on every seal.)"""
    if row.api_key_encrypted is None:
        return bool(api_key)
    try:
        return not secrets.compare_digest(box.open(row.api_key_encrypted, server_name=row.name) or "", api_key or "")
    except Exception:  # noqa: BLE001 - unreadable: replaced by the environment's key
        return True
