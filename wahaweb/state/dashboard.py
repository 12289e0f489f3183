"""The dashboard (`/`): the user's sessions, the plan meter, and "New session".

Handlers only call core. A create is `core.sessions.reserve()` (a few milliseconds): the
browser moves to the session page at once, and WAHA's answer reaches every tab through
the status engine's change stream, like any other change.
"""

from __future__ import annotations

import os
import time

import reflex as rx

from wahaweb.core.errors import CoreError
from wahaweb.core.models import User
from wahaweb.core.sessions import MAX_LABEL_LENGTH
from wahaweb.i18n import error_text
from wahaweb.settings import get_settings
from wahaweb.state.auth import AuthState
from wahaweb.state.context import app_core
from wahaweb.state.guard import guarded

#: The create button ignores clicks for this long after a create (double clicks).
CREATE_COOLDOWN_S = 1.0


class DashboardState(AuthState):
    label: str = ""
    creating: bool = False
    notice: str = ""
    #: Tests only (WAHAWEB_TEST_HOOKS=1): the process id of the worker serving this tab.
    worker: str = ""
    _last_create: float = 0.0

    @rx.event
    @guarded
    async def load(self, user: User):
        self.notice = ""
        if get_settings().test_hooks:
            self.worker = str(os.getpid())
        await self._open_page(user)

    @rx.event
    @guarded
    def set_label(self, user: User, value: str):
        self.label = value[:MAX_LABEL_LENGTH]

    @rx.event
    @guarded
    async def create_session(self, user: User):
        """Reserve a session and open its page; WAHA finishes creating it in the background."""
        if self.creating or time.monotonic() - self._last_create < CREATE_COOLDOWN_S:
            return None
        self.creating = True
        self.notice = ""
        try:
            row = await app_core().sessions.reserve(user, self.label)
        except CoreError as exc:
            self.notice = error_text(self.lang, exc)
            return rx.toast.error(self.notice, duration=6000)
        finally:
            self.creating = False
            self._last_create = time.monotonic()
        self.label = ""
        return rx.redirect(f"/sessions/{row.id}")
