"""Plans and their session limits."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from wahaweb.core.models import Plan, User, WaSession
from wahaweb.core.status import ACTIVE_STATUSES

#: The meter's plan name for a user with no plan (the UI translates it).
NO_PLAN_LABEL = "No plan"


@dataclasses.dataclass(frozen=True)
class Usage:
    """What the plan meter shows: `active / limit`, and the plan's name."""

    active: int
    limit: int
    #: None when the user has no plan (the default limit applies).
    plan_name: str | None

    @property
    def plan_label(self) -> str:
        return self.plan_name or NO_PLAN_LABEL

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.active)

    @property
    def text(self) -> str:
        return f"{self.active} / {self.limit}"


async def plan_limit(session: AsyncSession, user: User, default_limit: int) -> tuple[str | None, int]:
    """(plan name, session limit) for `user`; no plan -> (None, default_limit)."""
    if user.plan_id is None:
        return None, default_limit
    plan = await session.get(Plan, user.plan_id)
    if plan is None:
        return None, default_limit
    return plan.name, plan.session_limit


@dataclasses.dataclass(frozen=True)
class Standing:
    """What a create checks under its lock: the user still active, his plan's limit, his active sessions."""

    user_active: bool
    plan_name: str | None
    limit: int
    active: int


def _standings_statement() -> Any:
    """Built once: a select built anew costs more CPU than its execution (and its cache key with it)."""
    user_ids: Any = sa.bindparam("user_ids", expanding=True)
    active = (select(sa.func.count()).select_from(WaSession)
              .where(WaSession.user_id == User.id, col(WaSession.status).in_(ACTIVE_STATUSES))
              .correlate(User).scalar_subquery())
    return (select(User.id, User.active, Plan.name, Plan.session_limit, active)  # type: ignore[call-overload]
            .select_from(User).outerjoin(Plan, col(Plan.id) == col(User.plan_id))
            .where(col(User.id).in_(user_ids)))


_STANDINGS = _standings_statement()


async def standings(session: AsyncSession, user_ids: Iterable[int], default_limit: int) -> dict[int, Standing]:
    """Each user's standing, in one statement however many users (a user who does not exist is left out).

    The three reads of the plan-limit check (active, plan limit, active sessions), for a whole batch of
    reservations (`wahaweb.core.batches`): inside the create's lock every statement is a
    turn of the event loop while every other create waits (SQLite: the one writer; PostgreSQL: run after
    the users' row locks, so its snapshot includes whatever the previous holders committed). Same
    answers as `plan_limit` + `count_active`.
    """
    found: dict[int, Standing] = {}
    for user_id, user_active, plan_name, limit, count in await session.exec(
            _STANDINGS, params={"user_ids": sorted(set(user_ids))}):
        if plan_name is None:
            found[int(user_id)] = Standing(bool(user_active), None, default_limit, int(count))
        else:
            found[int(user_id)] = Standing(bool(user_active), plan_name, int(limit), int(count))
    return found


async def count_active(session: AsyncSession, user_id: int, *, exclude: str | None = None) -> int:
    stmt = select(sa.func.count()).select_from(WaSession).where(
        WaSession.user_id == user_id, col(WaSession.status).in_(ACTIVE_STATUSES)
    )
    if exclude is not None:
        stmt = stmt.where(WaSession.id != exclude)
    return int((await session.exec(stmt)).one())


async def usage(session: AsyncSession, user: User, default_limit: int) -> Usage:
    name, limit = await plan_limit(session, user, default_limit)
    assert user.id is not None
    return Usage(active=await count_active(session, user.id), limit=limit, plan_name=name)


async def list_plans(session: AsyncSession) -> list[Plan]:
    return list(await session.exec(select(Plan).order_by(col(Plan.session_limit), col(Plan.name))))


async def plan_by_name(session: AsyncSession, name: str) -> Plan | None:
    return (await session.exec(select(Plan).where(sa.func.lower(Plan.name) == name.strip().lower()))).first()
