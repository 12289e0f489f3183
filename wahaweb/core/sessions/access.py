"""Access to sessions: who may see and act on which, the audit of every action, the reads.

The base of the session service. Every user-facing method resolves the actor (signed
in, still active) and checks ownership here; a refusal is audited. `observer` (the
status engine, wired by Core) hears of every row a user action changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import col, select

from wahaweb.core.accounts import Accounts
from wahaweb.core.audit import DENIED, OK, AuditLog
from wahaweb.core.clock import Clock, utcnow
from wahaweb.core.db import Database
from wahaweb.core.errors import (
    AuthError,
    CoreError,
    NotFound,
    PermissionDenied,
)
from wahaweb.core.ids import is_session_id
from wahaweb.core.live.servers import SERVER_UNREACHABLE
from wahaweb.core.models import AuditEvent, User, WahaServer, WaSession
from wahaweb.core.plans import Usage, usage
from wahaweb.core.ratelimit import RateLimiter
from wahaweb.core.servers import ServerRegistry
from wahaweb.core.sessions.rules import (
    DemoScan,
    SessionWithOwner,
    Sleep,
    _Audit,
    _outcome_of,
)
from wahaweb.core.sessions.turns import ReservationsFirst
from wahaweb.waha import WahaClient

logger = logging.getLogger("wahaweb.core.sessions")


@dataclasses.dataclass(frozen=True)
class Overview:
    """A page load's data: `everyone` is None unless the actor is an admin."""

    user: User
    own: list[WaSession]
    everyone: list[SessionWithOwner] | None
    usage: Usage
    #: Servers known to be down (their sessions' cards say "server unreachable").
    unreachable_servers: frozenset[int] = frozenset()

    def note(self, row: WaSession) -> str:
        """What to show beside the row's status: its server is down, so the status is the last known."""
        return SERVER_UNREACHABLE if row.server_id in self.unreachable_servers else ""

    def visible(self, session_id: str) -> WaSession | None:
        """The session if this actor may open it (own; admins: any), else None (as if missing)."""
        rows = [*self.own, *(item.session for item in self.everyone or [])]
        return next((row for row in rows if row.id == session_id), None)


class SessionObserver(Protocol):
    """What the service tells of the rows it changed (the status engine implements it)."""

    # The service ignores what these return (the engine's announce_row returns the PageUpdate it sent).
    async def announce_row(self, row: WaSession, *, source: str, old_status: str | None = None) -> object: ...

    async def announce_removed(self, row: WaSession) -> object: ...


class SessionAccess:
    def __init__(
        self,
        db: Database,
        waha: WahaClient,
        accounts: Accounts,
        limiter: RateLimiter,
        audit: AuditLog,
        *,
        clock: Clock = utcnow,
        default_session_limit: int = 10,
        webhook_url: str | None = None,
        webhook_secret: Callable[[], Awaitable[str | None]] | str | None = None,
        create_timeout: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        demo_scan: DemoScan | None = None,
        on_create: Callable[[str, float], None] | None = None,  # (outcome, seconds) of every create: metrics
        servers: ServerRegistry | None = None,
        on_no_capacity: Callable[[], None] | None = None,  # a create found no server with room: metrics
        turns: ReservationsFirst | None = None,
    ) -> None:
        self.on_create = on_create
        #: The WAHA servers; None: every session is on `waha` (a service built without servers).
        self.servers = servers
        #: Servers whose raw QR failed once: their QR is WAHA's PNG (None: the service's own `waha`).
        self.png_qr_servers: set[int | None] = set()
        self.on_no_capacity = on_no_capacity
        self.db = db
        self.waha = waha
        self.accounts = accounts
        self.limiter = limiter
        self.audit = audit
        self.clock = clock
        self.default_session_limit = default_session_limit
        #: Where WAHA posts session.status events; None: sessions are created without webhooks.
        self.webhook_url = webhook_url
        self._webhook_secret = webhook_secret
        self.create_timeout = create_timeout
        self.sleep = sleep
        self.monotonic = monotonic
        self.demo_scan = demo_scan
        self._tasks: set[asyncio.Task] = set()
        #: A burst of creates acknowledges every user before any of them is provisioned on WAHA.
        self.turns = turns or ReservationsFirst()
        #: Hears of every row a user action or a system change wrote (Core wires the status
        #: engine here), so the change stream is the one way a change reaches pages.
        self.observer: SessionObserver | None = None

    async def _announce(self, row: WaSession, source: str, *, old_status: str | None = None) -> None:
        if self.observer is not None:
            self._in_background(self.observer.announce_row(row, source=source, old_status=old_status))

    async def _announce_removed(self, row: WaSession) -> None:
        if self.observer is not None:
            self._in_background(self.observer.announce_removed(row))

    def _in_background(self, announcement: Awaitable[object]) -> None:
        """Announcements run after the caller returns: a page handler that called the service still
        holds its tab's state (and its feed), which the listeners write to; awaiting them here
        would wait for that handler to finish, which waits for us. `aclose()` waits for them."""
        task = asyncio.ensure_future(announcement)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _waha_for(self, row: WaSession) -> WahaClient:
        """The client of the server the session lives on (call it under `row.name_on_waha`)."""
        if self.servers is None or row.server_id is None:
            return self.waha
        return await self.servers.client_for(row.server_id)

    @property
    def demo_mode(self) -> bool:
        """True when `simulate_scan` is available (embedded simulator)."""
        return self.demo_scan is not None

    async def get(self, actor: User | None, session_id: str) -> WaSession:
        """One session of the actor (admin: any). No WAHA call, no rate limit, no audit unless refused."""
        user, row = await self._read_access("get", actor, session_id)
        return row

    async def of_user(self, actor: User | None) -> list[WaSession]:
        """The actor's own sessions, newest first (admins too: see `all_with_owners`)."""
        user = await self.accounts.resolve(actor)
        async with self.db.session() as s:
            rows = await s.exec(
                select(WaSession).where(WaSession.user_id == user.id)
                .order_by(col(WaSession.created_at).desc(), col(WaSession.id).desc())
            )
            return list(rows)

    async def all_with_owners(self, actor: User | None) -> list[SessionWithOwner]:
        """Every session with its owner's email, newest first. Admins only."""
        user = await self.accounts.resolve(actor)
        if not user.is_admin:
            raise PermissionDenied()
        async with self.db.session() as s:
            rows = await s.exec(
                select(WaSession, User.email).join(User, col(User.id) == WaSession.user_id)
                .order_by(col(WaSession.created_at).desc(), col(WaSession.id).desc())
            )
            return [SessionWithOwner(session=row, owner_email=email) for row, email in rows]

    async def overview(self, actor: User | None) -> Overview:
        """What a page load shows, in one read: the actor's sessions, everyone's for an admin, and
        the plan meter. One resolution of the actor and one database session, not one of each per part."""
        user = await self.accounts.resolve(actor)
        async with self.db.session() as s:
            own = list(await s.exec(
                select(WaSession).where(WaSession.user_id == user.id)
                .order_by(col(WaSession.created_at).desc(), col(WaSession.id).desc())))
            everyone = None
            if user.is_admin:
                rows = await s.exec(
                    select(WaSession, User.email).join(User, User.id == WaSession.user_id)  # type: ignore[arg-type]
                    .order_by(col(WaSession.created_at).desc(), col(WaSession.id).desc()))
                everyone = [SessionWithOwner(session=row, owner_email=email) for row, email in rows]
            meter = await usage(s, user, self.default_session_limit)
            down = frozenset((await s.exec(select(WahaServer.id).where(col(WahaServer.reachable).is_(False)))).all())
        return Overview(user=user, own=own, everyone=everyone, usage=meter,
                        unreachable_servers=frozenset(i for i in down if i is not None))

    async def history(self, actor: User | None, session_id: str, limit: int = 50) -> list[AuditEvent]:
        """Audit events of one session, newest first (status changes and actions)."""
        await self._read_access("history", actor, session_id)
        return await self.audit.for_session(session_id, limit)

    async def get_row(self, session_id: str) -> WaSession | None:
        """System: a session row by id, no ownership check."""
        if not is_session_id(session_id):
            return None
        return await self.db.read_get(WaSession, session_id)

    async def row_for_event(self, waha_name: str, metadata_id: object = None,
                            server_id: int | None = None) -> WaSession | None:
        """System: our row for a session WAHA names `waha_name` (webhooks, list polls).

        The metadata we set at create (`wahaweb.session_id`) names the row; it must still be
        called `waha_name` on WAHA. Without metadata (old servers drop it sometimes): the row
        whose WAHA name it is, on `server_id` when known, and only if exactly one matches.
        """
        if isinstance(metadata_id, str) and metadata_id:
            row = await self.get_row(metadata_id)
            if row is None or row.name_on_waha != waha_name or (server_id is not None and row.server_id != server_id):
                return None
            return row
        stmt = select(WaSession).where(sa.or_(col(WaSession.waha_name) == waha_name,
                                              sa.and_(col(WaSession.waha_name).is_(None),
                                                      col(WaSession.id) == waha_name)))
        if server_id is not None:
            stmt = stmt.where(WaSession.server_id == server_id)
        rows = await self.db.read_all(stmt.limit(2))
        return rows[0] if len(rows) == 1 else None

    async def rows_in(self, statuses: Iterable[str] | None = None) -> list[WaSession]:
        """System: every row (optionally only in `statuses`), oldest first."""
        stmt = select(WaSession)
        if statuses is not None:
            stmt = stmt.where(col(WaSession.status).in_(list(statuses)))
        async with self.db.session() as s:
            return list(await s.exec(stmt.order_by(col(WaSession.created_at), col(WaSession.id))))

    async def rows_on(self, server_id: int, *, unplaced: bool = False) -> list[WaSession]:
        """System: the rows on one WAHA server (plus rows with no server when `unplaced`), oldest
        first. One statement, using the (server_id, waha_name) index: the watcher's read per server."""
        where = col(WaSession.server_id) == server_id
        if unplaced:
            where = sa.or_(where, col(WaSession.server_id).is_(None))
        async with self.db.session() as s:
            return list(await s.exec(select(WaSession).where(where)
                                     .order_by(col(WaSession.created_at), col(WaSession.id))))

    async def drain(self) -> None:
        """Wait for the service's background work: creates finishing on WAHA, announcements (tests)."""
        await self.aclose()

    async def aclose(self) -> None:
        """Wait for create calls still finishing in the background (their callers went away)."""
        while self._tasks:  # a finishing create announces its result: wait for those too
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _owned(self, user: User, session_id: str) -> WaSession:
        row = await self.get_row(session_id) if isinstance(session_id, str) else None
        if row is None or (row.user_id != user.id and not user.is_admin):
            raise NotFound()
        return row

    async def _read_access(self, action: str, actor: User | None, session_id: str) -> tuple[User, WaSession]:
        """Actor and owned row for a read; a refusal is audited (someone probing ids shows up)."""
        try:
            user = await self.accounts.resolve(actor)
            return user, await self._owned(user, session_id)
        except (AuthError, NotFound) as exc:
            await self._write_audit(action=action, outcome=DENIED, user_id=actor.id if actor is not None else None,
                                    session_id=None, detail=f"{exc} (asked for {str(session_id)[:60]!r})")
            raise

    @contextlib.asynccontextmanager
    async def _action(self, action: str, actor: User | None, session_id: str, *, limit: str | None = None):
        """Resolve the actor, check ownership and the rate limit, time and audit the action."""
        started = time.perf_counter()
        record = _Audit(session_id if isinstance(session_id, str) else None)
        user_id = actor.id if actor is not None else None
        try:
            user = await self.accounts.resolve(actor)
            row = await self._owned(user, session_id)
            if limit is not None:
                await self.limiter.hit(limit, f"user:{user.id}")
            yield user, row, record
        except BaseException as exc:
            if not isinstance(exc, Exception):  # cancelled: nothing more to do here
                raise
            outcome = _outcome_of(exc)
            detail = str(exc) or type(exc).__name__
            session_ref = record.session_id
            if isinstance(exc, (NotFound, AuthError)):
                # Don't attach refused lookups to a session's timeline that its owner sees.
                detail, session_ref = f"{detail} (asked for {str(session_id)[:60]!r})", None
            if not isinstance(exc, CoreError):
                logger.exception("session %s failed: user=%s session=%s", action, user_id, session_id)
            await self._write_audit(action=action, outcome=outcome, user_id=user_id, session_id=session_ref,
                                    detail=detail, duration_ms=(time.perf_counter() - started) * 1000)
            raise
        else:
            await self._write_audit(action=action, outcome=OK, user_id=user_id, session_id=record.session_id,
                                    detail=record.detail, duration_ms=(time.perf_counter() - started) * 1000)

    async def _write_audit(self, **kwargs) -> None:
        try:
            await self.audit.write(**kwargs)
        except Exception:  # the audit must never hide the action's own result
            logger.exception("could not write audit event %s", kwargs.get("action"))
