"""The operator's side of the WAHA servers: list, test, add, resize, drain, disable, remove.

Every call needs an administrator (re-read from the database, like every admin action) and
writes one audit event. Views carry no API key: they go to a page, and a page is a browser.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from collections.abc import Callable

import httpx
import sqlalchemy as sa
from sqlmodel import select

from wahaweb.core.accounts import Accounts
from wahaweb.core.audit import OK, AuditLog
from wahaweb.core.constants import WEBHOOK_PATH
from wahaweb.core.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from wahaweb.core.models import AuditEvent, User, WahaServer, WaSession
from wahaweb.core.servers.registry import DEFAULT_SERVER, ServerRegistry, effective_capacity
from wahaweb.core.telemetry import server_label
from wahaweb.observability.log_config import register_secrets
from wahaweb.waha.errors import WahaError
from wahaweb.waha.models import ServerVersion

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
MAX_CAPACITY = 10_000


@dataclasses.dataclass(frozen=True)
class ServerView:
    """One server as an administrator sees it (never its key)."""

    id: int
    name: str
    url: str
    capacity: int
    effective_capacity: int
    sessions: int
    pairing: int
    enabled: bool
    draining: bool
    reachable: bool | None
    version: str | None
    tier: str | None
    engine: str | None
    latency_ms: float | None
    error: str | None
    probed_at: dt.datetime | None
    #: How the status engine hears from it: socket, webhook, poll, key refused (None: not yet known).
    event_source: str | None = None

    @property
    def load(self) -> str:
        """"12 / 50": sessions placed here over the capacity placement uses."""
        return f"{self.sessions} / {self.effective_capacity}"


@dataclasses.dataclass(frozen=True)
class ConnectionTest:
    """What WAHA answered to "test connection" (before a server is saved)."""

    ok: bool
    latency_ms: float
    version: str | None = None
    tier: str | None = None
    engine: str | None = None
    error: str | None = None


@dataclasses.dataclass(frozen=True)
class EditOutcome:
    """What an edit of a server's URL or key did: WAHA's answer, and the server if it was saved."""

    test: ConnectionTest
    saved: ServerView | None


@dataclasses.dataclass(frozen=True)
class WebhookTarget:
    """Where one server should post its `session.status` events, for the operator to configure WAHA.

    Admins only: for a server that cannot sign, `url` holds its secret webhook token.
    """

    server_id: int
    url: str
    #: True: WAHA signs its webhooks (the plain route, HMAC key = the webhook secret); False: it
    #: cannot (Core before 2026.6.1: the server's secret URL); None: not probed yet, so not known.
    signed: bool | None


class ServerAdmin:
    def __init__(self, registry: ServerRegistry, accounts: Accounts, audit: AuditLog, *,
                 on_change: Callable[[], None] | None = None) -> None:
        self.registry = registry
        self.accounts = accounts
        self.audit = audit
        #: Called after every change (Core wires the status engine: it follows the table).
        self.on_change = on_change

    async def _admin(self, actor: User | None) -> User:
        user = await self.accounts.resolve(actor)
        if not user.is_admin:
            raise PermissionDenied()
        return user

    async def views(self, actor: User | None) -> list[ServerView]:
        await self._admin(actor)
        loads = await self.registry.loads()
        return [_view(server, loads.get(server.id or 0, (0, 0))) for server in await self.registry.all()]

    async def webhook_targets(self, actor: User | None, base_url: str) -> dict[int, WebhookTarget]:
        """The webhook URL each server should call, under `base_url` (wahaweb's public address).

        A server that signs (or is not probed yet) uses the plain route, checked by HMAC; one
        that cannot sign gets `/api/waha/webhook/{token}` (its token made now if it has none).
        Nothing is logged or audited: the token is a secret.
        """
        await self._admin(actor)
        base = (base_url or "").strip().rstrip("/")
        targets: dict[int, WebhookTarget] = {}
        for server in await self.registry.all():
            assert server.id is not None
            signed = None if server.tier is None else ServerVersion(version=server.version,
                                                                     tier=server.tier).signs_webhooks
            url = f"{base}{WEBHOOK_PATH}"
            if signed is False:
                url = f"{url}/{server.webhook_token or await self.registry.webhook_token(server.id)}"
            targets[server.id] = WebhookTarget(server_id=server.id, url=url, signed=signed)
        return targets

    async def no_capacity_count(self, actor: User | None) -> int:
        """How many creates found no room (the `no_capacity` audit events): the page shows it."""
        await self._admin(actor)
        async with self.registry.db.session() as s:
            found = await s.exec(select(sa.func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "no_capacity"))
            return int(found.one())

    async def test_connection(self, actor: User | None, base_url: str, api_key: str | None) -> ConnectionTest:
        """Ask a WAHA its version with this URL and key; nothing is saved."""
        admin = await self._admin(actor)
        return await self._test(admin, _valid_url(base_url), api_key or None)

    async def _test(self, admin: User, url: str, api_key: str | None) -> ConnectionTest:
        register_secrets(api_key)
        client = self.registry.client_for_url(url, api_key)
        started = time.perf_counter()
        try:
            version = await client.server_version()
            result = ConnectionTest(ok=True, latency_ms=_ms(started), version=version.version, tier=version.tier,
                                    engine=version.engine)
        except WahaError as exc:
            result = ConnectionTest(ok=False, latency_ms=_ms(started), error=str(exc))
        finally:
            await client.aclose()
        await self.audit.write(action="server_test", outcome=OK if result.ok else "failed", user_id=admin.id,
                               detail=f"{server_label(False, url)}: {result.version or result.error}")
        return result

    async def add(self, actor: User | None, name: str, base_url: str, api_key: str | None,
                  capacity: int) -> ServerView:
        admin = await self._admin(actor)
        name = (name or "").strip().lower()
        if not NAME_RE.match(name):
            raise ValidationFailed("name", "The name must be 1 to 50 lower-case letters, digits, - or _.",
                                   code="server_name_invalid")
        url = _valid_url(base_url)
        capacity = _valid_capacity(capacity)
        box = await self.registry.box()
        register_secrets(api_key)
        async with self.registry.db.transaction() as s:
            if (await s.exec(select(WahaServer).where(WahaServer.name == name))).first() is not None:
                raise ValidationFailed("name", "A server with this name exists already.", code="server_name_taken")
            row = WahaServer(name=name, base_url=url, api_key_encrypted=box.seal(api_key or None), capacity=capacity,
                             created_at=self.registry.clock())
            s.add(row)
            await s.flush()
            self.audit.add(s, action="server_add", outcome=OK, user_id=admin.id,
                           detail=f"{name} at {server_label(False, url)}, capacity {capacity}")
        self.registry.servers_added()
        assert row.id is not None
        await self.registry.probe(row.id)
        return await self._changed(row.id)

    async def edit_connection(self, actor: User | None, server_id: int, base_url: str, api_key: str | None, *,
                              confirmed: bool = False) -> EditOutcome:
        """A new URL and/or key for a server: tested first, saved only if WAHA answers (or `confirmed`).

        An empty `api_key` keeps the stored one (the page never shows a key, so it cannot offer
        it back). The `default` server follows WAHA_URL / WAHA_API_KEY at every start: refused here.
        """
        admin = await self._admin(actor)
        url = _valid_url(base_url)
        server = await self.registry.get(server_id) if isinstance(server_id, int) else None
        if server is None:
            raise NotFound("server")
        if server.name == DEFAULT_SERVER:
            raise InvalidState("The default server follows WAHA_URL and WAHA_API_KEY: change them in the "
                               "environment and restart.", code="server_default_from_env")
        box = await self.registry.box()
        key = api_key or box.open(server.api_key_encrypted, server_name=server.name)
        test = await self._test(admin, url, key)
        if not test.ok and not confirmed:
            await self.audit.write(action="server_edit", outcome="refused", user_id=admin.id,
                                   detail=f"{server.name}: not saved, {server_label(False, url)} did not answer")
            return EditOutcome(test=test, saved=None)
        async with self.registry.db.transaction() as s:
            row = await s.get(WahaServer, server_id, with_for_update=True)
            if row is None:
                raise NotFound("server")
            changes = [f"url {server_label(False, row.base_url)} -> {server_label(False, url)}"] \
                if row.base_url != url else []
            row.base_url = url
            if api_key:
                row.api_key_encrypted = box.seal(api_key)
                changes.append("key replaced")
            row.reachable = row.version = row.tier = row.engine = row.error = None  # another WAHA: probe again
            row.probed_at = row.latency_ms = None
            self.audit.add(s, action="server_edit", outcome=OK, user_id=admin.id,
                           detail=f"{row.name}: {', '.join(changes) or 'unchanged'}"
                                  + ("" if test.ok else " (saved without an answer: confirmed)"))
        self.registry.forget_client(server_id)
        await self.registry.probe(server_id)
        return EditOutcome(test=test, saved=await self._changed(server_id))

    async def set_capacity(self, actor: User | None, server_id: int, capacity: int) -> ServerView:
        capacity = _valid_capacity(capacity)
        return await self._update(actor, server_id, "server_capacity", lambda row: _set(row, "capacity", capacity))

    async def set_draining(self, actor: User | None, server_id: int, draining: bool) -> ServerView:
        """Draining: no new sessions; its sessions keep working."""
        return await self._update(actor, server_id, "server_drain" if draining else "server_undrain",
                                  lambda row: _set(row, "draining", bool(draining)))

    async def set_enabled(self, actor: User | None, server_id: int, enabled: bool) -> ServerView:
        """Disabled: no new sessions and no polling (its sessions keep their last status)."""
        return await self._update(actor, server_id, "server_enable" if enabled else "server_disable",
                                  lambda row: _set(row, "enabled", bool(enabled)))

    async def remove(self, actor: User | None, server_id: int) -> None:
        """Only an empty server goes: its sessions would lose their WAHA."""
        admin = await self._admin(actor)
        refused: str | None = None
        refused_params: dict[str, object] = {}
        async with self.registry.db.locked_write() as s:
            row = await s.get(WahaServer, server_id) if isinstance(server_id, int) else None
            if row is None:
                raise NotFound("server")
            left = int((await s.exec(select(sa.func.count()).select_from(WaSession)
                                     .where(WaSession.server_id == server_id))).one())
            if left > 0:
                refused = (f"The server {row.name!r} still has {left} session(s): drain it and wait "
                           "until they are deleted, then remove it.")
                refused_params = {"name": row.name, "left": left}
            else:
                await s.delete(row)
                self.audit.add(s, action="server_remove", outcome=OK, user_id=admin.id, detail=row.name)
        if refused is not None:  # audited in its own transaction: the refusal must stay on record
            await self.audit.write(action="server_remove", outcome="refused", user_id=admin.id, detail=refused)
            raise InvalidState(refused, code="server_not_empty", params=refused_params)
        self.registry.forget_client(server_id)
        if self.on_change is not None:
            self.on_change()

    async def _update(self, actor: User | None, server_id: int, action: str,
                      apply: Callable[[WahaServer], str]) -> ServerView:
        admin = await self._admin(actor)
        async with self.registry.db.transaction() as s:
            row = await s.get(WahaServer, server_id, with_for_update=True) if isinstance(server_id, int) else None
            if row is None:
                raise NotFound("server")
            detail = apply(row)
            self.audit.add(s, action=action, outcome=OK, user_id=admin.id, detail=f"{row.name}: {detail}")
        return await self._changed(server_id)

    async def _changed(self, server_id: int) -> ServerView:
        if self.on_change is not None:
            self.on_change()
        server = await self.registry.get(server_id)
        if server is None:
            raise NotFound("server")
        loads = await self.registry.loads()
        return _view(server, loads.get(server_id, (0, 0)))


def _set(row: WahaServer, field: str, value: object) -> str:
    before = getattr(row, field)
    setattr(row, field, value)
    return f"{field} {before} -> {value}"


def _view(server: WahaServer, load: tuple[int, int]) -> ServerView:
    assert server.id is not None
    return ServerView(id=server.id, name=server.name, url=server_label(False, server.base_url) if server.base_url
                      else "", capacity=server.capacity, effective_capacity=effective_capacity(server),
                      sessions=load[0], pairing=load[1], enabled=server.enabled, draining=server.draining,
                      reachable=server.reachable, version=server.version, tier=server.tier, engine=server.engine,
                      latency_ms=server.latency_ms, error=server.error, probed_at=server.probed_at,
                      event_source=server.event_source)


def _valid_url(base_url: str) -> str:
    value = (base_url or "").strip().rstrip("/")
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ValidationFailed("url", "Enter the WAHA server's URL, e.g. https://waha.example.com.",
                               code="server_url_invalid") from exc
    if url.scheme not in ("http", "https") or not url.host or len(value) > 500:
        raise ValidationFailed("url", "Enter the WAHA server's URL, e.g. https://waha.example.com.",
                               code="server_url_invalid")
    return value


def _valid_capacity(capacity: int) -> int:
    if not isinstance(capacity, int) or isinstance(capacity, bool) or not 1 <= capacity <= MAX_CAPACITY:
        raise ValidationFailed("capacity", f"The capacity must be a whole number from 1 to {MAX_CAPACITY}.",
                               code="server_capacity_invalid", params={"max": MAX_CAPACITY})
    return capacity


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
