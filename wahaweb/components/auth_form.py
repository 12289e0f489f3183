"""The sign-in / sign-up card: a native form post, so the server can set an HttpOnly cookie."""

from __future__ import annotations

import reflex as rx

from wahaweb.components.native_form import native_form
from wahaweb.state.auth import AuthFormState, AuthState

T = AuthState.t


def _field(kind: str, name: str, label: rx.Var, input_type: str, autocomplete: str, hint: rx.Var | None = None) -> rx.Component:
    input_id = f"{kind}-{name}"
    has_error = (AuthFormState.field == name) & (AuthFormState.error != "")
    return rx.vstack(
        rx.el.label(label, html_for=input_id, font_weight="500", font_size="0.9em"),
        rx.input(
            id=input_id,
            name=name,
            type=input_type,
            auto_complete=autocomplete,
            required=True,
            default_value=AuthFormState.email_value if name == "email" else "",
            size="3",
            width="100%",
            aria_invalid=rx.cond(has_error, "true", "false"),
            aria_describedby=f"{input_id}-message",
        ),
        rx.cond(
            has_error,
            rx.text(AuthFormState.error, id=f"{input_id}-message", color_scheme="red", size="2"),
            rx.text(hint if hint is not None else "", id=f"{input_id}-message", color_scheme="gray", size="1"),
        ),
        spacing="1",
        width="100%",
    )


def auth_form(kind: str) -> rx.Component:
    """`kind` is "login" or "register": it picks the ids, the endpoint and the wording."""
    is_login = kind == "login"
    return rx.center(
        rx.card(
            native_form(
                rx.vstack(
                    rx.heading(T["auth.sign_in_title" if is_login else "auth.register_title"], size="6"),
                    rx.text(
                        T["auth.sign_in_intro" if is_login else "auth.register_intro"],
                        color_scheme="gray",
                        size="2",
                    ),
                    rx.cond(
                        (AuthFormState.error != "") & (AuthFormState.field == ""),
                        rx.callout(AuthFormState.error, icon="circle-alert", color_scheme="red", role="alert", width="100%",
                                   high_contrast=True),
                    ),
                    rx.cond(AuthFormState.info != "",
                            rx.callout(AuthFormState.info, icon="circle-check", color_scheme="grass", role="status",
                                       width="100%", high_contrast=True, id="auth-info")),
                    _field(kind, "email", T["auth.email"], "email", "username"),
                    _field(
                        kind, "password", T["auth.password"], "password",
                        "current-password" if is_login else "new-password",
                        None if is_login else T["auth.password_hint"],
                    ),
                    rx.el.input(type="hidden", name="next", value=AuthFormState.next_path),
                    rx.button(T["auth.sign_in" if is_login else "auth.register"], id=f"{kind}-submit", type="submit", size="3", width="100%"),
                    rx.cond(
                        is_login,
                        rx.text(T["auth.new_here"], rx.link(T["auth.create_link"], href="/register", underline="always"), size="2"),
                        rx.text(T["auth.have_account"], rx.link(T["auth.sign_in_link"], href="/login", underline="always"), size="2"),
                    ),
                    spacing="4",
                    width="100%",
                ),
                action=f"/api/auth/{kind}",
                method="post",
            ),
            size="4",
            width="100%",
            max_width="420px",
        ),
        width="100%",
        padding_top="8vh",
    )
