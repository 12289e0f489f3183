"""The operator's view: users and plans, every session, WAHA, the audit trail, metrics."""

from __future__ import annotations

import dataclasses

import reflex as rx

from wahaweb.core.errors import AuthError, CoreError, PermissionDenied
from wahaweb.core.models import User
from wahaweb.runtime import get_core
from wahaweb.state.auth import AuthState

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
    users: list[UserRow] = []
    plans: list[str] = []
    metrics_text: str = ""
    denied: bool = False
    admin_notice: str = ""

    async def _admin(self) -> User | None:
        try:
            user = await self.current_user()
        except AuthError:
            return None
        if not user.is_admin:
            self.denied = True
            return None
        self.denied = False
        return user

    @rx.event
    async def load(self):
        user = await self._admin()
        if user is None:
            return None
        await self._reload(user)
        return None

    async def _reload(self, user: User) -> None:
        core = await get_core()
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
        await self.refresh_feed(user)

    async def _do(self, fn, *args, done: str):
        user = await self._admin()
        if user is None:
            return rx.toast.error(str(PermissionDenied()))
        try:
            await fn(user, *args)
        except CoreError as exc:
            self.admin_notice = str(exc)
            return rx.toast.error(str(exc))
        self.admin_notice = ""
        await self._reload(user)
        return rx.toast.success(done)

    @rx.event
    async def set_plan(self, user_id: int, plan: str):
        core = await get_core()
        return await self._do(core.admin.set_plan, user_id, None if plan == NO_PLAN else plan, done="Plan changed.")

    @rx.event
    async def set_active(self, user_id: int, active: bool):
        core = await get_core()
        return await self._do(core.admin.set_active, user_id, active,
                              done="Account enabled." if active else "Account disabled and signed out.")
