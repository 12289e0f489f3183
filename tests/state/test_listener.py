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
from wahaweb.state.feed import UserFeed, UserQr
from wahaweb.state.live import make_listener


class FakeFeed:
    """Records what the listener asked of a feed (the real UserFeed needs a Reflex state tree)."""

    def __init__(self) -> None:
        self.patched: list = []
        self.removed: list = []
        self.timelines: dict = {}
        self.all_sessions: list = []
        #: What `_patch` answers: whether the card was applied (False: an older row than the one shown).
        self.applies = True

    def _patch(self, card, *, own, admin) -> bool:
        self.patched.append((card.id, card.status, card.owner, own, admin))
        return self.applies

    def _remove(self, session_id) -> None:
        self.removed.append(session_id)

    def _set_timeline(self, session_id, items) -> None:
        self.timelines[session_id] = items


class FakeCodes:
    """Records what the listener asked of a sign-in's QR codes (`UserQr`)."""

    def __init__(self) -> None:
        self.qr: dict = {}
        self.dropped: list = []

    def _set(self, session_id, card) -> None:
        self.qr[session_id] = card

    def _drop(self, session_id) -> None:
        self.dropped.append(session_id)
        self.qr.pop(session_id, None)

    def _clear(self) -> None:
        self.qr.clear()


class FakeApp:
    """Records `modify_state` by token, as Reflex's app would route it to that token's tabs: a
    `UserFeed` token's state is a FakeFeed (in `feeds`), a `UserQr` token's a FakeCodes (in `codes`)."""

    def __init__(self) -> None:
        self.feeds: dict[str, FakeFeed] = {}
        self.codes: dict[str, FakeCodes] = {}
        #: Tokens whose lock is held right now (inside `modify_state`).
        self.held: set[str] = set()
        #: Every `modify_state`, in order: (state class name, token).
        self.calls: list[tuple[str, str]] = []

    @contextlib.asynccontextmanager
    async def modify_state(self, token):
        assert token.cls in (UserFeed, UserQr), token.cls
        state = (self.feeds.setdefault(token.ident, FakeFeed()) if token.cls is UserFeed
                 else self.codes.setdefault(token.ident, FakeCodes()))
        self.calls.append((token.cls.__name__, token.ident))

        class Root:
            async def get_state(self, cls):
                assert cls is token.cls
                return state

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
    alice_qr = await core.qr_token(hash_token(alice_cookie))
    assert alice_token != f"user{alice.id}" and len(alice_token) > 40  # not guessable

    await listener(PageUpdate(kind="qr", session_id="s1", user_id=alice.id, status="pairing",
                              qr=_qr("s1", alice.id), notify_admins=False))
    assert set(app.codes) == {alice_qr}  # the owner only; admins never get QR codes
    assert "s1" in app.codes[alice_qr].qr

    await core.admin.set_active(admin, alice.id, False)
    app.feeds.clear()
    app.codes.clear()
    await listener(PageUpdate(kind="qr", session_id="s1", user_id=alice.id, status="pairing",
                              qr=_qr("s1", alice.id), notify_admins=False))
    row = WaSession(id="s1", user_id=alice.id, status="connected")
    await listener(PageUpdate(kind="status", session_id="s1", user_id=alice.id, status="connected", changed=True,
                              session=row))
    assert alice_token not in app.feeds and not app.codes  # a disabled account's tabs get nothing at all
    # The admin still sees the change: one card patched, with its owner's e-mail, no reload.
    assert app.feeds[admin_token].patched == [("s1", "connected", "alice@example.com", False, True)]


async def test_feed_tokens_are_stable_per_sign_in_and_differ_between_sign_ins(make_core, sqlite_url):  # noqa: F811
    core = await make_core(embedded_settings(sqlite_url))
    assert await core.feed_token("a") == await core.feed_token("a")
    assert await core.feed_token("a") != await core.feed_token("b")
    assert "_" not in await core.feed_token("a")  # Reflex forbids underscores in shared tokens


async def test_qr_tokens_are_per_sign_in_and_are_not_the_feeds(make_core, sqlite_url):  # noqa: F811
    """The QR state's token: another HMAC of the sign-in (neither token gives the other), of the
    shape the log redactor masks (`feed` + 64 hex digits)."""
    from wahaweb.observability.redact import Redactor

    core = await make_core(embedded_settings(sqlite_url))
    qr_a, qr_b, feed_a = await core.qr_token("a"), await core.qr_token("b"), await core.feed_token("a")
    assert qr_a == await core.qr_token("a") and qr_a != qr_b and qr_a != feed_a
    assert "_" not in qr_a and qr_a.startswith("feed") and len(qr_a) == 4 + 64
    assert qr_a not in Redactor()(f"linked to {qr_a}")


async def test_a_qr_push_writes_the_qr_state_only_never_the_feed(make_core, sqlite_url):  # noqa: F811
    """Issue 16: each rotation went into the sign-in's feed (`UserFeed.qr`), so every part of the page
    reading the feed was re-rendered; now it writes `UserQr` under its own token and nothing else
    (failed on old code: the push modified the feed's token)."""
    core = await make_core(embedded_settings(sqlite_url))
    await register(core, "admin@example.com")
    alice = await register(core, "alice@example.com")
    cookie = (await core.accounts.sign_in("alice@example.com", "correct horse battery")).token
    app = FakeApp()
    listener = make_listener(app, core)
    await listener(PageUpdate(kind="qr", session_id="s1", user_id=alice.id, status="pairing",
                              qr=_qr("s1", alice.id), notify_admins=False))
    assert app.calls == [("UserQr", await core.qr_token(hash_token(cookie)))]
    assert not app.feeds


async def test_the_qr_goes_when_its_session_leaves_pairing_not_on_a_stale_push(make_core, sqlite_url):  # noqa: F811
    """As when the QR was in the feed: a card that leaves pairing, or a deleted session, takes its QR
    with it (after the feed's patch, its lock released); a push the feed drops as older than its card
    (`_patch` answers False) leaves the QR; a pairing push or an admin's never touches QR codes."""
    core = await make_core(embedded_settings(sqlite_url))
    await register(core, "admin@example.com")
    alice = await register(core, "alice@example.com")
    cookie = (await core.accounts.sign_in("alice@example.com", "correct horse battery")).token
    admin_cookie = (await core.accounts.sign_in("admin@example.com", "correct horse battery")).token
    qr_token, feed_token = await core.qr_token(hash_token(cookie)), await core.feed_token(hash_token(cookie))
    admin_qr = await core.qr_token(hash_token(admin_cookie))
    app = FakeApp()
    listener = make_listener(app, core)

    async def push(status: str, *, kind: str = "status", applies: bool = True) -> None:
        app.feeds.setdefault(feed_token, FakeFeed()).applies = applies
        row = WaSession(id="s1", user_id=alice.id, status=status)
        await listener(PageUpdate(kind=kind, session_id="s1", user_id=alice.id, status=status, changed=True,
                                  session=row if kind != "removed" else None))

    await listener(PageUpdate(kind="qr", session_id="s1", user_id=alice.id, status="pairing",
                              qr=_qr("s1", alice.id), notify_admins=False))
    await push("pairing")
    await push("starting", applies=False)  # an older row than the card shown: dropped, and the QR stays
    assert "s1" in app.codes[qr_token].qr and app.codes[qr_token].dropped == []
    app.calls.clear()
    await push("connected")
    assert "s1" not in app.codes[qr_token].qr
    assert [name for name, token in app.calls if token in (qr_token, feed_token)] == ["UserFeed", "UserQr"]
    assert admin_qr not in {token for _, token in app.calls}  # the admin's feed got the card, never a QR
    assert ("UserFeed", await core.feed_token(hash_token(admin_cookie))) in app.calls
    await push("", kind="removed")
    assert app.codes[qr_token].dropped == ["s1", "s1"]


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
    assert set(app.codes) == {await core.qr_token(hash_token(phone))}


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
