"""A sign-in checked a moment ago is trusted for 2 s (by the injected clock), and never after
it was revoked, its user disabled or changed: those are refused at once."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from tests.core.conftest import PASSWORD, register
from wahaweb.core.errors import AuthError
from wahaweb.core.models import User
from wahaweb.core.trusted import TrustedSignIns


def count_sql(core) -> list[str]:
    statements: list[str] = []
    sa.event.listen(core.db.engine.sync_engine, "before_cursor_execute",
                    lambda conn, cursor, stmt, *a: statements.append(stmt))
    return statements


async def test_a_sign_in_checked_a_moment_ago_is_not_read_again(core, clock):
    await register(core, "admin@example.com")
    await register(core, "alice@example.com")
    cookie = (await core.accounts.sign_in("alice@example.com", PASSWORD)).token
    statements = count_sql(core)
    user = await core.accounts.authenticate(cookie)
    assert len(statements) == 1  # one SELECT, no BEGIN/COMMIT around it
    assert (await core.accounts.authenticate(cookie)).id == user.id
    assert (await core.accounts.resolve(user)).id == user.id
    assert len(statements) == 1
    clock.advance(2.0)  # the trust is over: both ask the database again
    await core.accounts.resolve(user)
    assert len(statements) == 2
    await core.accounts.authenticate(cookie)
    assert len(statements) == 3


async def test_a_signed_out_cookie_is_refused_at_once(core):
    await register(core, "admin@example.com")
    await register(core, "alice@example.com")
    cookie = (await core.accounts.sign_in("alice@example.com", PASSWORD)).token
    await core.accounts.authenticate(cookie)  # trusted now
    await core.accounts.sign_out(cookie)
    with pytest.raises(AuthError) as refused:
        await core.accounts.authenticate(cookie)
    assert refused.value.code == "expired"


async def test_a_disabled_user_is_refused_at_once(core):
    admin = await register(core, "admin@example.com")
    await register(core, "alice@example.com")
    cookie = (await core.accounts.sign_in("alice@example.com", PASSWORD)).token
    alice = await core.accounts.authenticate(cookie)
    await core.accounts.resolve(alice)  # both trusted now
    await core.admin.set_active(admin, alice.id, False)
    with pytest.raises(AuthError):
        await core.accounts.authenticate(cookie)
    with pytest.raises(AuthError) as refused:
        await core.accounts.resolve(alice)
    assert refused.value.code == "disabled"
    with pytest.raises(AuthError):
        await core.sessions.reserve(alice, "Sales")


async def test_a_role_taken_away_is_seen_at_once(core):
    admin = await register(core, "admin@example.com")
    alice = await register(core, "alice@example.com")
    await core.admin.set_admin(admin, alice.id, True)
    cookie = (await core.accounts.sign_in("alice@example.com", PASSWORD)).token
    assert (await core.accounts.authenticate(cookie)).is_admin
    await core.admin.set_admin(admin, alice.id, False)
    assert not (await core.accounts.authenticate(cookie)).is_admin
    assert not (await core.accounts.resolve(alice)).is_admin


async def test_other_sign_ins_are_refused_at_once_after_a_password_change(core):
    await register(core, "admin@example.com")
    await register(core, "alice@example.com")
    here = (await core.accounts.sign_in("alice@example.com", PASSWORD)).token
    there = (await core.accounts.sign_in("alice@example.com", PASSWORD)).token
    alice = await core.accounts.authenticate(there)  # trusted now
    await core.passwords.change(alice, PASSWORD, "another long password", keep_token=here)
    with pytest.raises(AuthError):
        await core.accounts.authenticate(there)
    assert (await core.accounts.authenticate(here)).id == alice.id


async def test_revoke_all_refuses_every_sign_in_at_once(core):
    await register(core, "admin@example.com")
    await register(core, "alice@example.com")
    cookie = (await core.accounts.sign_in("alice@example.com", PASSWORD)).token
    alice = await core.accounts.authenticate(cookie)
    await core.accounts.revoke_all(alice.id)
    with pytest.raises(AuthError):
        await core.accounts.authenticate(cookie)


async def test_a_change_made_elsewhere_is_seen_once_the_trust_is_over(core, clock):
    """Another worker disabled the user: this process notices within the 2 s, never later."""
    await register(core, "admin@example.com")
    await register(core, "alice@example.com")
    cookie = (await core.accounts.sign_in("alice@example.com", PASSWORD)).token
    alice = await core.accounts.authenticate(cookie)
    async with core.db.transaction() as s:
        await s.exec(sa.update(User).where(User.id == alice.id).values(active=False))  # type: ignore[call-overload]
    clock.advance(2.0)
    with pytest.raises(AuthError):
        await core.accounts.authenticate(cookie)
    with pytest.raises(AuthError):
        await core.accounts.resolve(alice)


async def test_a_lookup_running_while_a_user_is_disabled_is_not_kept(core):
    """The read began before the disable committed and ends after it: its answer is not trusted."""
    admin = await register(core, "admin@example.com")
    await register(core, "alice@example.com")
    cookie = (await core.accounts.sign_in("alice@example.com", PASSWORD)).token
    reading, release = asyncio.Event(), asyncio.Event()
    read_one = core.db.read_one

    async def slow_read(statement):
        row = await read_one(statement)
        reading.set()
        await release.wait()
        return row

    core.db.read_one = slow_read
    lookup = asyncio.ensure_future(core.accounts.authenticate(cookie))
    await reading.wait()
    alice = (await core.accounts.get_user(admin.id + 1))
    await core.admin.set_active(admin, alice.id, False)
    release.set()
    await lookup  # it read the row before the change: this one answer is old
    core.db.read_one = read_one
    with pytest.raises(AuthError):
        await core.accounts.authenticate(cookie)


def test_the_trust_lasts_two_seconds_by_the_clock(clock):
    trusted = TrustedSignIns(clock)
    user = User(id=7, email="a@example.com", password_hash="x", role="user", active=True, created_at=clock())
    trusted.remember(user, generation=trusted.generation, token_hash="h")
    clock.advance(1.9)
    assert trusted.for_token("h") is user and trusted.for_user(7) is user
    clock.advance(0.1)
    assert trusted.for_token("h") is None and trusted.for_user(7) is None
    inactive = User(id=8, email="b@example.com", password_hash="x", role="user", active=False, created_at=clock())
    trusted.remember(inactive, generation=trusted.generation)
    assert trusted.for_user(8) is None
    stale = trusted.generation
    trusted.forget(9)
    trusted.remember(user, generation=stale)
    assert trusted.for_user(7) is None
