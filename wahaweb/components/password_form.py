"""The password forms of /account and /reset: native form posts (like sign-in), words by key."""

from __future__ import annotations

import reflex as rx

from wahaweb.components.native_form import native_form
from wahaweb.state.auth import AuthState

T = AuthState.t


def password_input(input_id: str, name: str, label: rx.Var, autocomplete: str, error: rx.Var,
                   hint: rx.Var | str = "") -> rx.Component:
    """One labelled password input; `error` is its message ("" when the field is fine)."""
    return rx.vstack(
        rx.el.label(label, html_for=input_id, font_weight="500", font_size="0.9em"),
        rx.input(id=input_id, name=name, type="password", auto_complete=autocomplete, required=True, size="3",
                 width="100%", aria_invalid=rx.cond(error != "", "true", "false"),
                 aria_describedby=f"{input_id}-message"),
        rx.cond(
            error != "",
            rx.text(error, id=f"{input_id}-message", color_scheme="red", size="2"),
            rx.text(hint, id=f"{input_id}-message", color_scheme="gray", size="1"),
        ),
        spacing="1",
        width="100%",
    )


def form_card(title: rx.Var, intro: rx.Var, *children: rx.Component, action: str) -> rx.Component:
    return rx.card(
        native_form(
            rx.vstack(rx.heading(title, size="5"), rx.text(intro, color_scheme="gray", size="2"), *children,
                      spacing="4", width="100%"),
            action=action,
            method="post",
        ),
        size="3",
        width="100%",
        max_width="460px",
    )


def callout(text: rx.Var, *, ok: bool, id_: str) -> rx.Component:
    return rx.callout(text, icon="circle-check" if ok else "circle-alert", color_scheme="grass" if ok else "red",
                      role="status" if ok else "alert", high_contrast=True, width="100%", id=id_)
