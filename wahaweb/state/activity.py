"""/admin's activity list: who (by e-mail) did what, with detail and duration apart; filtered, paged.

A substate of AdminState, so it shares the admin check and the user list, and lives in its
own module so the activity list can change without touching the rest of the admin page.
Handlers re-check the admin on every call (`_admin`); every public handler here is an
authorization boundary (decorate each with `@admin_only` from wahaweb/state/guard.py).
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from wahaweb.core.activity import ActivityFilter, ActivityItem
from wahaweb.core.errors import CoreError
from wahaweb.core.models import User
from wahaweb.runtime import get_core
from wahaweb.state.admin import AdminState

ALL = "all"
PER_PAGE = 25
SYSTEM = "system"


@dataclasses.dataclass
class ActivityRow:
    at: str = ""
    user: str = ""
    action: str = ""
    outcome: str = ""
    session_id: str = ""
    detail: str = ""
    duration: str = ""

    @classmethod
    def of(cls, item: ActivityItem) -> ActivityRow:
        e = item.event
        who = item.user_email or (SYSTEM if e.user_id is None else f"user {e.user_id} (removed)")
        return cls(at=e.at.isoformat(), user=who, action=e.action, outcome=e.outcome, session_id=e.session_id or "",
                   detail=e.detail or "", duration=f"{e.duration_ms:.0f} ms" if e.duration_ms is not None else "")


def _user_id(value: str) -> int | None:
    """The filter's user (a user id as text), None for everyone; anything else is ignored."""
    return int(value) if value.isdigit() else None


class ActivityState(AdminState):
    activity: list[ActivityRow] = []
    #: Filter values as the form shows them ("all" = no filter).
    activity_user: str = ALL
    activity_session: str = ""
    activity_action: str = ALL
    activity_actions: list[str] = [ALL]
    activity_page: int = 1
    activity_pages: int = 1
    activity_total: int = 0

    def _filter(self) -> ActivityFilter:
        return ActivityFilter(user_id=_user_id(self.activity_user), session=self.activity_session or None,
                              action=None if self.activity_action == ALL else self.activity_action)

    async def _fetch(self, user: User) -> None:
        core = await get_core()
        try:
            page = await core.admin.activity(user, self._filter(), page=self.activity_page, per_page=PER_PAGE)
        except CoreError as exc:
            self.admin_notice = str(exc)
            return
        if page.page > page.pages:  # the filter shrank the list: back to its last page
            self.activity_page = page.pages
            page = await core.admin.activity(user, self._filter(), page=self.activity_page, per_page=PER_PAGE)
        self.activity = [ActivityRow.of(item) for item in page.items]
        self.activity_total, self.activity_pages = page.total, page.pages
        self.activity_actions = [ALL, *await core.admin.activity_actions(user)]

    @rx.event
    async def load_activity(self):
        user = await self._admin()
        if user is not None:
            await self._fetch(user)

    @rx.event
    async def filter_activity(self, form: dict):
        """The filter form: user (id or "all"), session (part of an id), action (name or "all")."""
        user = await self._admin()
        if user is None:
            return
        self.activity_user = str(form.get("user") or ALL)[:20]
        self.activity_session = str(form.get("session") or "").strip()[:54]
        self.activity_action = str(form.get("action") or ALL)[:40]
        self.activity_page = 1
        await self._fetch(user)

    @rx.event
    async def turn_activity_page(self, delta: int):
        """Previous (-1) or next (+1) page, kept within 1..pages."""
        user = await self._admin()
        if user is None:
            return
        step = 1 if str(delta).strip().isdigit() and int(delta) > 0 else -1  # any input is just a direction
        self.activity_page = min(max(1, self.activity_page + step), max(1, self.activity_pages))
        await self._fetch(user)
