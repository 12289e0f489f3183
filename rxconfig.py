"""Reflex configuration: the app module and the ports wahaweb serves on.

Reflex imports this module in its CLI process and in every backend worker, which makes it
the one place that runs once per process before wahaweb logs anything: logging is
configured here (stdout, one line per event, `WAHAWEB_LOG_FORMAT`/`WAHAWEB_LOG_LEVEL`).
"""

import os

import reflex as rx

from wahaweb.observability.log_config import configure_logging
from wahaweb.serving import respawn_failed_workers

configure_logging()
respawn_failed_workers()
# Cross-origin HTTP reads (CORS) only for origins the operator names; the websocket's own
# Origin rule (the app's host, plus these) is set at start-up in wahaweb.state.live.
_ALLOWED_ORIGINS = [o.strip().rstrip("/") for o in os.environ.get("WAHAWEB_ALLOWED_ORIGINS", "").split(",") if o.strip()]

config = rx.Config(
    app_name="wahaweb",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    cors_allowed_origins=_ALLOWED_ORIGINS or ["http://localhost:3000"],
    plugins=[rx.plugins.SitemapPlugin(), rx.plugins.RadixThemesPlugin(theme=rx.theme(appearance="inherit", accent_color="grass", radius="medium"))],
)
