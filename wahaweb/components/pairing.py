"""Pairing: the live QR with its countdown, or a phone-number pairing code."""

import reflex as rx

from wahaweb.state.auth import AuthState
from wahaweb.state.feed import UserFeed, UserQr
from wahaweb.state.server import ServerState
from wahaweb.state.session_page import SessionPageState

T = AuthState.t
#: The QR lives in its own state (`UserQr`): a rotation re-renders what reads it (this panel), nothing
#: else. It may come before the card turns pairing (the engine fetches it first): shown at once.
_qr = UserQr.qr[SessionPageState.session_id]
_has_qr = UserQr.qr.contains(SessionPageState.session_id)
#: An admin on a customer's session: its QR codes go to the owner alone (they pair a phone to it).
_not_own = UserFeed.by_id[SessionPageState.session_id].owner != ""


def qr_panel() -> rx.Component:
    return rx.vstack(
        rx.cond(
            _has_qr,
            rx.image(
                src=_qr.data_url,
                id="session-qr",
                alt=T["pairing.qr_alt"],
                width=["240px", "280px"],
                height=["240px", "280px"],
                background="white",
                padding="10px",
                border_radius="12px",
                custom_attrs={"data-rotation": _qr.rotation},
            ),
            rx.center(
                rx.cond(
                    _not_own,
                    rx.text(T["pairing.owner_only"], size="2", color_scheme="gray", align="center",
                            id="qr-owner-only"),
                    rx.vstack(rx.spinner(size="3"), rx.text(T["pairing.waiting"], size="2", color_scheme="gray"),
                              align="center"),
                ),
                width=["240px", "280px"],
                height=["240px", "280px"],
                border=f"1px dashed {rx.color('gray', 7)}",
                border_radius="12px",
            ),
        ),
        rx.cond(
            _has_qr,
            rx.hstack(
                rx.text(T["pairing.new_code_in"], size="2", color_scheme="gray"),
                rx.text("", id="qr-countdown", size="2", weight="bold",
                        custom_attrs={"data-expires-at": _qr.expires_at_ms}),
                rx.text(T["pairing.code"], _qr.rotation, T["pairing.of"], _qr.max_rotations, size="2", color_scheme="gray",
                        id="qr-rotation"),
                rx.icon_button(rx.icon("refresh-cw", size=14), on_click=SessionPageState.refresh_qr, size="1",
                               variant="ghost", aria_label=T["pairing.refresh"], id="refresh-qr"),
                spacing="1",
                align="center",
            ),
        ),
        rx.text(
            T["pairing.how"],
            size="2",
            color_scheme="gray",
            max_width="320px",
            align="center",
        ),
        rx.cond(
            ServerState.demo_mode,
            rx.button(rx.icon("scan-line", size=16), T["pairing.simulate"], id="simulate-scan",
                      on_click=SessionPageState.simulate_scan, variant="outline", color_scheme="amber", high_contrast=True,
                      loading=SessionPageState.busy == "simulate_scan"),
        ),
        align="center",
        spacing="3",
        padding_y="0.5em",
    )


def phone_code_panel() -> rx.Component:
    return rx.vstack(
        rx.text(T["pairing.phone_intro"], size="2", color_scheme="gray"),
        rx.el.label(T["pairing.phone_label"], html_for="pairing-phone", font_size="0.85em", font_weight="500"),
        rx.hstack(
            rx.input(id="pairing-phone", placeholder="+62 812 3456 7890", value=SessionPageState.pairing_phone,
                     on_change=SessionPageState.set_pairing_phone, type="tel", size="3", flex="1"),
            rx.button(T["pairing.get_code"], id="request-code", on_click=SessionPageState.request_code, size="3"),
            width="100%",
        ),
        rx.cond(
            SessionPageState.pairing_code != "",
            rx.code(SessionPageState.pairing_code, id="pairing-code", size="8", weight="bold", variant="ghost"),
            rx.box(id="pairing-code"),
        ),
        spacing="2",
        width="100%",
        max_width="420px",
        padding_y="0.5em",
    )


def pairing_view() -> rx.Component:
    return rx.tabs.root(
        rx.tabs.list(
            rx.tabs.trigger(T["pairing.tab_qr"], value="qr"),
            rx.tabs.trigger(T["pairing.tab_phone"], value="phone"),
        ),
        rx.tabs.content(qr_panel(), value="qr"),
        rx.tabs.content(phone_code_panel(), value="phone"),
        default_value="qr",
        width="100%",
    )
