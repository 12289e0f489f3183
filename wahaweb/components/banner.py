"""The demo-mode banner: the embedded WAHA simulator must never pass for a real WAHA."""

import reflex as rx

from wahaweb.state.auth import AuthState

T = AuthState.t


def demo_banner() -> rx.Component:
    return rx.callout(
        T["banner.demo"],
        icon="flask-conical",
        color_scheme="amber",
        variant="surface",
        high_contrast=True,  # amber-11 on amber-2 is under WCAG's 4.5:1
        size="1",
        id="demo-banner",
        border_radius="0",
        width="100%",
    )


def waha_down_banner() -> rx.Component:
    """Said plainly, without the operator's URL or error detail (admins see those on /admin)."""
    return rx.callout(
        T["banner.waha_down"],
        icon="cloud-off",
        color_scheme="red",
        variant="surface",
        high_contrast=True,
        size="1",
        id="waha-down",
        border_radius="0",
        width="100%",
    )
