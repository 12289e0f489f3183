"""The operator's view: users and plans, every session, WAHA, the audit trail, metrics."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

import reflex as rx

from wahaweb.core.errors import CoreError
from wahaweb.core.models import User
from wahaweb.i18n import error_text
from wahaweb.settings import EMBEDDED_PUBLIC_URL, get_settings
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
    #: The one-time reset link made last (for `reset_link_email`); shown to this admin only.
    reset_link: str = ""
    reset_link_email: str = ""

    @rx.event
    @guarded(admin=True)
    async def load(self, user: User):
        """The page's one load: one authentication for the feed, the users and the activity list."""
        from wahaweb.state.activity import ActivityState  # its substate

        await self._reload(user)
        await (await self.get_state(ActivityState))._fetch(user)
        await self._open_page(user)  # last: from its link on, this event holds the feed's lock

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
        self.metrics_text = self._say("admin.metrics", p50=p50, p95=p95, sample=m.sample)

    async def _do(self, user: User, fn, *args, done: str):
        """Run an admin action; `done` is the catalogue key of the success toast."""
        try:
            await fn(user, *args)
        except CoreError as exc:
            self.admin_notice = error_text(self.lang, exc)
            return rx.toast.error(self.admin_notice)
        self.admin_notice = ""
        await self._reload(user)
        return rx.toast.success(self._say(done))

    @rx.event
    @guarded(admin=True)
    async def set_plan(self, user: User, user_id: int, plan: str):
        core = app_core()
        return await self._do(user, core.admin.set_plan, user_id, None if plan == NO_PLAN else plan,
                              done="admin.plan_changed")

    @rx.event
    @guarded(admin=True)
    async def set_active(self, user: User, user_id: int, active: bool):
        core = app_core()
        result = await self._do(user, core.admin.set_active, user_id, active,
                                done="admin.enabled" if active else "admin.disabled")
        if not active and not self.admin_notice:
            await silence_feed(core, user_id)
        return result

    @rx.event
    @guarded(admin=True)
    async def make_reset_link(self, user: User, user_id: int):
        """A one-time password reset link for `user_id`, shown to this admin (core audits it)."""
        core = app_core()
        try:
            token = await core.passwords.create_reset_link(user, user_id)
        except CoreError as exc:
            self.admin_notice = error_text(self.lang, exc)
            return rx.toast.error(self.admin_notice)
        self.admin_notice = ""
        self.reset_link = f"{self._origin()}/reset?{urlencode({'token': token})}"
        self.reset_link_email = await core.accounts.email_of(user_id)
        return rx.toast.success(self._say("admin.reset_link_made"))

    def _origin(self) -> str:
        """Where the user opens the link: the origin this admin's browser reached us on (the
        websocket handshake's Origin, which the access rules already pinned to our own), else
        WAHAWEB_PUBLIC_URL (not the made-up host the embedded simulator posts to)."""
        origin = (self.router.headers.origin or "").rstrip("/")
        configured = (get_settings().public_url or "").rstrip("/")
        return origin or ("" if configured == EMBEDDED_PUBLIC_URL else configured)
