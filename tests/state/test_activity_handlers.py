"""The activity list's handlers run only for an admin, who is injected, never taken from the payload."""

from __future__ import annotations

import inspect
import types

from wahaweb.core.errors import AuthError
from wahaweb.state.activity import ActivityState, _admin_handler


class _Caller:
    def __init__(self, user=None, error: Exception | None = None) -> None:
        self.user, self.error, self.ran_with = user, error, None

    async def current_user(self):
        if self.error is not None:
            raise self.error
        return self.user

    @_admin_handler
    async def handler(self, user, value: str):
        self.ran_with = (user, value)
        return "done"


async def test_only_an_admin_runs_the_handler_and_is_passed_in():
    admin = types.SimpleNamespace(is_admin=True)
    caller = _Caller(admin)
    assert await caller.handler(value="x") == "done" and caller.ran_with == (admin, "x")
    for refused in (_Caller(types.SimpleNamespace(is_admin=False)), _Caller(error=AuthError("signed out"))):
        assert await refused.handler("x") is None and refused.ran_with is None


def test_reflex_sees_only_the_public_arguments():
    for name in ("load_activity", "filter_activity_user", "filter_activity_session", "filter_activity_action",
                 "turn_activity_page"):
        params = list(inspect.signature(ActivityState.event_handlers[name].fn).parameters)
        assert params[0] == "self" and "user" not in params, name
