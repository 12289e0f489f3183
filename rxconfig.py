"""Reflex configuration: the app module and the ports wahaweb serves on."""

import os

import reflex as rx

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
