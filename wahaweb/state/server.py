"""Which WAHA server wahaweb talks to, for the operator's eyes (never its key).

Everyone signed in learns whether WAHA answers (the "unreachable" banner); the URL,
version, tier, engine and error text are the operator's infrastructure and reach admins
only. Probes are shared (a page load reuses one a few seconds old) and the refresh
button counts against the caller's status-check limit, so no client can make wahaweb
hammer WAHA.
"""

from __future__ import annotations

import reflex as rx

from wahaweb.core.errors import AuthError, RateLimited
from wahaweb.core.models import User
from wahaweb.core.servers.probe import ServerInfo
from wahaweb.i18n import error_text
from wahaweb.settings import get_settings
from wahaweb.state.auth import AuthState
from wahaweb.state.context import app_core
from wahaweb.state.guard import guarded, public

#: How stale the WAHA probe behind a page load may be (every private page load shows it).
PAGE_LOAD_PROBE_MAX_AGE_S = 5.0
#: How stale the probe behind the admin's refresh button may be (double clicks share one).
REFRESH_PROBE_MAX_AGE_S = 1.0


class ServerState(AuthState):
    """WAHA server facts shown on the server panel; refreshed after each page load (`check`).

    A substate of AuthState so its guarded handlers resolve the user the same way.
    """

    demo_mode: bool = get_settings().embedded
    checked: bool = False
    url: str = ""
    reachable: bool = False
    version: str = ""
    tier: str = ""
    engine: str = ""
    error: str = ""
    latency_ms: float = 0.0

    @rx.event
    @public
    def load_mode(self):
        """Cheap, on every page: is this the embedded simulator (for the demo banner)?"""
        self.demo_mode = get_settings().embedded

    @rx.event(background=True)  # type: ignore[operator]  # Reflex types only the bare decorator
    @guarded
    async def check(self, user: User):
        """After every private page's load: whether WAHA answers (the banner; details for admins).

        In the background, holding no lock while WAHA answers: a load that waited for WAHA held its
        tab's and its feed's Redis locks, and a WAHA slower than Reflex's lock expiry (10 s) made the
        load's save fail after the page had its data: the tab lost its link to the live feed and
        never got another push (seen in the pages benchmark; tests/browser/test_workers.py)."""
        await self._show(user, await app_core().server_info(max_age=PAGE_LOAD_PROBE_MAX_AGE_S))

    @rx.event(background=True)  # type: ignore[operator]  # Reflex types only the bare decorator
    @guarded(admin=True)
    async def refresh(self, user: User):
        """The panel's button: ask WAHA now (throttled per admin), in the background as `check`."""
        core = app_core()
        try:
            await core.limiter.hit("status", f"user:{user.id}")
        except RateLimited as exc:
            async with self:
                lang = self.lang
            return rx.toast.error(error_text(lang, exc))
        await self._show(user, await core.server_info(max_age=REFRESH_PROBE_MAX_AGE_S))
        return None

    async def _show(self, user: User, info: ServerInfo) -> None:
        """Take the state's lock and show `info` as `user` may see it, unless the tab changed hands
        while WAHA answered (someone else signed in: admins' details must not reach him)."""
        try:  # read again: the role may have changed while WAHA answered (cached for 2 s at most)
            user = await app_core().accounts.resolve(user)
        except AuthError:
            return
        async with self:
            if self._user_id != user.id:
                return
            self.demo_mode = info.embedded
            self.reachable = info.reachable
            self.checked = True
            admin = user.is_admin
            self.url = info.url if admin else ""
            self.version = (info.version or "") if admin else ""
            self.tier = (info.tier or "") if admin else ""
            self.engine = (info.engine or "") if admin else ""
            self.error = (info.error or "") if admin else ""
            self.latency_ms = (info.latency_ms or 0.0) if admin else 0.0
