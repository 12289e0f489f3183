"""The QR codes' own shared state (`UserQr`, issue 16), linked next to the feed, on Reflex's real
`StateManagerRedis` over the local Redis (the several-workers layout).

A session page's load links the tab to its sign-in's feed, then to its QR codes
(`AuthState._linked_feed`, `_linked_qr`), under two tokens. Under one token, Reflex 0.10 loses the
second state: the event holds that token's lock through the first state's tree, and reads the
second into another tree it never saves, so the QR and the tab's place in `_linked_from` (what a
push fans out to) were gone from Redis.
"""

from __future__ import annotations

import dataclasses

from reflex.istate.manager.redis import StateManagerRedis
from reflex.istate.manager.token import BaseStateToken
from reflex.state import State
from reflex_base.event.context import EventContext

from tests.state.test_keepalive import _enqueue, manager, prefix  # noqa: F401 - the same Redis fixtures
from wahaweb.state import auth as auth_module
from wahaweb.state.feed import QrView, UserFeed, UserQr
from wahaweb.state.session_page import SessionPageState

QR = QrView(data_url="data:image/svg+xml,first", rotation=1)


class Tokens:
    """The Core's two state tokens of one sign-in (real ones are HMACs; these name the test's keys)."""

    def __init__(self, feed: str, qr: str) -> None:
        self.feed, self.qr = feed, qr

    async def feed_token(self, token_hash: str) -> str:
        return self.feed

    async def qr_token(self, token_hash: str) -> str:
        return self.qr


async def load_session_page(store: StateManagerRedis, tab: str, monkeypatch, tokens: Tokens) -> None:
    """What `SessionPageState.load` does to the shared states, with the real linking methods."""
    monkeypatch.setattr(auth_module, "app_core", lambda: tokens)
    monkeypatch.setattr(auth_module, "session_token", lambda state: "the-cookie")
    reset = EventContext.set(EventContext(token=tab, state_manager=store, enqueue_impl=_enqueue))
    try:
        async with store.modify_state_with_links(BaseStateToken(ident=tab, cls=SessionPageState)) as root:
            root.rx_router_session = dataclasses.replace(root.rx_router_session, client_token=tab)
            page = await root.get_state(SessionPageState)
            feed = await page._linked_feed()
            feed.plan = "Pro"
            codes = await page._linked_qr()
            codes._set("s1", QR)
    finally:
        EventContext.reset(reset)


async def stored(store: StateManagerRedis, token: str, cls):
    root = await store.get_state(BaseStateToken(ident=token, cls=cls))
    return await root.get_state(cls)


async def test_a_session_page_load_leaves_the_feed_and_the_qr_codes_linked_in_redis(manager, prefix, monkeypatch):  # noqa: F811
    tab = f"{prefix}-tab"
    tokens = Tokens(f"{prefix}-feed", f"{prefix}-qr")
    await load_session_page(manager, tab, monkeypatch, tokens)

    feed = await stored(manager, tokens.feed, UserFeed)
    codes = await stored(manager, tokens.qr, UserQr)
    assert (feed.plan, feed._linked_from) == ("Pro", {tab})
    assert (codes.qr, codes._linked_from) == ({"s1": QR}, {tab})  # a push to the QR token reaches this tab
    tab_root = await manager.get_state(BaseStateToken(ident=tab, cls=State))
    # The feed first: every event holding both takes their locks in this order.
    assert list(tab_root._reflex_internal_links.items()) == [(UserFeed.get_full_name(), tokens.feed),
                                                              (UserQr.get_full_name(), tokens.qr)]

    # The status engine's push: the QR token alone, its lock only; the feed is not written.
    async with manager.modify_state(BaseStateToken(ident=tokens.qr, cls=UserQr)) as root:
        (await root.get_state(UserQr))._set("s1", dataclasses.replace(QR, rotation=2))
    assert (await stored(manager, tokens.qr, UserQr)).qr["s1"].rotation == 2
    assert (await stored(manager, tokens.feed, UserFeed)).plan == "Pro"


async def test_why_the_qr_codes_have_a_token_of_their_own(manager, prefix, monkeypatch):  # noqa: F811
    """Linked to the feed's own token, the QR state is lost in Redis (Reflex 0.10.1). If this starts
    failing, Reflex saves a second shared state of one token: one token would then do."""
    tab = f"{prefix}-tab"
    shared = f"{prefix}-feed"
    await load_session_page(manager, tab, monkeypatch, Tokens(shared, shared))
    assert (await stored(manager, shared, UserFeed))._linked_from == {tab}
    codes = await stored(manager, shared, UserQr)
    assert (codes.qr, codes._linked_from) == ({}, set())


async def test_the_keeper_keeps_a_quiet_session_pages_qr_codes_alive(manager, prefix, monkeypatch):  # noqa: F811
    """A session page left open keeps its QR state in Redis like its feed (the keeper follows every
    link of the tab's root state)."""
    from wahaweb.state.keepalive import StateKeeper

    tab = f"{prefix}-tab"
    tokens = Tokens(f"{prefix}-feed", f"{prefix}-qr")
    await load_session_page(manager, tab, monkeypatch, tokens)
    qr_keys = [key.decode() async for key in manager.redis.scan_iter(match=f"{tokens.qr}_*")]
    assert qr_keys
    for key in qr_keys:
        await manager.redis.expire(key, 5)
    kept = await StateKeeper(manager, lambda: [tab]).refresh()
    assert kept.shared == 2  # the feed and the QR codes
    assert all([await manager.redis.ttl(key) > 3000 for key in qr_keys])
