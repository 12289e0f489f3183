"""The session service: every rule about WhatsApp sessions, and the only caller of WAHA for them.

User actions take the acting `User` (or None when signed out) as their first
argument. Each one re-reads the user (signed in, still active), checks the
session belongs to them (an admin may act on any; anyone else gets the same
`NotFound` as for a missing id), applies the per-user rate limit where there is
one, keeps the row and WAHA consistent, and writes one AuditEvent.

System methods (no actor, no rate limit) are for the status engine and webhooks:
`apply_waha_status`, `fetch_qr`, `mark_failed`, `rows_in`, `reconcile_creating`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import re
import time
import unicodedata
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from wahaweb.core import status as st
from wahaweb.core.accounts import DISABLED, Accounts
from wahaweb.core.audit import DENIED, FAILED, OK, REFUSED, AuditLog
from wahaweb.core.clock import Clock, utcnow
from wahaweb.core.db import Database
from wahaweb.core.errors import (
    AuthError,
    CoreError,
    InvalidState,
    NotFound,
    PermissionDenied,
    PlanLimitReached,
    RateLimited,
    ValidationFailed,
    WahaProblem,
)
from wahaweb.core.ids import is_session_id, new_session_id
from wahaweb.core.models import AuditEvent, User, WaSession
from wahaweb.core.plans import count_active, plan_limit
from wahaweb.core.ratelimit import RateLimiter
from wahaweb.waha import QRImage, WahaClient
from wahaweb.waha.errors import (
    WahaAlreadyExists,
    WahaError,
    WahaNotFound,
    WahaUnavailable,
    WahaWrongState,
)

logger = logging.getLogger("wahaweb.core.sessions")

MAX_LABEL_LENGTH = 80
PHONE_RE = re.compile(r"^\+?[0-9]{8,15}$")
#: Metadata keys wahaweb puts on every WAHA session it creates.
META_USER_ID = "wahaweb.user_id"
META_USER_EMAIL = "wahaweb.user_email"
META_SESSION_ID = "wahaweb.session_id"

#: Called with a session name to act as the phone that scans its QR (embedded simulator only).
DemoScan = Callable[[str], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class StatusChange:
    """What `apply_waha_status` did: tell `user_id` (the owner) when `changed`."""

    session_id: str
    user_id: int
    old_status: str
    new_status: str
    waha_status: str | None
    #: The canonical status changed (the phone or push name may change without it).
    changed: bool
    #: The row after the update.
    session: WaSession


@dataclasses.dataclass(frozen=True)
class SessionWithOwner:
    session: WaSession
    owner_email: str


def validate_label(label: str | None) -> str | None:
    """Optional, at most 80 characters, no control characters; blank -> None."""
    if label is None:
        return None
    if not isinstance(label, str):
        raise ValidationFailed("label", "The label must be text.")
    value = " ".join(label.split())
    if not value:
        return None
    if len(value) > MAX_LABEL_LENGTH:
        raise ValidationFailed("label", f"The label must be at most {MAX_LABEL_LENGTH} characters long.")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") for ch in value):
        raise ValidationFailed("label", "The label contains characters that cannot be shown.")
    return value


def validate_phone(phone: str | None) -> str:
    """'+628123456789' or '628123456789' -> '628123456789' (8 to 15 digits)."""
    value = (phone or "").strip()
    if not PHONE_RE.match(value):
        raise ValidationFailed(
            "phone",
            "Enter the phone number in international format: digits only, with an optional + "
            "in front (8 to 15 digits), for example +628123456789.",
        )
    return value.lstrip("+")


def _outcome_of(exc: BaseException) -> str:
    if isinstance(exc, (AuthError, NotFound, PermissionDenied)):
        return DENIED
    if isinstance(exc, (PlanLimitReached, RateLimited, ValidationFailed, InvalidState)):
        return REFUSED
    return FAILED


def _raw_status(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _me_fields(me: Any) -> tuple[str | None, str | None]:
    """(phone as +digits, push name) from a waha Me, a dict, or None."""
    if me is None:
        return None, None
    if isinstance(me, dict):
        me_id, push = me.get("id"), me.get("pushName")
    else:
        me_id, push = getattr(me, "id", None), getattr(me, "pushName", None)
    phone = None
    if me_id:
        digits = re.sub(r"\D", "", str(me_id).split("@", 1)[0].split(":", 1)[0])
        phone = f"+{digits}" if digits else None
    return phone, push


class _Audit:
    """What an action wants recorded when it ends."""

    def __init__(self, session_id: str | None) -> None:
        self.session_id = session_id
        self.detail: str | None = None


class SessionService:
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
    ) -> None:
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

    @property
    def demo_mode(self) -> bool:
        """True when `simulate_scan` is available (embedded simulator)."""
        return self.demo_scan is not None

    # ================================================================ reading
    async def get(self, actor: User | None, session_id: str) -> WaSession:
        """One session of the actor (admin: any). No WAHA call, no rate limit, no audit unless refused."""
        user, row = await self._read_access("get", actor, session_id)
        return row

    async def list(self, actor: User | None) -> list[WaSession]:
        """The actor's own sessions, newest first (admins too: see `list_all`)."""
        user = await self.accounts.resolve(actor)
        async with self.db.session() as s:
            rows = await s.exec(
                select(WaSession).where(WaSession.user_id == user.id)
                .order_by(col(WaSession.created_at).desc(), col(WaSession.id).desc())
            )
            return list(rows)

    async def list_all(self, actor: User | None) -> list[SessionWithOwner]:
        """Every session with its owner's email, newest first. Admins only."""
        user = await self.accounts.resolve(actor)
        if not user.is_admin:
            raise PermissionDenied()
        async with self.db.session() as s:
            rows = await s.exec(
                select(WaSession, User.email).join(User, User.id == WaSession.user_id)
                .order_by(col(WaSession.created_at).desc(), col(WaSession.id).desc())
            )
            return [SessionWithOwner(session=row, owner_email=email) for row, email in rows]

    async def history(self, actor: User | None, session_id: str, limit: int = 50) -> list[AuditEvent]:
        """Audit events of one session, newest first (status changes and actions)."""
        await self._read_access("history", actor, session_id)
        return await self.audit.for_session(session_id, limit)

    # ================================================================ create
    async def create(self, actor: User | None, label: str | None = None, *,
                     on_reserved: Callable[[WaSession], Awaitable[None]] | None = None) -> WaSession:
        """Reserve a session and have WAHA create and start it; returns as soon as WAHA accepted.

        `on_reserved(row)` (optional) is awaited as soon as the row exists in `creating`,
        while WAHA is being asked (the UI navigates to the session page then).

        Order: signed in and active -> rate limit (create, 5/min) -> plan limit and
        reservation under the per-user lock -> WAHA create (start, metadata, webhook)
        -> `starting`. Raises PlanLimitReached, RateLimited, ValidationFailed,
        AuthError, or WahaProblem (the row is then `failed` with the reason and no
        longer counts toward the limit).
        """
        started = time.perf_counter()
        user_id = actor.id if actor is not None else None
        session_id: str | None = None
        outcome, detail = FAILED, None
        try:
            user = await self.accounts.resolve(actor)
            label = validate_label(label)
            await self.limiter.hit("create", f"user:{user.id}")
            row = await self._reserve_new(user, label)
            session_id = row.id
            # Shielded: if the caller goes away (tab closed), the WAHA call and the row
            # update still finish, so no row is left in `creating` and no WAHA session orphaned.
            task = asyncio.ensure_future(self._create_on_waha(user, row))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            if on_reserved is not None:
                # The UI moves to the session page now; WAHA's answer arrives through the feed.
                # Started after the WAHA task, and guarded, so it can neither delay nor break the create.
                try:
                    await on_reserved(row)
                except Exception:
                    logger.exception("on_reserved callback failed for session %s", row.id)
            row, detail = await asyncio.shield(task)
            outcome = OK
            return row
        except BaseException as exc:
            outcome, detail = _outcome_of(exc), str(exc) or type(exc).__name__
            raise
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            logger.info(
                "session.create outcome=%s user=%s session=%s execution_time_ms=%.1f%s",
                outcome, user_id, session_id, elapsed_ms, f" detail={detail!r}" if detail else "",
                extra={"event": "session.create", "outcome": outcome, "user": user_id, "session": session_id,
                       "execution_time_ms": round(elapsed_ms, 1)},
            )
            await self._write_audit(action="create", outcome=outcome, user_id=user_id, session_id=session_id,
                                    detail=detail, duration_ms=elapsed_ms)

    async def _reserve_new(self, user: User, label: str | None) -> WaSession:
        assert user.id is not None
        async with self.db.locked_write(lock_user_id=user.id) as s:
            fresh = await s.get(User, user.id)
            if fresh is None or not fresh.active:
                raise AuthError(DISABLED)
            plan_name, limit = await plan_limit(s, fresh, self.default_session_limit)
            active = await count_active(s, user.id)
            if active >= limit:
                raise PlanLimitReached(plan_name, limit, active)
            session_id = new_session_id(user.id, self.clock)
            while await s.get(WaSession, session_id) is not None:  # pragma: no cover - 62 random bits
                session_id = new_session_id(user.id, self.clock)
            now = self.clock()
            row = WaSession(id=session_id, user_id=user.id, label=label, status=st.CREATING, created_at=now,
                            updated_at=now, status_changed_at=now, status_seen_at=now)
            s.add(row)
        return row

    async def _create_on_waha(self, user: User, row: WaSession) -> tuple[WaSession, str | None]:
        """WAHA create for a reserved row -> (row, audit detail). Raises WahaProblem after marking it failed."""
        try:
            dto = await asyncio.wait_for(self._waha_create(user, row.id), self.create_timeout)
        except (TimeoutError, WahaUnavailable, WahaAlreadyExists) as exc:
            # The outcome is unknown (or WAHA says it exists): WAHA may have made it.
            problem = exc if isinstance(exc, WahaError) else WahaUnavailable(
                f"WAHA did not answer the create request within {self.create_timeout:g} seconds.")
            return await self._adopt_or_fail(user, row, problem)
        except WahaError as exc:
            await self.mark_failed(row.id, str(exc), source="create")
            raise WahaProblem(exc) from exc
        if not self._is_ours(dto, user, row.id):
            await self.mark_failed(row.id, "A different session with this name already exists on WAHA.",
                                   source="create")
            raise InvalidState("A session with this name already exists on WAHA. Please try again.")
        return await self._finish_create(row.id, dto), None

    async def _waha_create(self, user: User, session_id: str):
        dto = await self.waha.create_session(session_id, start=True, metadata=self._metadata(user, session_id),
                                             webhooks=await self._webhooks())
        if _raw_status(dto.status) == "STOPPED":  # a server that ignored `start`
            started = await self.waha.start_session(session_id)
            if started is not None:
                dto = started
        return dto

    async def _adopt_or_fail(self, user: User, row: WaSession, problem: WahaError) -> tuple[WaSession, str | None]:
        """After a create whose outcome is unknown: adopt WAHA's session if it is there, else fail the row."""
        try:
            info = await self.waha.get_session(row.id)
        except WahaNotFound:
            await self.mark_failed(row.id, str(problem), source="create")
            raise WahaProblem(problem) from problem
        except WahaError as exc:
            await self.mark_failed(row.id, str(problem), source="create")
            raise WahaProblem(problem) from exc
        if not self._is_ours(info, user, row.id):
            await self.mark_failed(row.id, "A different session with this name already exists on WAHA.",
                                   source="create")
            raise InvalidState("A session with this name already exists on WAHA. Please try again.")
        logger.warning("session %s: create call failed (%s) but WAHA has the session; adopted", row.id, problem)
        return await self._finish_create(row.id, info), f"adopted after: {problem}"

    async def _apply_own(self, session_id: str, waha_status: Any, **kwargs: Any) -> WaSession | None:
        """Store what WAHA answered to our own call; the row after it, or None if the row is gone.

        If a newer observation (a webhook, the watcher) was applied meanwhile, ours is older
        and ignored: the row as it stands is returned.
        """
        change = await self.apply_waha_status(session_id, waha_status, **kwargs)
        if change is not None:
            return change.session
        return await self.get_row(session_id)

    async def _finish_create(self, session_id: str, dto: Any) -> WaSession:
        row = await self._apply_own(session_id, dto.status, me=getattr(dto, "me", None), source="create")
        if row is None:
            # The row was deleted while WAHA was creating the session: don't leave it orphaned there.
            with contextlib.suppress(WahaError):
                await self.waha.delete_session(session_id)
            raise InvalidState("The session was deleted while it was being created.")
        return row

    def _is_ours(self, dto: Any, user: User, session_id: str) -> bool:
        config = getattr(dto, "config", None)
        metadata = (getattr(config, "metadata", None) or {}) if config is not None else {}
        owner = metadata.get(META_SESSION_ID)
        return owner is None or owner == session_id

    def _metadata(self, user: User, session_id: str) -> dict[str, str]:
        return {META_USER_ID: str(user.id), META_USER_EMAIL: user.email, META_SESSION_ID: session_id}

    async def _webhooks(self) -> list[dict[str, Any]] | None:
        if not self.webhook_url:
            return None
        secret = self._webhook_secret
        if callable(secret):
            secret = await secret()
        hook: dict[str, Any] = {"url": self.webhook_url, "events": ["session.status"]}
        if secret:
            hook["hmac"] = {"key": secret}
        return [hook]

    # ======================================================= lifecycle actions
    async def start(self, actor: User | None, session_id: str) -> WaSession:
        """Start a session. From `stopped` or `failed` it passes the plan limit again."""
        async with self._action("start", actor, session_id) as (user, row, _):
            return await self._bring_up(user, row, "start")

    async def restart(self, actor: User | None, session_id: str) -> WaSession:
        """Restart a session. From `stopped` or `failed` it passes the plan limit again."""
        async with self._action("restart", actor, session_id) as (user, row, _):
            return await self._bring_up(user, row, "restart")

    async def _bring_up(self, user: User, row: WaSession, action: str) -> WaSession:
        row, previous = await self._reserve_existing(row.id, action)
        try:
            if action == "restart" or previous == st.FAILED or row.waha_status == "FAILED":
                # WAHA counts a FAILED session as running: `start` would say "already started".
                dto = await self.waha.restart_session(row.id)
            else:
                dto = await self.waha.start_session(row.id)
                if dto is None:  # already running
                    dto = await self.waha.get_session(row.id)
        except WahaNotFound:
            # Gone from WAHA (deleted there, or never made): create it again under the same name.
            dto = await self._recreate(row)
        except WahaError as exc:
            await self._undo_reservation(row.id, previous, str(exc))
            raise WahaProblem(exc) from exc
        fresh = await self._apply_own(row.id, dto.status, me=getattr(dto, "me", None), source=action)
        if fresh is None:
            raise NotFound()
        return fresh

    async def _recreate(self, row: WaSession) -> Any:
        owner = await self.accounts.get_user(row.user_id)
        assert owner is not None
        try:
            return await self._waha_create(owner, row.id)
        except WahaAlreadyExists:
            return await self.waha.get_session(row.id)
        except WahaError as exc:
            await self.mark_failed(row.id, str(exc), source="start")
            raise WahaProblem(exc) from exc

    async def stop(self, actor: User | None, session_id: str) -> WaSession:
        """Stop the session on WAHA (a session already gone there is fine) -> `stopped`."""
        async with self._action("stop", actor, session_id) as (user, row, _):
            try:
                dto = await self.waha.stop_session(row.id)
            except WahaError as exc:
                raise WahaProblem(exc) from exc
            change = await self.apply_waha_status(row.id, dto.status if dto is not None else "STOPPED",
                                                  source="stop", force=True)
            if change is None:
                raise NotFound()
            return change.session

    async def logout(self, actor: User | None, session_id: str) -> WaSession:
        """Unlink the phone. WAHA restarts a running session for a new QR; a stopped one stays stopped.

        A `failed` session is running for WAHA, so it comes back up and passes the plan limit first.
        """
        async with self._action("logout", actor, session_id) as (user, row, _):
            previous = None
            if row.status == st.FAILED:
                row, previous = await self._reserve_existing(row.id, "logout")
            try:
                dto = await self.waha.logout_session(row.id)
                new_status: Any = dto.status
            except WahaNotFound:
                new_status = None
            except WahaError as exc:
                if previous is not None:
                    await self._undo_reservation(row.id, previous, str(exc))
                raise WahaProblem(exc) from exc
            if new_status is None:
                change = await self.mark_failed(row.id, "The session no longer exists on WAHA; start it again "
                                                "to create it anew.", source="logout", clear_phone=True)
            else:
                change = await self.apply_waha_status(row.id, new_status, source="logout", force=True,
                                                      clear_phone=True)
            if change is None:
                raise NotFound()
            return change.session

    async def delete(self, actor: User | None, session_id: str) -> None:
        """Delete on WAHA (already gone there is fine), then the row. Its audit events stay."""
        async with self._action("delete", actor, session_id) as (user, row, _):
            try:
                await self.waha.delete_session(row.id)
            except WahaError as exc:
                raise WahaProblem(exc) from exc
            async with self.db.transaction() as s:
                await s.exec(sa.delete(WaSession).where(WaSession.id == row.id))

    # ============================================================ status, QR
    async def status(self, actor: User | None, session_id: str) -> WaSession:
        """Ask WAHA for the session's status now (rate limit: status, 30/min) and store it."""
        async with self._action("status", actor, session_id, limit="status") as (user, row, _):
            return await self._refresh(row)

    async def _refresh(self, row: WaSession) -> WaSession:
        try:
            info = await self.waha.get_session(row.id)
        except WahaNotFound:
            if row.status == st.CREATING:  # WAHA has not been asked yet
                return row
            change = await self.mark_failed(row.id, "The session no longer exists on WAHA.", source="status")
            if change is None:
                raise NotFound() from None
            return change.session
        except WahaError as exc:
            raise WahaProblem(exc) from exc
        fresh = await self._apply_own(row.id, info.status, me=info.me, source="status")
        if fresh is None:
            raise NotFound()
        return fresh

    async def qr(self, actor: User | None, session_id: str) -> QRImage:
        """The current QR code (rate limit: QR, 10/min). `.data_url` goes straight into an <img>."""
        async with self._action("qr", actor, session_id, limit="qr") as (user, row, _):
            return await self._qr(row)

    async def fetch_qr(self, session_id: str) -> QRImage:
        """System: the current QR for the status engine (no actor, no rate limit)."""
        row = await self.get_row(session_id)
        if row is None:
            raise NotFound()
        return await self._qr(row)

    async def _qr(self, row: WaSession) -> QRImage:
        if row.status not in (st.CREATING, st.STARTING, st.PAIRING):
            raise InvalidState(f"There is no QR code to scan: the session is {row.status}.")
        try:
            return await self.waha.get_qr(row.id)
        except WahaWrongState as exc:
            if exc.current_status:
                await self.apply_waha_status(row.id, exc.current_status, source="qr")
            now = st.canonical_status(exc.current_status) if exc.current_status else "not pairing"
            raise InvalidState(f"There is no QR code to scan: the session is {now}.") from exc
        except WahaError as exc:
            raise WahaProblem(exc) from exc

    async def request_pairing_code(self, actor: User | None, session_id: str, phone: str) -> str:
        """A code to type on the phone instead of scanning ("ABCD-EFGH"). Phone: +, then 8-15 digits."""
        async with self._action("pairing_code", actor, session_id) as (user, row, audit):
            digits = validate_phone(phone)
            await self.limiter.hit("pairing_code", f"user:{user.id}")
            if row.status not in (st.STARTING, st.PAIRING):
                raise InvalidState(f"A pairing code can be requested only while pairing; the session is {row.status}.")
            try:
                code = await self.waha.request_pairing_code(row.id, digits)
            except WahaWrongState as exc:
                raise InvalidState("A pairing code can be requested only while the QR code is shown.") from exc
            except WahaError as exc:
                raise WahaProblem(exc) from exc
            audit.detail = f"phone ending {digits[-4:]}"
            return code

    async def wait_for_status(self, actor: User | None, session_id: str, targets: Iterable[str], *,
                              max_wait: float = 3.0, interval: float = 0.3) -> WaSession:
        """Poll WAHA every `interval` s, at most `max_wait` s; return the moment a target is reached.

        `targets` are canonical statuses (`pairing`) or WAHA's (`SCAN_QR_CODE`). Returns the
        row as last seen (check `.status`: on timeout it is not a target). The replacement
        for fixed sleeps; not rate limited (it is wahaweb's own polling, bounded by max_wait).
        """
        user, row = await self._read_access("wait_for_status", actor, session_id)
        wanted = {t if t in st.ALL_STATUSES else st.canonical_status(t) for t in targets}
        deadline = self.monotonic() + max_wait
        while True:
            row = await self._refresh(row)
            if row.status in wanted:
                return row
            remaining = deadline - self.monotonic()
            if remaining <= 1e-6:  # (float sums of the interval land a hair short of max_wait)
                return row
            await self.sleep(min(interval, remaining))

    async def simulate_scan(self, actor: User | None, session_id: str) -> WaSession:
        """Demo mode only: act as the phone that scans the current QR."""
        async with self._action("simulate_scan", actor, session_id) as (user, row, _):
            if self.demo_scan is None:
                raise InvalidState("Simulating a phone scan is only possible with the built-in WAHA simulator.")
            await self.demo_scan(row.id)
            return await self._refresh(row)

    # ================================================== system (status engine)
    async def stop_all_of_user(self, user_id: int, reason: str) -> list[StatusChange]:
        """System: stop every running session of a user on WAHA (a disabled account), audited.

        Rows stay (re-enabling starts nothing by itself); a session WAHA cannot stop right
        now is still marked stopped here, and the failure is in the audit trail.
        """
        async with self.db.session() as s:
            rows = list(await s.exec(select(WaSession).where(
                WaSession.user_id == user_id, col(WaSession.status).in_(list(st.ACTIVE_STATUSES)))))
        changes = []
        for row in rows:
            outcome, detail = OK, reason
            try:
                await self.waha.stop_session(row.id)
            except WahaError as exc:
                outcome, detail = FAILED, f"{reason}; WAHA: {exc}"
            change = await self.apply_waha_status(row.id, "STOPPED", source="account_disabled", force=True)
            await self._write_audit(action="stop", outcome=outcome, user_id=None, session_id=row.id, detail=detail)
            if change is not None:
                changes.append(change)
        return changes

    async def get_row(self, session_id: str) -> WaSession | None:
        """System: a session row by id, no ownership check."""
        if not is_session_id(session_id):
            return None
        async with self.db.session() as s:
            return await s.get(WaSession, session_id)

    async def rows_in(self, statuses: Iterable[str] | None = None) -> list[WaSession]:
        """System: every row (optionally only in `statuses`), oldest first."""
        stmt = select(WaSession)
        if statuses is not None:
            stmt = stmt.where(col(WaSession.status).in_(list(statuses)))
        async with self.db.session() as s:
            return list(await s.exec(stmt.order_by(col(WaSession.created_at), col(WaSession.id))))

    async def apply_waha_status(
        self,
        session_id: str,
        waha_status: Any,
        *,
        at: dt.datetime | None = None,
        event_id: str | None = None,
        me: Any = None,
        source: str = "watcher",
        error: str | None = None,
        force: bool = False,
        clear_phone: bool = False,
    ) -> StatusChange | None:
        """System: store a WAHA status for a session; returns who to notify, or None.

        None when the session is unknown, or the observation is stale (`at` older than
        the newest applied one) or a replay of the last applied `event_id`. `at`
        defaults to now (the core clock); webhooks pass the event's time. `me`
        (WAHA's Me or its dict) sets the phone and push name when connected. A
        change of the canonical status writes an AuditEvent (`status`, by the system).
        """
        raw = _raw_status(waha_status)
        new = st.canonical_status(raw)
        now = self.clock()
        at = at or now
        async with self.db.transaction() as s:
            row = await s.get(WaSession, session_id, with_for_update=True)
            if row is None:
                return None
            if event_id is not None and row.last_event_id == event_id:
                return None
            if not force and row.status_seen_at is not None and at < row.status_seen_at:
                return None
            old = row.status
            row.status = new
            row.waha_status = raw
            row.updated_at = now
            row.status_seen_at = at if row.status_seen_at is None else max(at, row.status_seen_at)
            if event_id is not None:
                row.last_event_id = event_id
            phone, push_name = _me_fields(me)
            if clear_phone:
                row.phone = row.push_name = None
                row.connected_at = None
            if new == st.CONNECTED:
                if phone:
                    row.phone = phone
                if push_name:
                    row.push_name = push_name
                if old != st.CONNECTED or row.connected_at is None:
                    row.connected_at = at
            elif new == st.PAIRING:
                # Asking for a QR again means the phone is not linked any more.
                row.phone = row.push_name = None
                row.connected_at = None
            if new == st.FAILED:
                row.last_error = error or row.last_error or "WAHA reports the session as failed."
            elif new in st.ACTIVE_STATUSES:
                row.last_error = None
            changed = old != new
            if changed:
                row.status_changed_at = at
                self.audit.add(s, action="status", outcome=OK, user_id=None, session_id=session_id,
                               detail=f"{old} -> {new} (WAHA {raw}, {source})" + (f": {error}" if error else ""))
        return StatusChange(session_id=session_id, user_id=row.user_id, old_status=old, new_status=new,
                            waha_status=raw, changed=changed, session=row)

    async def mark_failed(self, session_id: str, reason: str, *, source: str = "system",
                          clear_phone: bool = False) -> StatusChange | None:
        """System: put a session in `failed` with `reason` (frees its plan slot)."""
        now = self.clock()
        async with self.db.transaction() as s:
            row = await s.get(WaSession, session_id, with_for_update=True)
            if row is None:
                return None
            old = row.status
            row.status = st.FAILED
            row.last_error = reason
            row.updated_at = now
            row.status_seen_at = now if row.status_seen_at is None else max(now, row.status_seen_at)
            if clear_phone:
                row.phone = row.push_name = None
                row.connected_at = None
            if old != st.FAILED:
                row.status_changed_at = now
                self.audit.add(s, action="status", outcome=FAILED, user_id=None, session_id=session_id,
                               detail=f"{old} -> failed ({source}): {reason}")
        return StatusChange(session_id=session_id, user_id=row.user_id, old_status=old, new_status=st.FAILED,
                            waha_status=row.waha_status, changed=old != st.FAILED, session=row)

    async def auto_restart(self, session_id: str, reason: str) -> StatusChange | None:
        """System: restart an active session on WAHA (e.g. stuck in STARTING); counts `auto_restarts`.

        Only for sessions that already hold a plan slot (`creating`/`starting`/`pairing`/
        `connected`), so it cannot bypass the limit; the counter resets on the next user
        start/restart. Returns None for an unknown session.
        """
        row = await self.get_row(session_id)
        if row is None:
            return None
        if row.status not in st.ACTIVE_STATUSES:
            raise InvalidState(f"Only an active session can be restarted automatically; it is {row.status}.")
        try:
            dto = await self.waha.restart_session(session_id)
        except WahaNotFound:
            return await self.mark_failed(session_id, "The session no longer exists on WAHA.", source="auto-restart")
        except WahaError as exc:
            raise WahaProblem(exc) from exc
        async with self.db.transaction() as s:
            fresh = await s.get(WaSession, session_id, with_for_update=True)
            if fresh is None:
                return None
            fresh.auto_restarts += 1
            self.audit.add(s, action="auto_restart", outcome=OK, user_id=None, session_id=session_id, detail=reason)
        return await self.apply_waha_status(session_id, dto.status, source="auto-restart", force=True)

    async def reconcile_creating(self, older_than: float = 60.0) -> list[StatusChange]:
        """System: rows stuck in `creating` (e.g. the process died mid-create) are adopted or failed."""
        cutoff = self.clock() - dt.timedelta(seconds=older_than)
        changes: list[StatusChange] = []
        for row in await self.rows_in([st.CREATING]):
            if row.created_at > cutoff:
                continue
            try:
                info = await self.waha.get_session(row.id)
            except WahaNotFound:
                change = await self.mark_failed(row.id, "The session was never created on WAHA.",
                                                source="reconcile")
            except WahaError:
                continue  # WAHA unreachable: try again on the next round
            else:
                change = await self.apply_waha_status(row.id, info.status, me=info.me, source="reconcile")
            if change is not None:
                changes.append(change)
        return changes

    async def aclose(self) -> None:
        """Wait for create calls still finishing in the background (their callers went away)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # ============================================================== internals
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

    async def _reserve_existing(self, session_id: str, action: str) -> tuple[WaSession, str | None]:
        """For start/restart: an inactive row passes the plan limit again and becomes `starting`.

        Returns (row, previous status if it was reserved, else None).
        """
        row = await self.get_row(session_id)
        if row is None:
            raise NotFound()
        if row.status not in st.INACTIVE_STATUSES:
            return row, None
        async with self.db.locked_write(lock_user_id=row.user_id) as s:
            row = await s.get(WaSession, session_id, with_for_update=True)
            if row is None:
                raise NotFound()
            if row.status not in st.INACTIVE_STATUSES:
                return row, None
            owner = await s.get(User, row.user_id)
            assert owner is not None
            plan_name, limit = await plan_limit(s, owner, self.default_session_limit)
            active = await count_active(s, row.user_id, exclude=row.id)
            if active >= limit:
                raise PlanLimitReached(plan_name, limit, active)
            previous = row.status
            now = self.clock()
            row.status = st.STARTING
            row.last_error = None
            row.auto_restarts = 0
            row.updated_at = row.status_changed_at = now
            row.status_seen_at = now if row.status_seen_at is None else max(now, row.status_seen_at)
            self.audit.add(s, action="status", outcome=OK, user_id=None, session_id=session_id,
                           detail=f"{previous} -> {st.STARTING} ({action})")
        return row, previous

    async def _undo_reservation(self, session_id: str, previous: str | None, reason: str) -> None:
        """WAHA refused or was unreachable after a reservation: back to the inactive state, slot freed."""
        if previous is None:
            return
        now = self.clock()
        async with self.db.transaction() as s:
            row = await s.get(WaSession, session_id, with_for_update=True)
            if row is not None and row.status == st.STARTING:
                row.status = previous
                row.last_error = reason
                row.updated_at = row.status_changed_at = now
                self.audit.add(s, action="status", outcome=FAILED, user_id=None, session_id=session_id,
                               detail=f"{st.STARTING} -> {previous} (WAHA did not start it): {reason}")

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
