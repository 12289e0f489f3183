"""/admin's activity list: who (by e-mail) did what, with detail and duration apart; filtered, paged.

A substate of AdminState (it shares the user list for the filter) in its own module, so the
activity list can change without touching the rest of the admin page. Each filter control
sends one plain string (the user's id or "all", part of a session id, an action or "all"),
and paging sends one int, so every handler fits the event guard's argument rules.

Authorization: every public handler takes the verified admin as `user`, injected by
`_admin_handler` below. That decorator is a stand-in with the contract of
`wahaweb.state.guard.guarded(admin=True)`, which this branch does not have yet: once it
does, replace each `@guarded(admin=True)` by `@guarded(admin=True)` (one line each) and delete
the stand-in.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from wahaweb.core.activity import ActivityFilter, ActivityItem
from wahaweb.core.errors import CoreError
from wahaweb.core.models import User
from wahaweb.i18n import error_text
from wahaweb.state.admin import AdminState
from wahaweb.state.context import app_core
from wahaweb.state.guard import guarded

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


class ActivityState(AdminState):
    activity: list[ActivityRow] = []
    #: Filter values as the controls show them ("all" = no filter).
    activity_user: str = ALL
    activity_session: str = ""
    activity_action: str = ALL
    activity_actions: list[str] = [ALL]
    activity_page: int = 1
    activity_pages: int = 1
    activity_total: int = 0

    def _filter(self) -> ActivityFilter:
        who = self.activity_user
        return ActivityFilter(user_id=int(who) if who.isdigit() else None, session=self.activity_session or None,
                              action=None if self.activity_action == ALL else self.activity_action)

    async def _fetch(self, user: User) -> None:
        core = app_core()
        try:
            page = await core.admin.activity(user, self._filter(), page=self.activity_page, per_page=PER_PAGE)
            if page.page > page.pages:  # the list shrank under this page: show its last page
                self.activity_page = page.pages
                page = await core.admin.activity(user, self._filter(), page=self.activity_page, per_page=PER_PAGE)
            actions = await core.admin.activity_actions(user)
        except CoreError as exc:
            self.admin_notice = error_text(self.lang, exc)
            return
        self.activity = [ActivityRow.of(item) for item in page.items]
        self.activity_total, self.activity_pages = page.total, page.pages
        self.activity_actions = [ALL, *actions]

    @rx.event
    @guarded(admin=True)
    async def filter_activity_user(self, user: User, value: str):
        """A user's id, or "all"."""
        self.activity_user, self.activity_page = (value if value.isdigit() else ALL), 1
        await self._fetch(user)

    @rx.event
    @guarded(admin=True)
    async def filter_activity_session(self, user: User, value: str):
        """Part of a session id ("" = every session)."""
        self.activity_session, self.activity_page = value.strip()[:54], 1
        await self._fetch(user)

    @rx.event
    @guarded(admin=True)
    async def filter_activity_action(self, user: User, value: str):
        """An action name, or "all"."""
        self.activity_action, self.activity_page = value[:40] or ALL, 1
        await self._fetch(user)

    @rx.event
    @guarded(admin=True)
    async def turn_activity_page(self, user: User, delta: int):
        """Previous (negative) or next (positive) page, kept within 1..pages."""
        step = 1 if delta > 0 else -1
        self.activity_page = min(max(1, self.activity_page + step), max(1, self.activity_pages))
        await self._fetch(user)
