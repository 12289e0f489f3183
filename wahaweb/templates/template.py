"""Shared layout: header, demo banner, content column. Every page goes through `@template`.

A private page's `on_load` is its own state's guarded `load` (one authentication, one
feed fill), then `ServerState.check` (the server panel, in the background: a load never
waits for WAHA): signed-out visitors go to /login and back afterwards.
`@template` returns a `Page`; wahaweb.py adds each page to the app explicitly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import reflex as rx

from wahaweb.components.banner import demo_banner, waha_down_banner
from wahaweb.components.native_form import native_form
from wahaweb.i18n import LANGUAGES
from wahaweb.state.auth import AuthState
from wahaweb.state.language import LanguageState
from wahaweb.state.server import ServerState

T = AuthState.t


@dataclasses.dataclass(frozen=True)
class Page:
    """What `app.add_page` takes for one page."""

    component: Callable[[], rx.Component]
    route: str
    title: str
    on_load: list

    def add_to(self, app: rx.App) -> None:
        app.add_page(component=self.component, route=self.route, title=self.title, on_load=self.on_load)


#: A page restored from the back/forward cache after sign-out must not show private data:
#: reload it, and the server decides again what it may show.
_NO_STALE_PAGES = rx.script(
    "window.addEventListener('pageshow', function (e) { if (e.persisted) { window.location.reload(); } });"
)

#: QR countdowns tick in the browser: the server pushes only the expiry, once per rotation.
_COUNTDOWNS = rx.script(
    "setInterval(function () {"
    " document.querySelectorAll('[data-expires-at]').forEach(function (el) {"
    "  var at = Number(el.getAttribute('data-expires-at')); if (!at) { el.textContent = ''; return; }"
    "  var s = Math.max(0, Math.ceil((at - Date.now()) / 1000)); el.textContent = s + ' s';"
    " }); }, 250);"
)


def _nav_link(text: rx.Var, href: str, id_: str) -> rx.Component:
    return rx.link(text, href=href, id=id_, size="2", weight="medium", color_scheme="gray", high_contrast=True)


def language_switch() -> rx.Component:
    """A native <select>: one change event carries the code; remembered on the account."""
    return rx.el.select(
        *[rx.el.option(name, value=code) for code, name in LANGUAGES.items()],
        id="language-switch",
        value=AuthState.lang,
        on_change=LanguageState.set_language,
        aria_label=T["nav.language"],
        font_size="0.85em",
        padding="0.2em 0.3em",
        border_radius="6px",
        border=f"1px solid {rx.color('gray', 7)}",
        background=rx.color("gray", 1),
        color=rx.color("gray", 12),
    )


def _account_menu() -> rx.Component:
    return rx.cond(
        AuthState.signed_in,
        rx.hstack(
            _nav_link(T["nav.sessions"], "/", "nav-dashboard"),
            rx.cond(AuthState.is_admin, _nav_link(T["nav.admin"], "/admin", "nav-admin")),
            _nav_link(T["nav.account"], "/account", "nav-account"),
            rx.text(AuthState.email, size="2", color_scheme="gray", display=["none", "none", "block"]),
            language_switch(),
            native_form(
                rx.button(T["nav.sign_out"], id="logout", type="submit", variant="soft", color_scheme="gray", size="2", white_space="nowrap"),
                action="/api/auth/logout",
                method="post",
            ),
            # On a phone the menu wraps under the logo instead of widening the page.
            wrap="wrap",
            justify="end",
            spacing="3",
            align="center",
        ),
    )


def _header() -> rx.Component:
    return rx.hstack(
        rx.link(
            rx.hstack(
                rx.image(src="/logo.svg", alt="", width="22px", height="22px", id="app-logo"),
                rx.heading(T["app.name"], size="5", weight="bold"),
                align="center",
                spacing="2",
            ),
            href="/",
            underline="none",
            color_scheme="gray",
            high_contrast=True,
        ),
        rx.spacer(),
        _account_menu(),
        rx.color_mode.button(size="2", variant="ghost", aria_label=T["nav.color_mode"]),
        align="center",
        wrap="wrap",
        spacing="4",
        width="100%",
        padding_x=["1em", "1.5em"],
        padding_y="0.8em",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 1),
    )


def template(
    route: str,
    title: str,
    *,
    on_load: rx.event.EventType | list,
) -> Callable[[Callable[[], rx.Component]], Page]:
    """Wrap a page body in the shared layout; `on_load` is the page state's own load handler."""

    def decorator(body: Callable[[], rx.Component]) -> Page:
        def page() -> rx.Component:
            return rx.box(
                _NO_STALE_PAGES,
                _COUNTDOWNS,
                _header(),
                rx.cond(ServerState.demo_mode, demo_banner()),
                rx.cond(ServerState.checked & ~ServerState.reachable, waha_down_banner()),
                rx.container(body(), size="3", padding_x=["0.75em", "1em"], padding_y="1.5em"),
                # Screen readers pronounce the page in the language it is written in.
                lang=AuthState.lang,
                min_height="100vh",
                background=rx.color("gray", 2),
            )

        return Page(component=page, route=route, title=f"{title} · wahaweb",
                    # Flat: Reflex refuses a list inside the on_load list (/admin loads two states).
                    on_load=[ServerState.load_mode, *(on_load if isinstance(on_load, list) else [on_load])])

    return decorator
