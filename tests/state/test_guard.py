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


class DemotedTab:
    """The AuthState fields `_guard_user` reads and writes, of a tab filled while its user was an admin."""

    def __init__(self) -> None:
        self._user_id: int | None = 7
        self.is_admin = True
        self.lang = self.email = ""
        self.signed_in, self.denied = True, False
        self.wiped = 0

    async def _wipe_tab(self) -> None:
        self.wiped += 1
        self._user_id = None

    def _say(self, key: str, **_: object) -> str:
        return key


@pytest.mark.parametrize("admin_handler", [False, True])
async def test_an_admin_who_lost_the_role_has_his_tab_wiped(monkeypatch, admin_handler):
    """The tab still held what only admins see (the servers page's webhook URLs, the users list, the
    reset link): the next handler of any kind wipes it first, and an admin-only one is refused."""
    from wahaweb.state import auth

    demoted = User(id=7, email="me@example.com", password_hash="x", role="user", language="en")

    async def cookie_user(state):
        return demoted

    monkeypatch.setattr(auth, "cookie_user", cookie_user)
    tab = DemotedTab()
    user, refusal = await auth.AuthState._guard_user(tab, admin=admin_handler)
    assert tab.wiped == 1
    assert (user is None) == admin_handler and (refusal is not None) == admin_handler
    if not admin_handler:
        assert tab._user_id == 7 and tab.is_admin is False
    again = DemotedTab()  # still an admin: nothing wiped
    monkeypatch.setattr(demoted, "role", "admin")
    await auth.AuthState._guard_user(again, admin=admin_handler)
    assert again.wiped == 0
