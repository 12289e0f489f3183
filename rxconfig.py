"""Reflex configuration: the app module and the ports wahaweb serves on."""

import reflex as rx

config = rx.Config(
    app_name="wahaweb",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.SitemapPlugin(), rx.plugins.RadixThemesPlugin(theme=rx.theme(appearance="inherit", accent_color="grass", radius="medium"))],
)
