"""Accounts: registration rules, first admin, sign-in throttling, tokens, rehash."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlmodel import select

from wahaweb.core.errors import AuthError, RateLimited, ValidationFailed
from wahaweb.core.models import AuthToken, User

from .conftest import PASSWORD, embedded_settings, fast_hasher, register


async def test_first_account_becomes_admin_and_later_ones_do_not(core):
    first = await register(core, "Owner@Example.com ")
    second = await register(core, "user@example.com")
    assert first.role == "admin" and first.is_admin
    assert first.email == "owner@example.com"  # normalised
    assert second.role == "user" and not second.is_admin


async def test_the_first_account_gets_no_plan_but_the_default_limit(make_core, sqlite_url):
    """The operator's own account is not held to the Free plan's single session."""
    core = await make_core(embedded_settings(sqlite_url, default_session_limit=10))
    first = await register(core, "owner@example.com")
    assert first.plan_id is None
    usage = await core.accounts.usage(first)
    assert (usage.plan_name, usage.limit) == (None, 10)
    second = await register(core, "customer@example.com")
    assert (await core.accounts.usage(second)).plan_name == "Free"


async def test_signups_get_the_configured_plan(make_core, sqlite_url, tmp_path):
    core = await make_core(embedded_settings(sqlite_url))
    await register(core, "owner@example.com")
    user = await register(core, "a@example.com")
    assert (await core.accounts.usage(user)).plan_name == "Free"

    pro = await make_core(embedded_settings(f"sqlite+aiosqlite:///{tmp_path / 'pro.db'}", signup_plan="Pro"))
    await register(pro, "owner@example.com")
    user = await register(pro, "b@example.com")
    assert (await pro.accounts.usage(user)).plan_name == "Pro"

    none = await make_core(embedded_settings(f"sqlite+aiosqlite:///{tmp_path / 'none.db'}",
                                             signup_plan="NoSuchPlan", default_session_limit=7))
    await register(none, "owner@example.com")
    user = await register(none, "c@example.com")
    usage = await none.accounts.usage(user)
    assert usage.plan_name is None and usage.limit == 7


@pytest.mark.parametrize(("email", "password", "field", "words"), [
    ("", PASSWORD, "email", "Enter your email"),
    ("not-an-email", PASSWORD, "email", "valid email"),
    ("a@b", PASSWORD, "email", "valid email"),
    ("a b@example.com", PASSWORD, "email", "valid email"),
    ("x" * 250 + "@example.com", PASSWORD, "email", "at most 254"),
    ("ok@example.com", "", "password", "Choose a password"),
    ("ok@example.com", "short1234", "password", "at least 10"),
    ("ok@example.com", "x" * 300, "password", "at most"),
])
async def test_registration_validation(core, email, password, field, words):
    with pytest.raises(ValidationFailed) as info:
        await core.accounts.register(email, password)
    assert info.value.field == field
    assert words in str(info.value)


async def test_duplicate_email_is_refused_case_insensitively(core):
    await register(core, "dup@example.com")
    with pytest.raises(ValidationFailed, match="already exists") as info:
        await core.accounts.register("DUP@example.com", PASSWORD)
    assert info.value.field == "email"


async def test_wrong_email_and_wrong_password_get_the_same_message(core):
    await register(core, "real@example.com")
    with pytest.raises(AuthError) as wrong_password:
        await core.accounts.sign_in("real@example.com", "not the password", client="c1")
    with pytest.raises(AuthError) as unknown_email:
        await core.accounts.sign_in("nobody@example.com", PASSWORD, client="c2")
    assert str(wrong_password.value) == str(unknown_email.value) == "Wrong email or password."


async def test_token_is_random_stored_only_as_hash_and_authenticates(core):
    user = await register(core, "t@example.com")
    signed = await core.accounts.sign_in("T@example.com", PASSWORD, client="c")
    assert len(signed.token) >= 43  # 32 random bytes, URL-safe base64
    assert (await core.accounts.authenticate(signed.token)).id == user.id
    async with core.db.session() as s:
        rows = list(await s.exec(select(AuthToken)))
    assert len(rows) == 1
    assert rows[0].token_hash == hashlib.sha256(signed.token.encode()).hexdigest()
    assert signed.token not in str(rows[0].model_dump())


@pytest.mark.parametrize("token", [None, "", "garbage", "x" * 43])
async def test_missing_or_unknown_tokens_are_refused(core, token):
    with pytest.raises(AuthError, match="sign in"):
        await core.accounts.authenticate(token)


async def test_token_expires(make_core, sqlite_url, clock):
    core = await make_core(embedded_settings(sqlite_url, token_ttl_hours=2))
    await register(core, "exp@example.com")
    signed = await core.accounts.sign_in("exp@example.com", PASSWORD)
    assert signed.expires_at == clock() + dt.timedelta(hours=2)
    clock.advance(2 * 3600 - 1)
    await core.accounts.authenticate(signed.token)
    clock.advance(1)
    with pytest.raises(AuthError, match="expired"):
        await core.accounts.authenticate(signed.token)


async def test_sign_out_revokes_server_side(core):
    await register(core, "out@example.com")
    a = await core.accounts.sign_in("out@example.com", PASSWORD)
    b = await core.accounts.sign_in("out@example.com", PASSWORD)
    await core.accounts.sign_out(a.token)
    with pytest.raises(AuthError):
        await core.accounts.authenticate(a.token)
    await core.accounts.authenticate(b.token)  # another tab's token still works
    await core.accounts.sign_out(a.token)  # idempotent
    await core.accounts.sign_out("unknown")


async def test_disabled_user_tokens_stop_at_once(core):
    admin = await register(core, "admin@example.com")
    user = await register(core, "victim@example.com")
    signed = await core.accounts.sign_in("victim@example.com", PASSWORD)
    await core.accounts.authenticate(signed.token)
    await core.admin.set_active(admin, user.id, False)
    with pytest.raises(AuthError, match="disabled"):
        await core.accounts.authenticate(signed.token)
    # An object the UI still holds is not enough either: every action re-reads the user.
    with pytest.raises(AuthError, match="disabled"):
        await core.sessions.of_user(user)
    with pytest.raises(AuthError, match="disabled"):
        await core.accounts.sign_in("victim@example.com", PASSWORD)
    # Re-enabled: old tokens were revoked, a new sign-in works.
    await core.admin.set_active(admin, user.id, True)
    with pytest.raises(AuthError):
        await core.accounts.authenticate(signed.token)
    again = await core.accounts.sign_in("victim@example.com", PASSWORD)
    assert (await core.accounts.authenticate(again.token)).id == user.id


async def test_sign_in_throttled_per_account(core, clock):
    await register(core, "target@example.com")
    for i in range(5):
        with pytest.raises(AuthError):
            await core.accounts.sign_in("target@example.com", "wrong password!", client=f"client-{i}")
    # The 6th attempt is refused even with the right password, from a fresh client, with the wait.
    with pytest.raises(RateLimited) as info:
        await core.accounts.sign_in("TARGET@example.com", PASSWORD, client="fresh-client")
    assert info.value.name == "sign_in"
    assert info.value.retry_after_seconds == 15 * 60
    assert "15 minutes" not in str(info.value) and "900 seconds" in str(info.value)
    clock.advance(10 * 60)
    with pytest.raises(RateLimited) as info:
        await core.accounts.sign_in("target@example.com", PASSWORD, client="fresh-client")
    assert info.value.retry_after_seconds == 5 * 60
    clock.advance(5 * 60 + 1)
    assert (await core.accounts.sign_in("target@example.com", PASSWORD, client="fresh-client")).token


async def test_sign_in_throttled_per_client(core, clock):
    """One client may not spray passwords across accounts: 20 attempts in 15 minutes, all counted."""
    names = [f"u{i}" for i in range(21)]
    for name in names:
        await register(core, f"{name}@example.com")
    for name in names[:20]:  # one failure on each of twenty accounts, same client
        with pytest.raises(AuthError):
            await core.accounts.sign_in(f"{name}@example.com", "wrong password!", client="10.0.0.9")
    with pytest.raises(RateLimited) as info:
        await core.accounts.sign_in("u20@example.com", PASSWORD, client="10.0.0.9")
    assert info.value.retry_after_seconds == 900
    # Another client is not affected, and neither is the account u20.
    assert (await core.accounts.sign_in("u20@example.com", PASSWORD, client="10.0.0.10")).token
    clock.advance(15 * 60 + 1)
    assert (await core.accounts.sign_in("u20@example.com", PASSWORD, client="10.0.0.9")).token


async def test_successful_sign_in_clears_account_failures(core):
    await register(core, "forgetful@example.com")
    for _ in range(4):
        with pytest.raises(AuthError):
            await core.accounts.sign_in("forgetful@example.com", "wrong password!")
    await core.accounts.sign_in("forgetful@example.com", PASSWORD)
    for _ in range(4):
        with pytest.raises(AuthError):
            await core.accounts.sign_in("forgetful@example.com", "wrong password!")
    assert (await core.accounts.sign_in("forgetful@example.com", PASSWORD)).token


async def test_password_is_rehashed_when_parameters_change(make_core, sqlite_url):
    old = await make_core(embedded_settings(sqlite_url), password_hasher=fast_hasher(time_cost=1))
    user = await register(old, "rehash@example.com")
    assert "t=1" in user.password_hash
    assert user.password_hash.startswith("$argon2id$")
    await old.aclose()

    new = await make_core(embedded_settings(sqlite_url), password_hasher=fast_hasher(time_cost=2))
    with pytest.raises(AuthError):  # a wrong password changes nothing
        await new.accounts.sign_in("rehash@example.com", "wrong password!")
    async with new.db.session() as s:
        assert "t=1" in (await s.get(User, user.id)).password_hash
    await new.accounts.sign_in("rehash@example.com", PASSWORD)
    async with new.db.session() as s:
        stored = (await s.get(User, user.id)).password_hash
    assert stored.startswith("$argon2id$") and "t=2" in stored
    await new.accounts.sign_in("rehash@example.com", PASSWORD)  # the new hash verifies


async def test_sign_in_writes_audit_events(core):
    await register(core, "audited@example.com")
    with pytest.raises(AuthError):
        await core.accounts.sign_in("audited@example.com", "wrong password!")
    await core.accounts.sign_in("audited@example.com", PASSWORD)
    events = await core.audit.recent(10, action="sign_in")
    assert [e.outcome for e in events] == ["ok", "denied"]


async def test_default_hasher_is_argon2id():
    from wahaweb.core.accounts import default_password_hasher

    assert default_password_hasher().hash("something long").startswith("$argon2id$")


async def test_usage_counts_only_active_sessions(core):
    user = await register(core, "usage@example.com", plan="Basic")
    usage = await core.accounts.usage(user)
    assert (usage.active, usage.limit, usage.plan_name, usage.text) == (0, 3, "Basic", "0 / 3")


class CountingHasher:
    """Wraps the test hasher and counts how many passwords were actually judged."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.judged = 0

    def hash(self, password):
        return self.inner.hash(password)

    def verify(self, password, hashed):
        self.judged += 1
        return self.inner.verify(password, hashed)

    def verify_and_update(self, password, hashed):
        self.judged += 1
        return self.inner.verify_and_update(password, hashed)


async def test_concurrent_wrong_sign_ins_leave_at_most_five_judged(make_core, sqlite_url):
    """The attempt is counted before the slow hash, atomically: concurrency does not buy guesses."""
    import asyncio

    hasher = CountingHasher(fast_hasher())
    core = await make_core(embedded_settings(sqlite_url), password_hasher=hasher)
    await register(core, "target@example.com")
    hasher.judged = 0
    guesses = [f"guess number {i}" for i in range(29)] + [PASSWORD]  # the right one is among them
    results = await asyncio.gather(
        *(core.accounts.sign_in("target@example.com", pw, client=f"c{i}") for i, pw in enumerate(guesses)),
        return_exceptions=True)
    assert hasher.judged <= 5
    assert sum(1 for r in results if isinstance(r, RateLimited)) >= 25


async def test_concurrent_sign_ups_from_one_client_are_limited(core):
    import asyncio

    results = await asyncio.gather(
        *(core.accounts.register(f"n{i}@example.com", PASSWORD, client="198.51.100.7") for i in range(12)),
        return_exceptions=True)
    made = [r for r in results if isinstance(r, User)]
    limited = [r for r in results if isinstance(r, RateLimited)]
    assert len(made) == 5 and len(limited) == 7
    assert limited[0].name == "sign_up"
    # Another client still may.
    assert isinstance(await core.accounts.register("other@example.com", PASSWORD, client="198.51.100.8"), User)


@pytest.mark.parametrize("email", [
    "adm\x00in@example.com",          # NUL
    "ad\u200bmin@example.com",        # zero-width space
    "ad\u2060min@example.com",        # word joiner
    "ad\u00admin@example.com",        # soft hyphen
    "adm\ufffdin@example.com",        # what invalid UTF-8 decodes to
    "\u0430dmin@example.com",         # Cyrillic a: a homoglyph of "admin"
    "admin@ex\u0430mple.com",         # homoglyph in the domain
    "ad\u202emin@example.com",        # right-to-left override
])
async def test_look_alike_emails_are_refused_with_a_clear_message(core, email):
    with pytest.raises(ValidationFailed) as info:
        await core.accounts.register(email, PASSWORD)
    assert info.value.field == "email"
    assert "invisible" in str(info.value) or "Latin letters" in str(info.value)


async def test_full_width_letters_are_folded_not_refused(core):
    """NFKC turns compatibility forms into the plain letters an operator would read."""
    user = await core.accounts.register("\uff41lice@example.com", PASSWORD)  # full-width a
    assert user.email == "alice@example.com"
    with pytest.raises(ValidationFailed, match="already exists"):
        await core.accounts.register("alice@example.com", PASSWORD)
