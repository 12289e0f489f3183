"""Pairing: the live QR with its countdown, or a phone-number pairing code."""

import reflex as rx

from wahaweb.state.feed import UserFeed
from wahaweb.state.server import ServerState
from wahaweb.state.session_page import SessionPageState

_qr = UserFeed.qr[SessionPageState.session_id]
_has_qr = UserFeed.qr.contains(SessionPageState.session_id)


def qr_panel() -> rx.Component:
    return rx.vstack(
        rx.cond(
            _has_qr,
            rx.image(
                src=_qr.data_url,
                id="session-qr",
                alt="WhatsApp QR code: scan it with your phone",
                width=["240px", "280px"],
                height=["240px", "280px"],
                background="white",
                padding="10px",
                border_radius="12px",
                custom_attrs={"data-rotation": _qr.rotation},
            ),
            rx.center(
                rx.vstack(rx.spinner(size="3"), rx.text("Waiting for WAHA's QR code…", size="2", color_scheme="gray"),
                          align="center"),
                width=["240px", "280px"],
                height=["240px", "280px"],
                border=f"1px dashed {rx.color('gray', 7)}",
                border_radius="12px",
            ),
        ),
        rx.cond(
            _has_qr,
            rx.hstack(
                rx.text("New code in ", size="2", color_scheme="gray"),
                rx.text("", id="qr-countdown", size="2", weight="bold",
                        custom_attrs={"data-expires-at": _qr.expires_at_ms}),
                rx.text("· code ", _qr.rotation, " of ", _qr.max_rotations, size="2", color_scheme="gray",
                        id="qr-rotation"),
                rx.icon_button(rx.icon("refresh-cw", size=14), on_click=SessionPageState.refresh_qr, size="1",
                               variant="ghost", aria_label="Fetch the QR code again", id="refresh-qr"),
                spacing="1",
                align="center",
            ),
        ),
        rx.text(
            "Open WhatsApp on your phone → Settings → Linked devices → Link a device, then point it at this code.",
            size="2",
            color_scheme="gray",
            max_width="320px",
            align="center",
        ),
        rx.cond(
            ServerState.demo_mode,
            rx.button(rx.icon("scan-line", size=16), "Simulate phone scan", id="simulate-scan",
                      on_click=SessionPageState.simulate_scan, variant="outline", color_scheme="amber", high_contrast=True,
                      loading=SessionPageState.busy == "simulate_scan"),
        ),
        align="center",
        spacing="3",
        padding_y="0.5em",
    )


def phone_code_panel() -> rx.Component:
    return rx.vstack(
        rx.text("Prefer not to scan? Enter the phone number to link and type the code on that phone "
                "(WhatsApp → Linked devices → Link with phone number).", size="2", color_scheme="gray"),
        rx.el.label("Phone number, with country code", html_for="pairing-phone", font_size="0.85em", font_weight="500"),
        rx.hstack(
            rx.input(id="pairing-phone", placeholder="+62 812 3456 7890", value=SessionPageState.pairing_phone,
                     on_change=SessionPageState.set_pairing_phone, type="tel", size="3", flex="1"),
            rx.button("Get code", id="request-code", on_click=SessionPageState.request_code, size="3"),
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
            rx.tabs.trigger("Scan QR code", value="qr"),
            rx.tabs.trigger("Use phone number", value="phone"),
        ),
        rx.tabs.content(qr_panel(), value="qr"),
        rx.tabs.content(phone_code_panel(), value="phone"),
        default_value="qr",
        width="100%",
    )
