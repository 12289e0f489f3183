"""The `notice` element: the latest refused or failed action, empty when there is none."""

import reflex as rx


def notice(text: rx.Var[str]) -> rx.Component:
    return rx.box(
        rx.cond(
            text != "",
            rx.callout(text, icon="info", color_scheme="orange", variant="surface", role="alert",
                      high_contrast=True),
        ),
        id="notice",
        width="100%",
        aria_live="polite",
    )
