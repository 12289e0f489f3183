"""The admin's activity list: audit events with the acting user's e-mail, filtered and paged.

The audit table keeps user ids (events outlive users' changes and sessions); an operator
reads e-mails. One query joins them (outer join: the system has no user, and an event of
a deleted user still shows), filters by user, session and action, and pages newest first
with a total, so the page can say "page 2 of 7" without loading the trail.
"""

from __future__ import annotations

import dataclasses
import math

import sqlalchemy as sa
from sqlmodel import col, select

from wahaweb.core.db import Database
from wahaweb.core.errors import ValidationFailed
from wahaweb.core.models import AuditEvent, User

MAX_PER_PAGE = 200


@dataclasses.dataclass(frozen=True)
class ActivityFilter:
    """Empty fields do not filter. `session` matches part of a session id."""

    user_id: int | None = None
    session: str | None = None
    action: str | None = None


@dataclasses.dataclass(frozen=True)
class ActivityItem:
    event: AuditEvent
    #: The acting user's e-mail; None for the system (status engine, webhooks) or a removed user.
    user_email: str | None


@dataclasses.dataclass(frozen=True)
class ActivityPage:
    items: list[ActivityItem]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """At least 1, so "page 1 of 1" reads right on an empty list."""
        return max(1, math.ceil(self.total / self.per_page))


def _where(stmt, flt: ActivityFilter):
    if flt.user_id is not None:
        stmt = stmt.where(AuditEvent.user_id == flt.user_id)
    if flt.session:
        stmt = stmt.where(col(AuditEvent.session_id).contains(flt.session.strip(), autoescape=True))
    if flt.action:
        stmt = stmt.where(AuditEvent.action == flt.action)
    return stmt


async def activity_page(db: Database, flt: ActivityFilter, *, page: int = 1, per_page: int = 25) -> ActivityPage:
    """One page (1-based) of matching events, newest first. A page past the end is empty."""
    if page < 1:
        raise ValidationFailed("page", "The page number starts at 1.")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationFailed("per_page", f"Show between 1 and {MAX_PER_PAGE} events a page.")
    rows_stmt = _where(select(AuditEvent, User.email).join(User, col(User.id) == AuditEvent.user_id, isouter=True), flt)
    count_stmt = _where(select(sa.func.count()).select_from(AuditEvent), flt)
    async with db.session() as s:
        total = int((await s.exec(count_stmt)).one())
        rows = await s.exec(rows_stmt.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
                            .offset((page - 1) * per_page).limit(per_page))
        items = [ActivityItem(event=event, user_email=email) for event, email in rows]
    return ActivityPage(items=items, total=total, page=page, per_page=per_page)


async def activity_actions(db: Database) -> list[str]:
    """Every action name in the trail, for the filter's choices."""
    async with db.session() as s:
        return sorted(a for a in await s.exec(select(AuditEvent.action).distinct()) if a)
