"""Dashboard and session page: thin handlers that call the core session service.

Every refusal (plan limit, rate limit, WAHA unreachable, not found) comes back from core
as a CoreError whose text is written for the user; it lands in `notice` and a toast.
"""

from __future__ import annotations

import asyncio
import time

import reflex as rx

from wahaweb.core.errors import CoreError, NotFound
from wahaweb.core.live import live_for
from wahaweb.core.models import User
from wahaweb.runtime import get_core
from wahaweb.state.auth import AuthState
from wahaweb.state.feed import UserFeed
from wahaweb.state.guard import guarded
from wahaweb.state.live import announce_later, qr_card

#: The create button ignores clicks for this long after a create finished.
CREATE_COOLDOWN_S = 1.0

#: Actions that ask for confirmation first, with the dialog's wording.
CONFIRMATIONS = {
    "stop": ("Stop this session?", "WhatsApp stays linked; you can start it again later."),
    "restart": ("Restart this session?", "It reconnects to WhatsApp; this takes a few seconds."),
    "logout": ("Log out this number?", "The phone is unlinked. You will need to scan a new QR code."),
    "delete": ("Delete this session?", "It is removed from WAHA and from your list. This cannot be undone."),
}


class SessionsState(AuthState):
    """State of the dashboard and the session page (one user, many tabs).

    Every handler is `@guarded`: the user comes from the cookie, never from the payload,
    and the session acted on is the one of this page's URL, re-checked by core as the user's.
    """

    label: str = ""
    creating: bool = False
    notice: str = ""
    #: Session page
    session_id: str = ""
    not_found: bool = False
    busy: str = ""
    confirm_action: str = ""
    pairing_phone: str = ""
    pairing_code: str = ""
    _last_create_done: float = 0.0

    # ------------------------------------------------------------ helpers
    def _refused(self, exc: CoreError):
        self.notice = str(exc)
        return rx.toast.error(str(exc), duration=6000)

    @rx.var
    def confirm_title(self) -> str:
        return CONFIRMATIONS.get(self.confirm_action, ("", ""))[0]

    @rx.var
    def confirm_text(self) -> str:
        return CONFIRMATIONS.get(self.confirm_action, ("", ""))[1]

    # ------------------------------------------------------------ dashboard
    @rx.event
    @guarded
    def set_label(self, user: User, value: str):
        self.label = value[:80]

    @rx.event(background=True)
    @guarded
    async def create_session(self, user: User):
        """Reserve, land on the session page at once, and let WAHA finish in the background."""
        async with self:
            if self.creating or time.monotonic() - self._last_create_done < CREATE_COOLDOWN_S:
                return
            self.creating = True
            self.notice = ""
            label = self.label
        core = await get_core()
        reserved: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def on_reserved(row) -> None:
            if not reserved.done():
                reserved.set_result(row.id)

        create = asyncio.ensure_future(core.sessions.create(user, label, on_reserved=on_reserved))
        await asyncio.wait({create, reserved}, return_when=asyncio.FIRST_COMPLETED)
        if reserved.done():
            async with self:
                self.label = ""
                await self._refresh_feed(user)
            yield rx.redirect(f"/sessions/{reserved.result()}")
        try:
            row = await create
            announce_later(core, row.id)
        except CoreError as exc:
            async with self:
                toast = self._refused(exc)
            yield toast
        finally:
            async with self:
                self.creating = False
                self._last_create_done = time.monotonic()
                await self._refresh_feed(user)

    # --------------------------------------------------------- session page
    @rx.event
    @guarded
    async def load_session(self, user: User):
        """on_load of /sessions/{id}: a session that is not the user's looks exactly like a missing one."""
        self.session_id = self.router.url.path.rstrip("/").rsplit("/", 1)[-1][:80]
        self.not_found = False
        self.confirm_action = ""
        self.pairing_code = ""
        core = await get_core()
        try:
            row = await core.sessions.get(user, self.session_id)
        except NotFound:
            self.not_found = True
            return
        await self._load_timeline(user)
        if row.status in ("creating", "starting", "pairing"):
            qr = await live_for(core).qr_for(row.id)
            if qr is not None:
                feed = await self.get_state(UserFeed)
                feed.qr = {**feed.qr, row.id: qr_card(qr)}

    async def _load_timeline(self, user: User) -> None:
        feed = await self.get_state(UserFeed)
        await feed._load_timeline(await get_core(), user, self.session_id)

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
        if action in CONFIRMATIONS:
            return await self._act(user, action)
        return None

    @rx.event
    @guarded
    async def start(self, user: User):
        return await self._act(user, "start")

    @rx.event
    @guarded
    async def simulate_scan(self, user: User):
        return await self._act(user, "simulate_scan")

    @rx.event
    @guarded
    async def refresh_status(self, user: User):
        return await self._act(user, "status")

    async def _act(self, user: User, action: str):
        core = await get_core()
        method = getattr(core.sessions, action)
        self.busy = action
        self.notice = ""
        try:
            await method(user, self.session_id)
        except CoreError as exc:
            return self._refused(exc)
        finally:
            self.busy = ""
            await self._refresh_feed(user)
        if action != "delete":
            announce_later(core, self.session_id)
        if action == "delete":
            return [rx.redirect("/"), rx.toast.success("Session deleted.")]
        await self._load_timeline(user)
        return None

    @rx.event
    @guarded
    async def refresh_qr(self, user: User):
        """The manual "new QR" button: limited to 10 a minute by core."""
        self.notice = ""
        try:
            qr = await live_for(await get_core()).manual_refresh(user, self.session_id)
        except CoreError as exc:
            return self._refused(exc)
        feed = await self.get_state(UserFeed)
        feed.qr = {**feed.qr, self.session_id: qr_card(qr)}
        return None

    @rx.event
    @guarded
    def set_pairing_phone(self, user: User, value: str):
        self.pairing_phone = value[:20]

    @rx.event
    @guarded
    async def request_code(self, user: User):
        self.notice = ""
        self.pairing_code = ""
        try:
            code = await (await get_core()).sessions.request_pairing_code(user, self.session_id, self.pairing_phone)
        except CoreError as exc:
            return self._refused(exc)
        self.pairing_code = code
        return None
