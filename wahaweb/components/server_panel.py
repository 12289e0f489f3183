"""The WAHA server card: URL, version, tier, engine, reachable or the error."""

import reflex as rx

from wahaweb.state.server import ServerState


def _row(label: str, value, id_: str) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(value, id=id_))


def server_panel() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("WAHA server", size="4"),
                rx.spacer(),
                rx.cond(
                    ServerState.checked,
                    rx.cond(
                        ServerState.reachable,
                        rx.badge("reachable", color_scheme="grass", high_contrast=True, id="waha-reachable", custom_attrs={"data-reachable": "true"}),
                        rx.badge("unreachable", color_scheme="red", high_contrast=True, id="waha-reachable", custom_attrs={"data-reachable": "false"}),
                    ),
                    rx.badge("checking…", color_scheme="gray", high_contrast=True, id="waha-reachable"),
                ),
                rx.icon_button(rx.icon("refresh-cw", size=16), on_click=ServerState.refresh, variant="ghost", aria_label="Check WAHA again"),
                width="100%",
                align="center",
            ),
            rx.data_list.root(
                _row("URL", ServerState.url, "waha-url"),
                _row("Version", ServerState.version, "waha-version"),
                _row("Tier", ServerState.tier, "waha-tier"),
                _row("Engine", ServerState.engine, "waha-engine"),
                _row("Answered in", f"{ServerState.latency_ms} ms", "waha-latency"),
            ),
            rx.cond(ServerState.error != "", rx.callout(ServerState.error, icon="triangle-alert", color_scheme="red", high_contrast=True, id="waha-error")),
            width="100%",
        ),
        width="100%",
    )
