"""The keeper of connected tabs' states, against the real local Redis and Reflex's real `StateManagerRedis`.

The bug it fixes: Reflex writes a state key with `EX token_expiration` only when that state
changed, and reads never refresh it, so a quiet tab (a wall screen: no events, no feed
writes) lost its root state (its link to the feed) and the feed lost `_linked_from` after an
hour; the next push reached nobody. Here a tab is linked to its feed through Reflex's own
`_link_to` (the Redis layout `AuthState._open_page` leaves), the keys' TTLs are cut to 5 s by
hand, and one round of the keeper must put them back near `token_expiration`, for the tab
connected to this worker only. No sleeping: the TTLs are read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
import reflex as rx
from redis.asyncio import Redis
from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.redis import StateManagerRedis
from reflex.istate.manager.token import BaseStateToken
from reflex.utils.token_manager import LocalTokenManager, SocketRecord
from reflex_base.event.context import EventContext

from tests.conftest import redis_test_prefix
from wahaweb.state.feed import UserFeed
from wahaweb.state.keepalive import StateKeeper, own_tokens, start_keeping

EXPIRY = 3600
CUT = 5


@pytest.fixture
async def manager(redis_url) -> AsyncIterator[StateManagerRedis]:
    manager = StateManagerRedis(redis=Redis.from_url(redis_url), token_expiration=EXPIRY)
    yield manager
    await manager.close()


@pytest.fixture
async def prefix(redis_url) -> AsyncIterator[str]:
    """This test's tokens start with it (the run's id inside): its keys, dropped afterwards."""
    prefix = redis_test_prefix()
    yield prefix
    client = Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def _enqueue(*_args, **_kwargs) -> None:
    return None


async def open_page(manager: StateManagerRedis, tab: str, feed_token: str) -> None:
    """What `AuthState._open_page` leaves in Redis: the tab linked to its feed, the feed filled."""
    reset = EventContext.set(EventContext(token=tab, state_manager=manager, enqueue_impl=_enqueue))
    try:
        async with manager.modify_state_with_links(BaseStateToken(ident=tab, cls=UserFeed)) as root:
            root.rx_router_session = dataclasses.replace(root.rx_router_session, client_token=tab)
            feed = await (await root.get_state(UserFeed))._link_to(feed_token)
            feed.plan = "Pro"
    finally:
        EventContext.reset(reset)


async def stored_keys(client: Redis, token: str) -> list[str]:
    return sorted([key.decode() async for key in client.scan_iter(match=f"{token}_*")])


async def ttls(client: Redis, keys: list[str]) -> dict[str, int]:
    return {key: await client.ttl(key) for key in keys}


async def test_a_connected_tab_and_its_feed_are_kept_alive_and_a_closed_one_is_left_to_expire(manager, prefix):
    redis = manager.redis
    tab, feed = f"{prefix}-tab", f"{prefix}-feed"
    closed_tab, closed_feed = f"{prefix}-closed-tab", f"{prefix}-closed-feed"
    elsewhere = f"{prefix}-elsewhere-tab"  # a tab on another worker: that worker keeps it
    await open_page(manager, tab, feed)
    await open_page(manager, closed_tab, closed_feed)
    await open_page(manager, elsewhere, f"{prefix}-elsewhere-feed")

    stored = {token: await stored_keys(redis, token) for token in
              (tab, feed, closed_tab, closed_feed, elsewhere, f"{prefix}-elsewhere-feed")}
    assert all(stored.values()), stored  # Reflex wrote a root state per tab, a feed state per feed
    every = [key for keys in stored.values() for key in keys]
    for key in every:
        assert await redis.expire(key, CUT)  # as if 59 quiet minutes had passed

    sockets = LocalTokenManager()
    assert await sockets.link_token_to_sid(tab, "sid-here") is None
    sockets.token_to_socket[elsewhere] = SocketRecord(instance_id="another-worker", sid="sid-there")
    keeper = StateKeeper(manager, lambda: own_tokens(sockets))

    # Reflex's own key names: every key it wrote for the tab and its feed is one the keeper names.
    assert set(stored[tab]) <= set(keeper.keys_of(tab))
    assert set(stored[feed]) <= set(keeper.keys_of(feed))

    kept = await keeper.refresh()

    kept_ttls = await ttls(redis, stored[tab] + stored[feed])
    assert all(EXPIRY - 60 <= ttl <= EXPIRY for ttl in kept_ttls.values()), kept_ttls
    left = await ttls(redis, [key for token in (closed_tab, closed_feed, elsewhere, f"{prefix}-elsewhere-feed")
                              for key in stored[token]])
    assert all(0 < ttl <= CUT for ttl in left.values()), left
    assert (kept.tabs, kept.shared, kept.keys) == (1, 1, len(stored[tab]) + len(stored[feed]))


async def test_the_feed_is_read_back_linked_to_the_tab_after_a_round(manager, prefix):
    """What a push needs: the feed still lists the tab, the tab still points at the feed."""
    tab, feed = f"{prefix}-tab", f"{prefix}-feed"
    await open_page(manager, tab, feed)
    for key in await stored_keys(manager.redis, tab) + await stored_keys(manager.redis, feed):
        await manager.redis.expire(key, CUT)

    await StateKeeper(manager, lambda: [tab]).refresh()

    feed_root = await manager.get_state(BaseStateToken(ident=feed, cls=UserFeed))
    assert (await feed_root.get_state(UserFeed))._linked_from == {tab}
    tab_root = await manager.get_state(BaseStateToken(ident=tab, cls=rx.State))
    assert tab_root._reflex_internal_links == {UserFeed.get_full_name(): feed}


async def test_no_connected_tab_no_redis_write(manager, prefix):
    kept = await StateKeeper(manager, lambda: []).refresh()
    assert (kept.tabs, kept.shared, kept.keys) == (0, 0, 0)


async def test_every_round_comes_within_a_third_of_the_expiry(manager):
    assert StateKeeper(manager, lambda: []).every == EXPIRY / 3


def test_no_keeper_without_redis():
    """One process (the memory state manager): nothing expires, no task is started."""

    class App:
        state_manager = StateManagerMemory()

    assert start_keeping(App()) is None  # type: ignore[arg-type]
