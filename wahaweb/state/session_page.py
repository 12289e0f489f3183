"""The session page (`/sessions/{id}`): live pairing, actions, the timeline.

Every handler acts on the session of this page's URL, which core re-checks as the
user's (anyone else's looks exactly like a missing one). Handlers only call core; the
rows they change reach every tab through the status engine, not through a reload here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import reflex as rx

from wahaweb.core.errors import CoreError
from wahaweb.core.models import User
from wahaweb.i18n import error_text
from wahaweb.state.auth import AuthState
from wahaweb.state.context import app_core
from wahaweb.state.feed import UserFeed, qr_kept, qr_view, timeline_items
from wahaweb.state.guard import guarded

#: Actions that ask for confirmation first; the dialog's wording is `confirm.<action>.title/text`
#: in the catalogues.
CONFIRMATIONS = frozenset({"stop", "restart", "logout", "delete"})
Action = Callable[[User, str], Awaitable[object]]


class SessionPageState(AuthState):
    session_id: str = ""
    not_found: bool = False
    notice: str = ""
    busy: str = ""
    confirm_action: str = ""
    pairing_phone: str = ""
    pairing_code: str = ""

    @rx.event
    @guarded
    async def load(self, user: User):
        """on_load: a session that is not the user's looks exactly like a missing one."""
        self.session_id = self.router.url.path.rstrip("/").rsplit("/", 1)[-1][:80]
        self.not_found = False
        self.notice = self.confirm_action = self.pairing_code = ""
        core = app_core()
        page = await self._open_page(user)
        row = page.visible(self.session_id)
        if row is None:
            self.not_found = True
            return
        feed = await self.get_state(UserFeed)  # linked by `_open_page`: pushes wait until this load ends
        feed._set_timeline(row.id, await timeline_items(core, row.id, admin=user.is_admin))
        # Linked after the feed (one lock order), read after the link: a QR pushed meanwhile lands after this.
        codes = await self._linked_qr()
        codes._keep(qr_kept(page))
        # The owner's QR only (rotations go to him alone): an admin's tab keeps no customer's QR.
        qr = core.live.current_qr(row.id) if row.status == "pairing" and row.user_id == user.id else None
        if qr is not None:
            codes._set(row.id, qr_view(qr))

    # ------------------------------------------------------------ dialog
    @rx.event
    @guarded
    def ask(self, user: User, action: str):
        if action in CONFIRMATIONS:
            self.confirm_action = action

    @rx.event
    @guarded
    def cancel_confirm(self, user: User):
        self.confirm_action = ""

    @rx.event
    @guarded
    def dialog_open_changed(self, user: User, is_open: bool):
        """Escape or a click outside closes the dialog: forget the pending action."""
        if not is_open:
            self.confirm_action = ""

    @rx.event
    @guarded
    async def confirm(self, user: User):
        action, self.confirm_action = self.confirm_action, ""
        sessions = app_core().sessions
        confirmed: dict[str, Action] = {"stop": sessions.stop, "restart": sessions.restart,
                                        "logout": sessions.logout, "delete": sessions.delete}
        if action not in confirmed:
            return None
        refused = await self._run(user, action, confirmed[action])
        if refused is None and action == "delete":
            return [rx.redirect("/"), rx.toast.success(self._say("session.deleted"))]
        return refused

    # ----------------------------------------------------------- actions
    @rx.event
    @guarded
    async def start(self, user: User):
        return await self._run(user, "start", app_core().sessions.start)

    @rx.event
    @guarded
    async def simulate_scan(self, user: User):
        return await self._run(user, "simulate_scan", app_core().sessions.simulate_scan)

    @rx.event
    @guarded
    async def refresh_status(self, user: User):
        return await self._run(user, "status", app_core().sessions.status)

    async def _run(self, user: User, name: str, action: Action):
        """Run one core action on this page's session; a refusal becomes the notice."""
        self.busy, self.notice = name, ""
        try:
            await action(user, self.session_id)
        except CoreError as exc:
            self.notice = error_text(self.lang, exc)
            return rx.toast.error(self.notice, duration=6000)
        finally:
            self.busy = ""
        return None

    @rx.event
    @guarded
    async def refresh_qr(self, user: User):
        """The manual "new QR" button: limited to 10 a minute by core; pushed like any QR."""
        self.notice = ""
        try:
            await app_core().live.manual_refresh(user, self.session_id)
        except CoreError as exc:
            self.notice = error_text(self.lang, exc)
            return rx.toast.error(self.notice, duration=6000)
        return None

    @rx.event
    @guarded
    def set_pairing_phone(self, user: User, value: str):
        self.pairing_phone = value[:20]

    @rx.event
    @guarded
    async def request_code(self, user: User):
        self.notice = self.pairing_code = ""
        try:
            self.pairing_code = await app_core().sessions.request_pairing_code(user, self.session_id,
                                                                               self.pairing_phone)
        except CoreError as exc:
            self.notice = error_text(self.lang, exc)
            return rx.toast.error(self.notice, duration=6000)
        return None
