"""/account (change your own password) and /reset (set one through an admin's one-time link)."""

import reflex as rx

from wahaweb.components.password_form import callout, form_card, password_input
from wahaweb.state.account import AccountState
from wahaweb.state.auth import AuthFormState, AuthState
from wahaweb.state.server import ServerState
from wahaweb.templates import template

T = AuthState.t


def _field_error(state_field: rx.Var, state_error: rx.Var, name: str) -> rx.Var:
    return rx.cond(state_field == name, state_error, "")


@template(route="/account", title="Account", on_load=[AccountState.load, ServerState.check])
def account() -> rx.Component:
    general = (AccountState.account_error != "") & (AccountState.account_field == "")
    return rx.vstack(
        rx.heading(T["account.title"], size="7"),
        rx.cond(AccountState.account_done, callout(T["account.done"], ok=True, id_="account-done")),
        rx.cond(general, callout(AccountState.account_error, ok=False, id_="account-error")),
        form_card(
            T["account.change_title"], T["account.change_intro"],
            password_input("current-password", "current_password", T["account.current"], "current-password",
                           _field_error(AccountState.account_field, AccountState.account_error, "current")),
            password_input("new-password", "new_password", T["account.new"], "new-password",
                           _field_error(AccountState.account_field, AccountState.account_error, "new"),
                           T["auth.password_hint"]),
            rx.button(T["account.submit"], id="change-password", type="submit", size="3", width="100%"),
            action="/api/auth/password",
        ),
        spacing="4",
        width="100%",
    )


@template(route="/reset", title="Reset password", on_load=AuthFormState.load)
def reset() -> rx.Component:
    general = (AuthFormState.error != "") & (AuthFormState.field == "")
    return rx.center(
        rx.vstack(
            rx.cond(general, callout(AuthFormState.error, ok=False, id_="reset-error")),
            rx.cond(
                AuthFormState.reset_valid,
                form_card(
                    T["reset.title"], T["reset.intro"],
                    password_input("new-password", "new_password", T["account.new"], "new-password",
                                   _field_error(AuthFormState.field, AuthFormState.error, "new"),
                                   T["auth.password_hint"]),
                    rx.el.input(type="hidden", name="token", value=AuthFormState.reset_token),
                    rx.button(T["reset.submit"], id="reset-submit", type="submit", size="3", width="100%"),
                    action="/api/auth/reset",
                ),
            ),
            spacing="4",
            width="100%",
            max_width="460px",
        ),
        width="100%",
        padding_top="6vh",
    )
