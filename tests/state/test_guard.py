"""The guard itself, as plain functions: argument checks and what a handler may declare."""

from __future__ import annotations

import inspect

import pytest

from wahaweb.core.models import User
from wahaweb.state.guard import ACCESS_ATTR, ADMIN, USER, BadArguments, check_arguments, guarded


class FakeState:
    """Stands in for a Reflex state: the guard only needs `_guard_user`."""

    def __init__(self, user: User | None) -> None:
        self.user = user
        self.calls: list[tuple] = []

    async def _guard_user(self, *, admin: bool):
        if self.user is None or (admin and not self.user.is_admin):
            return None, "to-login"
        return self.user, None

    @guarded
    async def rename(self, user: User, label: str, count: int, flag: bool):
        self.calls.append((user.id, label, count, flag))
        return "done"

    @guarded(admin=True)
    async def admin_only(self, user: User, user_id: int):
        self.calls.append((user.id, user_id))
        return "admin-done"


def test_the_public_signature_has_no_user():
    params = list(inspect.signature(FakeState.rename).parameters)
    assert params == ["self", "label", "count", "flag"]
    assert getattr(FakeState.rename, ACCESS_ATTR) == USER
    assert getattr(FakeState.admin_only, ACCESS_ATTR) == ADMIN
    assert "user" not in FakeState.rename.__annotations__


async def test_the_user_comes_from_the_guard_not_the_payload():
    me = User(id=7, email="me@example.com", password_hash="x", role="user")
    state = FakeState(me)
    assert await FakeState.rename(state, "a", 1, True) == "done"
    assert state.calls == [(7, "a", 1, True)]
    # A forged `user` keyword is not a parameter: refused before anything runs.
    assert await FakeState.rename(state, "a", 1, True, user={"id": 1, "role": "admin"}) != "done"
    assert len(state.calls) == 1


async def test_signed_out_and_non_admin_callers_do_not_run_the_handler():
    assert await FakeState.rename(FakeState(None), "a", 1, True) == "to-login"
    customer = FakeState(User(id=3, email="c@example.com", password_hash="x", role="user"))
    assert await FakeState.admin_only(customer, 1) == "to-login"
    assert customer.calls == []


@pytest.mark.parametrize("args", [
    ({"id": 1}, 1, True),          # an object where a string belongs
    ("a", "1", True),              # a string where an int belongs
    ("a", True, True),             # bool is not an int
    ("a", 1, 1),                   # int is not a bool
    ("a" * 257, 1, True),          # too long
    ("a", 2**40, True),            # out of range
    ("a", 1),                      # missing
    ("a", 1, True, "extra"),       # too many
])
async def test_bad_arguments_are_refused_and_change_nothing(args):
    state = FakeState(User(id=7, email="me@example.com", password_hash="x", role="user"))
    result = await FakeState.rename(state, *args)
    assert result != "done" and state.calls == []


def test_check_arguments_directly():
    sig = inspect.signature(FakeState.rename)
    types = {"label": str, "count": int, "flag": bool}
    check_arguments(sig, types, ("ok", 3, False), {})
    with pytest.raises(BadArguments):
        check_arguments(sig, types, (None, 3, False), {})


def test_a_handler_cannot_declare_a_server_side_argument():
    with pytest.raises(TypeError, match="str, int or bool"):
        @guarded
        async def bad(self, user: User, victim: User):  # noqa: ARG001
            pass
    with pytest.raises(TypeError, match="takes `user`"):
        @guarded
        async def no_user(self, label: str):  # noqa: ARG001
            pass
