"""The WAHA server card: URL, version, tier, engine, reachable or the error."""

import reflex as rx

from wahaweb.state.auth import AuthState
from wahaweb.state.server import ServerState

T = AuthState.t


def _row(label: rx.Var, value, id_: str) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(value, id=id_))


def server_panel() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(T["server.title"], size="4"),
                rx.spacer(),
                rx.cond(
                    ServerState.checked,
                    rx.cond(
                        ServerState.reachable,
                        rx.badge(T["server.reachable"], color_scheme="grass", high_contrast=True, id="waha-reachable", custom_attrs={"data-reachable": "true"}),
                        rx.badge(T["server.unreachable"], color_scheme="red", high_contrast=True, id="waha-reachable", custom_attrs={"data-reachable": "false"}),
                    ),
                    rx.badge(T["server.checking"], color_scheme="gray", high_contrast=True, id="waha-reachable"),
                ),
                rx.icon_button(rx.icon("refresh-cw", size=16), on_click=ServerState.refresh, variant="ghost", aria_label=T["server.check_again"]),
                width="100%",
                align="center",
            ),
            rx.data_list.root(
                _row(T["server.url"], ServerState.url, "waha-url"),
                _row(T["server.version"], ServerState.version, "waha-version"),
                _row(T["server.tier"], ServerState.tier, "waha-tier"),
                _row(T["server.engine"], ServerState.engine, "waha-engine"),
                _row(T["server.answered_in"], f"{ServerState.latency_ms} ms", "waha-latency"),
            ),
            rx.cond(ServerState.error != "", rx.callout(ServerState.error, icon="triangle-alert", color_scheme="red", high_contrast=True, id="waha-error")),
            width="100%",
        ),
        width="100%",
    )
