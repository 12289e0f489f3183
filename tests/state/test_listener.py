"""The state layer's live listener as a plain function: who receives which push.

A fake app records every feed token written and what was written; the core is real
(embedded simulator, SQLite). No browser, no websocket.
"""

from __future__ import annotations

import contextlib
import datetime as dt

from tests.core.conftest import clock, embedded_settings, make_core, register, sqlite_url  # noqa: F401
from wahaweb.core.accounts import hash_token
from wahaweb.core.live import PageUpdate
from wahaweb.core.live.notify import CurrentQr
from wahaweb.core.models import WaSession
from wahaweb.state.feed import UserFeed
from wahaweb.state.live import make_listener


class FakeFeed:
    """Records what the listener asked of a feed (the real UserFeed needs a Reflex state tree)."""

    def __init__(self) -> None:
        self.qr: dict = {}
        self.patched: list = []
        self.removed: list = []
        self.timelines: dict = {}
        self.all_sessions: list = []

    def _set_qr(self, session_id, card) -> None:
        self.qr[session_id] = card

    def _patch(self, card, *, own, admin) -> None:
        self.patched.append((card.id, card.status, card.owner, own, admin))

    def _remove(self, session_id) -> None:
        self.removed.append(session_id)

    def _set_timeline(self, session_id, items) -> None:
        self.timelines[session_id] = items


class FakeApp:
    """Records `modify_state` by token, as Reflex's app would route it to that token's tabs."""

    def __init__(self) -> None:
        self.feeds: dict[str, FakeFeed] = {}
        #: Feed tokens whose lock is held right now (inside `modify_state`).
        self.held: set[str] = set()

    @contextlib.asynccontextmanager
    async def modify_state(self, token):
        assert token.cls is UserFeed
        feed = self.feeds.setdefault(token.ident, FakeFeed())

        class Root:
            async def get_state(self, cls):
                return feed

        self.held.add(token.ident)
        try:
            yield Root()
        finally:
            self.held.discard(token.ident)


def _qr(session_id: str, user_id: int) -> CurrentQr:
    now = dt.datetime.now(dt.timezone.utc)
    return CurrentQr(session_id=session_id, user_id=user_id, data_url="data:image/png;base64,AAAA", rotation=1,
                   max_rotations=6, fetched_at=now, expires_at=now + dt.timedelta(seconds=60))


async def test_qr_goes_to_its_owner_only_and_never_to_a_disabled_account(make_core, sqlite_url):  # noqa: F811
    core = await make_core(embedded_settings(sqlite_url))
    admin = await register(core, "admin@example.com")
    alice = await register(core, "alice@example.com")
    alice_cookie = (await core.accounts.sign_in("alice@example.com", "correct horse battery")).token
    admin_cookie = (await core.accounts.sign_in("admin@example.com", "correct horse battery")).token
    app = FakeApp()
    listener = make_listener(app, core)
    alice_token = await core.feed_token(hash_token(alice_cookie))
    admin_token = await core.feed_token(hash_token(admin_cookie))
    assert alice_token != f"user{alice.id}" and len(alice_token) > 40  # not guessable

    await listener(PageUpdate(kind="qr", session_id="s1", user_id=alice.id, status="pairing",
                              qr=_qr("s1", alice.id), notify_admins=False))
    assert set(app.feeds) == {alice_token}  # the owner only; admins never get QR codes
    assert "s1" in app.feeds[alice_token].qr

    await core.admin.set_active(admin, alice.id, False)
    app.feeds.clear()
    await listener(PageUpdate(kind="qr", session_id="s1", user_id=alice.id, status="pairing",
                              qr=_qr("s1", alice.id), notify_admins=False))
    row = WaSession(id="s1", user_id=alice.id, status="connected")
    await listener(PageUpdate(kind="status", session_id="s1", user_id=alice.id, status="connected", changed=True,
                              session=row))
    assert alice_token not in app.feeds  # a disabled account's tabs get nothing at all
    # The admin still sees the change: one card patched, with its owner's e-mail, no reload.
    assert app.feeds[admin_token].patched == [("s1", "connected", "alice@example.com", False, True)]


async def test_feed_tokens_are_stable_per_sign_in_and_differ_between_sign_ins(make_core, sqlite_url):  # noqa: F811
    core = await make_core(embedded_settings(sqlite_url))
    assert await core.feed_token("a") == await core.feed_token("a")
    assert await core.feed_token("a") != await core.feed_token("b")
    assert "_" not in await core.feed_token("a")  # Reflex forbids underscores in shared tokens


async def test_a_signed_out_browser_gets_no_more_pushes(make_core, sqlite_url):  # noqa: F811
    """Feeds are per sign-in: after sign-out, that browser's tabs hear nothing, the user's other
    browser still does."""
    core = await make_core(embedded_settings(sqlite_url))
    await register(core, "admin@example.com")
    alice = await register(core, "alice@example.com")
    laptop = (await core.accounts.sign_in("alice@example.com", "correct horse battery")).token
    phone = (await core.accounts.sign_in("alice@example.com", "correct horse battery")).token
    app = FakeApp()
    listener = make_listener(app, core)
    await core.accounts.sign_out(laptop)
    await listener(PageUpdate(kind="qr", session_id="s1", user_id=alice.id, status="pairing",
                              qr=_qr("s1", alice.id), notify_admins=False))
    assert set(app.feeds) == {await core.feed_token(hash_token(phone))}


async def test_no_database_read_while_a_feed_is_locked(make_core, sqlite_url):  # noqa: F811
    """Issue 16: a QR push to a feed must not wait behind a status patch's query (the open page's timeline)."""
    core = await make_core(embedded_settings(sqlite_url))
    await register(core, "admin@example.com")  # the first account is the admin (not signed in here)
    alice = await register(core, "alice@example.com")
    cookie = (await core.accounts.sign_in("alice@example.com", "correct horse battery")).token
    token = await core.feed_token(hash_token(cookie))
    app = FakeApp()
    listener = make_listener(app, core)
    app.feeds[token] = FakeFeed()
    app.feeds[token].timelines["s1"] = []  # the session's page is open: its timeline is kept live
    read_while_held: list[bool] = []
    for_session = core.audit.for_session

    async def spy(session_id, limit=50):
        read_while_held.append(bool(app.held))
        return await for_session(session_id, limit)

    core.audit.for_session = spy
    row = WaSession(id="s1", user_id=alice.id, status="pairing")
    await listener(PageUpdate(kind="status", session_id="s1", user_id=alice.id, status="pairing", changed=True,
                              session=row))
    assert app.feeds[token].patched == [("s1", "pairing", "", True, False)]
    assert read_while_held == [False]  # the timeline was read, with no lock held
    assert "s1" in app.feeds[token].timelines
