"""The app's composition root: builds the one `Core`, and the embedded WAHA simulator in demo mode.

Core never imports its own stand-in. When no WAHA_URL is set, this module builds the
simulator (`wahaweb.simulator`), points the WAHA client at it in-process (ASGI
transport) and gives core a `DemoWaha` (the phone that scans). The app's lifespan,
the API routes and the tests all build a Core through `create_core`.
"""

from __future__ import annotations

from typing import Any

import httpx

from wahaweb.core.container import Core
from wahaweb.core.errors import InvalidState, NotFound
from wahaweb.settings import Settings
from wahaweb.simulator import Simulator, SimulatorConfig, SimulatorError


class EmbeddedWaha:
    """The simulator as core's `DemoWaha`: its errors said in core's words."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator

    async def scan(self, session_name: str) -> None:
        try:
            self.simulator.scan(session_name)
        except SimulatorError as exc:
            if exc.status_code == 404:
                raise NotFound() from exc
            raise InvalidState("The session is not showing a QR code right now, so there is nothing to scan.") from exc

    def deliver_webhooks_to(self, app: Any) -> None:
        """Deliver the simulator's webhooks to `app` in-process (no public URL needed in demo mode)."""
        self.simulator.webhooks.transport = httpx.ASGITransport(app=app)

    async def aclose(self) -> None:
        await self.simulator.aclose()


def build_core(settings: Settings, **kwargs: Any) -> Core:
    """`Core.from_settings`, with the embedded simulator wired in when `settings.embedded`."""
    if settings.embedded and "demo" not in kwargs:
        simulator = Simulator(SimulatorConfig(api_key=settings.sim_api_key, qr_delay=settings.sim_qr_delay,
                                              time_scale=settings.sim_time_scale, profile=settings.sim_profile))
        kwargs.setdefault("waha_transport", httpx.ASGITransport(app=simulator.app))
        kwargs["demo"] = EmbeddedWaha(simulator)
    return Core.from_settings(settings, **kwargs)


async def create_core(settings: Settings, *, migrate: bool = True, **kwargs: Any) -> Core:
    """`build_core`, then bring the database schema up to date."""
    return await build_core(settings, **kwargs).ready(migrate=migrate)
