"""Administration: users, plans, every session, the audit trail, metrics. Admins only."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from sqlmodel import col, select

from wahaweb.core.accounts import Accounts
from wahaweb.core.activity import (
    ActivityFilter,
    ActivityPage,
    activity_actions,
    activity_page,
)
from wahaweb.core.audit import OK, AuditLog
from wahaweb.core.db import Database
from wahaweb.core.errors import NotFound, PermissionDenied, ValidationFailed
from wahaweb.core.models import ROLE_ADMIN, ROLE_USER, AuditEvent, Plan, User, WaSession
from wahaweb.core.plans import list_plans, plan_by_name, usage
from wahaweb.core.status import ACTIVE_STATUSES, ALL_STATUSES


@dataclasses.dataclass(frozen=True)
class UserSummary:
    user: User
    plan_name: str | None
    session_limit: int
    active_sessions: int
    total_sessions: int


@dataclasses.dataclass(frozen=True)
class Metrics:
    """Counts and timings an operator can read without the code (also served by /api/metrics)."""

    users: int
    sessions_by_status: dict[str, int]
    creates_by_outcome: dict[str, int]
    #: Over the most recent `sample` creates (milliseconds).
    create_ms_avg: float | None
    create_ms_p50: float | None
    create_ms_p95: float | None
    create_ms_max: float | None
    sample: int

    def as_json(self) -> dict:
        return dataclasses.asdict(self)


class AdminService:
    def __init__(self, db: Database, accounts: Accounts, audit: AuditLog, *, default_session_limit: int = 10,
                 stop_sessions_of: Callable[[int, str], Awaitable[object]] | None = None) -> None:
        self.db = db
        #: Stops every running session of a user on WAHA (the session service's, passed in).
        self.stop_sessions_of = stop_sessions_of
        self.accounts = accounts
        self.audit = audit
        self.default_session_limit = default_session_limit

    async def _admin(self, actor: User | None) -> User:
        user = await self.accounts.resolve(actor)
        if not user.is_admin:
            raise PermissionDenied()
        return user

    async def list_users(self, actor: User | None) -> list[UserSummary]:
        await self._admin(actor)
        async with self.db.session() as s:
            users = list(await s.exec(select(User).order_by(col(User.created_at), col(User.id))))
            totals: dict[int, int] = dict((await s.exec(
                select(WaSession.user_id, sa.func.count()).group_by(col(WaSession.user_id)))).all())
            result = []
            for user in users:
                u = await usage(s, user, self.default_session_limit)
                assert user.id is not None  # a stored user (usage() asserts it too)
                result.append(UserSummary(user=user, plan_name=u.plan_name, session_limit=u.limit,
                                          active_sessions=u.active, total_sessions=int(totals.get(user.id, 0))))
            return result

    async def plans(self, actor: User | None) -> list[Plan]:
        await self._admin(actor)
        async with self.db.session() as s:
            return await list_plans(s)

    async def set_plan(self, actor: User | None, user_id: int, plan_name: str | None) -> User:
        """Move a user to a plan by name; None (or "") removes the plan (the default limit applies).

        Sessions already active above a smaller limit keep running; new ones are refused.
        """
        admin = await self._admin(actor)
        async with self.db.transaction() as s:
            user = await s.get(User, user_id)
            if user is None:
                raise NotFound("user")
            if plan_name:
                plan = await plan_by_name(s, plan_name)
                if plan is None:
                    raise ValidationFailed("plan", f"There is no plan named {plan_name!r}.")
                user.plan_id = plan.id
                label = plan.name
            else:
                user.plan_id = None
                label = "no plan"
            self.audit.add(s, action="set_plan", outcome=OK, user_id=admin.id, detail=f"user {user_id}: {label}")
        self.accounts.trusted.forget(user_id)
        return user

    async def set_active(self, actor: User | None, user_id: int, active: bool) -> User:
        """Enable or disable an account.

        Disabling revokes its tokens (signed out at once) and stops its sessions on WAHA, so a
        disabled customer's numbers stop working too; re-enabling restarts nothing by itself.
        """
        admin = await self._admin(actor)
        if user_id == admin.id and not active:
            raise ValidationFailed("user", "You cannot disable your own account.")

        def apply(user: User) -> str:
            user.active = active
            return f"user {user_id}"

        user = await self._change_user(admin, user_id, "enable_user" if active else "disable_user", apply)
        if not active:
            await self.accounts.revoke_all(user_id)
            if self.stop_sessions_of is not None:
                await self.stop_sessions_of(user_id, f"account disabled by administrator {admin.id}")
        return user

    async def set_admin(self, actor: User | None, user_id: int, is_admin: bool) -> User:
        admin = await self._admin(actor)
        if user_id == admin.id and not is_admin:
            raise ValidationFailed("user", "You cannot remove your own administrator role.")

        def apply(user: User) -> str:
            user.role = ROLE_ADMIN if is_admin else ROLE_USER
            return f"user {user_id}: {user.role}"

        return await self._change_user(admin, user_id, "set_role", apply)

    async def _change_user(self, admin: User, user_id: int, action: str, apply) -> User:
        """Load the user (NotFound if missing), apply the change, audit it: one transaction."""
        async with self.db.transaction() as s:
            user = await s.get(User, user_id)
            if user is None:
                raise NotFound("user")
            detail = apply(user)
            self.audit.add(s, action=action, outcome=OK, user_id=admin.id, detail=detail)
        self.accounts.trusted.forget(user_id)  # a disabled user, a role taken away: at once
        return user

    async def recent_audit(self, actor: User | None, limit: int = 100, *,
                           action: str | None = None) -> list[AuditEvent]:
        await self._admin(actor)
        return await self.audit.recent(limit, action=action)

    async def activity(self, actor: User | None, flt: ActivityFilter | None = None, *, page: int = 1,
                       per_page: int = 25) -> ActivityPage:
        """The audit trail with e-mails, filtered by user, session and action, one page at a time."""
        await self._admin(actor)
        return await activity_page(self.db, flt or ActivityFilter(), page=page, per_page=per_page)

    async def activity_actions(self, actor: User | None) -> list[str]:
        await self._admin(actor)
        return await activity_actions(self.db)

    async def metrics(self, actor: User | None) -> Metrics:
        await self._admin(actor)
        return await compute_metrics(self.db)


async def compute_metrics(db: Database, sample: int = 500) -> Metrics:
    async with db.session() as s:
        users = int((await s.exec(select(sa.func.count()).select_from(User))).one())
        by_status = {name: 0 for name in ALL_STATUSES}
        for status, count in (await s.exec(
                select(WaSession.status, sa.func.count()).group_by(col(WaSession.status)))).all():
            by_status[status] = int(count)
        outcomes = {outcome: int(count) for outcome, count in (await s.exec(
            select(AuditEvent.outcome, sa.func.count()).where(AuditEvent.action == "create")
            .group_by(col(AuditEvent.outcome)))).all()}
        durations = [float(d) for d in (await s.exec(
            select(col(AuditEvent.duration_ms)).where(AuditEvent.action == "create", AuditEvent.outcome == OK,
                                                      col(AuditEvent.duration_ms).is_not(None))
            .order_by(col(AuditEvent.at).desc()).limit(sample))) if d is not None]
    durations.sort()

    def pct(p: float) -> float | None:
        if not durations:
            return None
        return round(durations[min(len(durations) - 1, int(round(p * (len(durations) - 1))))], 1)

    return Metrics(
        users=users,
        sessions_by_status=by_status,
        creates_by_outcome=outcomes,
        create_ms_avg=round(statistics.fmean(durations), 1) if durations else None,
        create_ms_p50=pct(0.5),
        create_ms_p95=pct(0.95),
        create_ms_max=round(durations[-1], 1) if durations else None,
        sample=len(durations),
    )


__all__ = ["ACTIVE_STATUSES", "ActivityFilter", "ActivityPage", "AdminService", "Metrics", "UserSummary", "compute_metrics"]
