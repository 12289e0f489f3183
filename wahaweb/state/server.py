"""Which WAHA server wahaweb talks to, for the operator's eyes (never its key)."""

from __future__ import annotations

import reflex as rx

from wahaweb.runtime import get_core
from wahaweb.settings import get_settings


#: How stale the WAHA probe behind a page load may be.
PAGE_LOAD_PROBE_MAX_AGE_S = 5.0


class ServerState(rx.State):
    """WAHA server facts shown on the server panel; refreshed on page load."""

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
    def load_mode(self):
        """Cheap, on every page: is this the embedded simulator (for the demo banner)?"""
        self.demo_mode = get_settings().embedded

    @rx.event
    async def refresh(self):
        """The panel's button: ask WAHA now."""
        await self._show(max_age=0.0)

    @rx.event
    async def load(self):
        """Every signed-in page load: a probe at most a few seconds old will do."""
        await self._show(max_age=PAGE_LOAD_PROBE_MAX_AGE_S)

    async def _show(self, *, max_age: float) -> None:
        info = await (await get_core()).server_info(max_age=max_age)
        self.demo_mode = info.embedded
        self.url = info.url
        self.reachable = info.reachable
        self.version = info.version or ""
        self.tier = info.tier or ""
        self.engine = info.engine or ""
        self.error = info.error or ""
        self.latency_ms = info.latency_ms or 0.0
        self.checked = True
