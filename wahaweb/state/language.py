"""The header's language switch: changes this tab's words at once and remembers the choice
on the user's account (so every other browser and the next visit open in it)."""

from __future__ import annotations

import reflex as rx

from wahaweb.core.models import User
from wahaweb.i18n import supported
from wahaweb.state.auth import AuthState
from wahaweb.state.context import app_core
from wahaweb.state.guard import guarded


class LanguageState(AuthState):
    @rx.event
    @guarded
    async def set_language(self, user: User, value: str):
        """`value` is a language code ("en", "id"); anything else is ignored."""
        lang = supported(value)
        if lang is None:
            return None
        await app_core().accounts.set_language(user, lang)
        self.lang = lang
        return None
