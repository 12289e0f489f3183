"""Every event handler a client can reach is either guarded or on the short public allow-list.

Introspects the real app's state classes (not a hand-made list): adding an unguarded
handler, or a public method meant as a helper, turns this red.
"""

from __future__ import annotations

import pytest

from tests.handlers import handlers, is_app_state
from wahaweb.state.guard import ADMIN, PUBLIC, USER, access_of

#: The whole public allow-list of wahaweb's own states. Growing it needs a reason here.
PUBLIC_ALLOW_LIST = {
    ("AuthFormState", "load"),  # the sign-in / sign-up page itself
    ("ServerState", "load_mode"),  # the demo banner: "this is the built-in simulator"
}


def test_every_handler_of_our_states_declares_who_may_call_it():
    undeclared = [h.event_name for h in handlers()
                  if is_app_state(h.state) and h.name != "setvar" and access_of(h.state, h.name) is None]
    assert not undeclared, f"handlers neither guarded nor allow-listed: {undeclared}"


def test_the_public_allow_list_is_short_and_explicit():
    public = {(h.state.__name__, h.name) for h in handlers()
              if is_app_state(h.state) and access_of(h.state, h.name) == PUBLIC}
    assert public == PUBLIC_ALLOW_LIST


def test_setvar_and_reflex_handlers_outside_the_list_are_refused():
    for h in handlers():
        if h.name == "setvar":
            assert access_of(h.state, h.name) is None, h.event_name
        elif not is_app_state(h.state):
            assert access_of(h.state, h.name) in (PUBLIC, None)


def test_no_handler_takes_a_server_side_object():
    """Clients send JSON: a handler argument may only be a str, int or bool, never a User."""
    for h in handlers():
        if not is_app_state(h.state) or h.name == "setvar":  # setvar is refused outright (above)
            continue
        for name, annotation in h.params.items():
            assert annotation in (str, int, bool), f"{h.event_name}({name}: {annotation})"


def test_admin_handlers_are_guarded_as_admin():
    admin_states = {"AdminState", "ServersState"}
    for h in handlers():
        if h.state.__name__ in admin_states and h.name != "setvar":
            assert access_of(h.state, h.name) == ADMIN, h.event_name
    assert access_of(next(h.state for h in handlers() if h.state.__name__ == "ServerState"), "refresh") == ADMIN
    servers = {h.name for h in handlers() if h.state.__name__ == "ServersState" and h.name != "setvar"}
    assert {"load", "test_connection", "add_server", "set_capacity", "set_draining", "set_enabled",
            "remove"} <= servers


@pytest.mark.parametrize("name", ["load", "set_label", "create_session", "confirm", "request_code", "refresh_qr"])
def test_customer_handlers_need_a_signed_in_user(name):
    found = [h for h in handlers() if is_app_state(h.state) and h.name == name
             and h.state.__name__ not in ("AdminState", "ServersState", "AuthFormState")]
    assert found and all(access_of(h.state, h.name) == USER for h in found)


def test_the_language_switch_account_page_and_reset_links_are_guarded():
    """Issue 14: the header's language switch and /account for the signed-in user, reset links for admins."""
    by_name = {(h.state.__name__, h.name): h for h in handlers() if is_app_state(h.state)}
    assert access_of(by_name[("LanguageState", "set_language")].state, "set_language") == USER
    assert access_of(by_name[("AccountState", "load")].state, "load") == USER
    assert access_of(by_name[("AdminState", "make_reset_link")].state, "make_reset_link") == ADMIN


def test_the_shared_states_expose_no_handler_at_all():
    """The live feed and the QR codes (issue 16) are written by the server only: every method is
    `_private`, so the only handler Reflex gives them is `setvar`, which the middleware refuses. Every
    shared state of the app is listed here, found by introspection: a new one must be added."""
    import reflex as rx

    from wahaweb.state.feed import UserFeed, UserQr

    shared = {cls for cls in {h.state for h in handlers()} if is_app_state(cls) and issubclass(cls, rx.SharedState)}
    assert shared == {UserFeed, UserQr}
    for cls in shared:
        assert set(cls.event_handlers) == {"setvar"}, cls
        assert access_of(cls, "setvar") is None
