"""The operator's view: users and plans, every session, WAHA, the audit trail, metrics."""

from __future__ import annotations

import dataclasses

import reflex as rx

from wahaweb.core.errors import CoreError
from wahaweb.core.models import User
from wahaweb.state.auth import AuthState
from wahaweb.state.context import app_core
from wahaweb.state.guard import guarded
from wahaweb.state.live import silence_feed

NO_PLAN = "(no plan)"


@dataclasses.dataclass
class UserRow:
    id: int = 0
    email: str = ""
    role: str = ""
    active: bool = True
    plan: str = ""
    usage: str = ""


class AdminState(AuthState):
    """/admin: every handler is `@guarded(admin=True)` (role re-read from the database)."""

    users: list[UserRow] = []
    plans: list[str] = []
    metrics_text: str = ""
    admin_notice: str = ""

    @rx.event
    @guarded(admin=True)
    async def load(self, user: User):
        """The page's one load: one authentication for the feed, the users and the activity list."""
        from wahaweb.state.activity import ActivityState  # its substate

        await self._open_page(user)
        await self._reload(user)
        await (await self.get_state(ActivityState))._fetch(user)

    async def _reload(self, user: User) -> None:
        core = app_core()
        summaries = await core.admin.list_users(user)
        self.users = [
            UserRow(id=s.user.id or 0, email=s.user.email, role=s.user.role, active=s.user.active,
                    plan=s.plan_name or NO_PLAN, usage=f"{s.active_sessions} / {s.session_limit}")
            for s in summaries
        ]
        self.plans = [NO_PLAN, *[p.name for p in await core.admin.plans(user)]]
        m = await core.admin.metrics(user)
        p50 = f"{m.create_ms_p50:.0f}" if m.create_ms_p50 is not None else "–"
        p95 = f"{m.create_ms_p95:.0f}" if m.create_ms_p95 is not None else "–"
        self.metrics_text = f"session creation p50 {p50} ms, p95 {p95} ms over the last {m.sample} creates"

    async def _do(self, user: User, fn, *args, done: str):
        try:
            await fn(user, *args)
        except CoreError as exc:
            self.admin_notice = str(exc)
            return rx.toast.error(str(exc))
        self.admin_notice = ""
        await self._reload(user)
        return rx.toast.success(done)

    @rx.event
    @guarded(admin=True)
    async def set_plan(self, user: User, user_id: int, plan: str):
        core = app_core()
        return await self._do(user, core.admin.set_plan, user_id, None if plan == NO_PLAN else plan,
                              done="Plan changed.")

    @rx.event
    @guarded(admin=True)
    async def set_active(self, user: User, user_id: int, active: bool):
        core = app_core()
        result = await self._do(user, core.admin.set_active, user_id, active,
                                done="Account enabled." if active else "Account disabled and signed out.")
        if not active and not self.admin_notice:
            await silence_feed(core, user_id)
        return result
