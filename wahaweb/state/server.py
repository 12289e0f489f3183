"""Which WAHA server wahaweb talks to, for the operator's eyes (never its key)."""

from __future__ import annotations

import reflex as rx

from wahaweb.runtime import get_core
from wahaweb.settings import get_settings


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
        info = await (await get_core()).server_info()
        self.demo_mode = info.embedded
        self.url = info.url
        self.reachable = info.reachable
        self.version = info.version or ""
        self.tier = info.tier or ""
        self.engine = info.engine or ""
        self.error = info.error or ""
        self.latency_ms = info.latency_ms or 0.0
        self.checked = True
