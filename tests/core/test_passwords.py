"""Password change and admin reset links: current password required, other sign-ins revoked,
links single-use and dead after 24 hours, everything audited."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from wahaweb.core.errors import AuthError, NotFound, PermissionDenied, ValidationFailed
from wahaweb.core.models import AuditEvent, PasswordReset

from .conftest import PASSWORD, embedded_settings, register

NEW = "a brand new passphrase"


async def _actions(core) -> list[tuple[str, str]]:
    async with core.db.session() as s:
        return [(e.action, e.outcome) for e in await s.exec(select(AuditEvent).order_by(AuditEvent.id))]


async def test_change_needs_the_current_password(core, users):
    _, alice, _ = users
    here = await core.accounts.sign_in(alice.email, PASSWORD)
    with pytest.raises(ValidationFailed) as caught:
        await core.passwords.change(alice, "not my password", NEW, keep_token=here.token)
    assert caught.value.code == "current_password_wrong" and caught.value.field == "current_password"
    await core.accounts.authenticate(here.token)  # nothing was revoked
    await core.accounts.sign_in(alice.email, PASSWORD)  # the old password still works
    assert ("change_password", "denied") in await _actions(core)


async def test_change_revokes_every_other_sign_in_and_keeps_this_one(core, users):
    _, alice, bob = users
    here = await core.accounts.sign_in(alice.email, PASSWORD)
    elsewhere = await core.accounts.sign_in(alice.email, PASSWORD)
    bobs = await core.accounts.sign_in(bob.email, PASSWORD)
    assert await core.passwords.change(alice, PASSWORD, NEW, keep_token=here.token) == 1
    await core.accounts.authenticate(here.token)
    with pytest.raises(AuthError):
        await core.accounts.authenticate(elsewhere.token)
    await core.accounts.authenticate(bobs.token)  # another user's sign-ins are untouched
    with pytest.raises(AuthError):
        await core.accounts.sign_in(alice.email, PASSWORD)
    await core.accounts.sign_in(alice.email, NEW)
    assert ("change_password", "ok") in await _actions(core)


async def test_change_checks_the_new_password(core, users):
    _, alice, _ = users
    with pytest.raises(ValidationFailed) as caught:
        await core.passwords.change(alice, PASSWORD, "short")
    assert caught.value.code == "password_min_length"


async def test_reset_link_is_single_use_and_revokes_all_sign_ins(core, users):
    admin, alice, _ = users
    signed_in = await core.accounts.sign_in(alice.email, PASSWORD)
    token = await core.passwords.create_reset_link(admin, alice.id)
    async with core.db.session() as s:
        row = (await s.exec(select(PasswordReset))).one()
    assert token not in row.token_hash and len(row.token_hash) == 64  # only a hash is stored
    assert await core.passwords.link_is_valid(token)
    user = await core.passwords.reset(token, NEW)
    assert user.id == alice.id
    with pytest.raises(AuthError):
        await core.accounts.authenticate(signed_in.token)
    await core.accounts.sign_in(alice.email, NEW)
    assert not await core.passwords.link_is_valid(token)
    with pytest.raises(AuthError) as caught:
        await core.passwords.reset(token, "yet another passphrase")
    assert caught.value.code == "reset_link_invalid"
    await core.accounts.sign_in(alice.email, NEW)  # the second use changed nothing
    actions = await _actions(core)
    assert ("reset_link", "ok") in actions and ("reset_password", "ok") in actions
    assert ("reset_password", "refused") in actions


async def test_concurrent_uses_of_one_link_let_one_through(core, users):
    admin, alice, _ = users
    token = await core.passwords.create_reset_link(admin, alice.id)
    results = await asyncio.gather(*(core.passwords.reset(token, f"{NEW} {i}") for i in range(5)),
                                   return_exceptions=True)
    assert sum(not isinstance(r, BaseException) for r in results) == 1


async def test_one_link_one_use_on_sqlite_and_postgresql(make_core, any_db_url):
    """The single use rests on one conditional UPDATE ... RETURNING: on both databases."""
    core = await make_core(embedded_settings(any_db_url))
    admin = await register(core, "admin@example.com")
    alice = await register(core, "alice@example.com")
    token = await core.passwords.create_reset_link(admin, alice.id)
    results = await asyncio.gather(*(core.passwords.reset(token, f"{NEW} {i}") for i in range(5)),
                                   return_exceptions=True)
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, AuthError) for r in results if isinstance(r, BaseException))


async def test_reset_link_dies_after_24_hours(core, users, clock):
    admin, alice, _ = users
    token = await core.passwords.create_reset_link(admin, alice.id)
    clock.advance(24 * 3600 - 5)
    assert await core.passwords.link_is_valid(token)
    clock.advance(10)
    assert not await core.passwords.link_is_valid(token)
    with pytest.raises(AuthError):
        await core.passwords.reset(token, NEW)
    await core.accounts.sign_in(alice.email, PASSWORD)


async def test_a_newer_link_kills_the_older_one(core, users):
    admin, alice, _ = users
    old = await core.passwords.create_reset_link(admin, alice.id)
    new = await core.passwords.create_reset_link(admin, alice.id)
    assert not await core.passwords.link_is_valid(old) and await core.passwords.link_is_valid(new)


async def test_only_admins_make_links_for_existing_users(core, users):
    admin, alice, bob = users
    with pytest.raises(PermissionDenied):
        await core.passwords.create_reset_link(alice, bob.id)
    with pytest.raises(NotFound):
        await core.passwords.create_reset_link(admin, 99999)
    for bad in ("", "x", "a" * 43):
        assert not await core.passwords.link_is_valid(bad)


async def test_language_is_remembered(core, users):
    _, alice, _ = users
    await core.accounts.set_language(alice, "id")
    assert (await core.accounts.get_user(alice.id)).language == "id"
