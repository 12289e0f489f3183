"""The activity list's handlers are admin-only through the one guard, with only public arguments."""

from __future__ import annotations

import inspect

from wahaweb.state.activity import ActivityState
from wahaweb.state.guard import ADMIN, access_of

HANDLERS = ("filter_activity_user", "filter_activity_session", "filter_activity_action",
            "turn_activity_page")


def test_every_activity_handler_is_for_admins_only():
    for name in HANDLERS:
        assert access_of(ActivityState, name) == ADMIN, name


def test_reflex_sees_only_the_public_arguments():
    for name in HANDLERS:
        params = list(inspect.signature(ActivityState.event_handlers[name].fn).parameters)
        assert params[0] == "self" and "user" not in params, name
