"""Sign-in and sign-up pages."""

import reflex as rx

from wahaweb.components.auth_form import auth_form
from wahaweb.state.auth import AuthFormState
from wahaweb.templates import template


@template(route="/login", title="Sign in", on_load=AuthFormState.load)
def login() -> rx.Component:
    return auth_form("login")


@template(route="/register", title="Create account", on_load=AuthFormState.load)
def register() -> rx.Component:
    return auth_form("register")
