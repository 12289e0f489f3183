"""Keep the Redis state of the tabs connected to this worker alive while their socket is open.

Why: with Redis (several workers), Reflex's `StateManagerRedis` stores each state of a token
under `{token}_{state full name}` with `EX token_expiration` (config `redis_token_expiration`,
an hour by default), and writes a key only when that state changed; reading never refreshes
the TTL. wahaweb's pages live on server pushes to the sign-in's feed (`UserFeed`, an
`rx.SharedState`): a wall screen watching quiet sessions sends no event and its feed gets no
write for an hour, so Redis drops the tab's root state (its link to the feed) and the feed's
state (`_linked_from`, the tabs a push fans out to). The next push then reaches nobody and
the page silently keeps a stale status. The memory state manager (one process) never expires
a state, so no keeper runs there.

Each worker keeps its own tabs: every third of the expiry it EXPIREs (never rewrites) every
state key of every client token whose socket is connected to it, and of the shared tokens
(feeds, QR codes) those tabs are linked to. Key names come from Reflex's own key function over the
app's state classes, not from a SCAN. A tab's links are read from its root state in Redis
(one MGET a round, no hook in the page code): Redis holds the truth whatever relinked,
unlinked or moved the tab here, and the price is one small read per tab every 20 minutes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Iterable, Iterator

import reflex as rx
from reflex.istate.manager.redis import StateManagerRedis
from reflex.istate.manager.token import BaseStateToken
from reflex.state import BaseState
from reflex.utils.token_manager import TokenManager

logger = logging.getLogger("wahaweb.state.keepalive")
#: Keys per Redis round trip (the MGET of root states, each EXPIRE pipeline).
BATCH = 500
#: After a failed round, the next try comes this soon (a round still has two thirds of the TTL left).
RETRY_AFTER = 60.0


def own_tokens(sockets: TokenManager) -> list[str]:
    """Client tokens whose socket is connected to this worker. Reflex's token manager also
    caches other workers' sockets it looked up; their own worker keeps those alive."""
    mine = sockets.instance_id
    return [token for token, record in list(sockets.token_to_socket.items()) if record.instance_id == mine]


def app_tokens(app: rx.App) -> list[str]:
    """This worker's connected client tokens (none before the event namespace exists)."""
    namespace = app.event_namespace
    return own_tokens(namespace._token_manager) if namespace is not None else []


def state_classes(root: type[BaseState]) -> list[type[BaseState]]:
    """The root state class and every class below it: each has a key per token in Redis."""
    found: list[type[BaseState]] = []
    todo = [root]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.get_substates())
    return found


def _batches(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), BATCH):
        yield items[start:start + BATCH]


@dataclasses.dataclass(frozen=True)
class Kept:
    """One round's count (no token in it: safe to log)."""

    tabs: int
    shared: int
    keys: int


class StateKeeper:
    """Refreshes the TTL of this worker's connected tabs' states and of the feeds they are linked to."""

    def __init__(self, manager: StateManagerRedis, connected: Callable[[], Iterable[str]],
                 root: type[BaseState] = rx.State) -> None:
        self.manager = manager
        self.connected = connected
        self.root = root

    @property
    def every(self) -> float:
        """Seconds between rounds: a third of the expiry, so one failed round loses nothing."""
        return max(1.0, self.manager.token_expiration / 3)

    def keys_of(self, token: str, classes: Iterable[type[BaseState]] | None = None) -> list[str]:
        """Every Redis key a token's states can live under, named by Reflex's own key function."""
        key = BaseStateToken(ident=token, cls=self.root)
        return [key._state_key(cls) for cls in (state_classes(self.root) if classes is None else classes)]

    async def linked_tokens(self, tokens: list[str]) -> set[str]:
        """The shared tokens these tabs are linked to, read from their root states in Redis."""
        linked: set[str] = set()
        for chunk in _batches(tokens):
            stored = await self.manager.redis.mget([BaseStateToken(ident=t, cls=self.root)._state_key(self.root)
                                                    for t in chunk])
            for raw in stored:
                if raw is None:  # already gone: nothing of this tab left to keep
                    continue
                try:
                    root = BaseState._deserialize(data=raw)
                except Exception:  # noqa: BLE001 - an unreadable state (old schema) is Reflex's to replace
                    continue
                links = getattr(root, "_reflex_internal_links", None) or {}
                linked.update(token for token in links.values() if token)
        return linked

    async def refresh(self) -> Kept:
        """One round: EXPIRE every state key of the connected tabs and of their linked feeds."""
        tabs = list(dict.fromkeys(self.connected()))
        shared = await self.linked_tokens(tabs) - set(tabs)
        classes = state_classes(self.root)  # read each round: a state class added since is included
        keys = [key for token in [*tabs, *sorted(shared)] for key in self.keys_of(token, classes)]
        refreshed = 0
        for chunk in _batches(keys):
            pipeline = self.manager.redis.pipeline(transaction=False)
            for key in chunk:
                pipeline.expire(key, self.manager.token_expiration)
            refreshed += sum(1 for done in await pipeline.execute() if done)
        return Kept(tabs=len(tabs), shared=len(shared), keys=refreshed)

    async def run(self) -> None:
        """Rounds until cancelled (by the lifespan)."""
        wait = self.every
        while True:
            await asyncio.sleep(wait)
            try:
                kept = await self.refresh()
            except Exception as exc:  # noqa: BLE001 - the next round may succeed; the keys have time
                logger.warning("could not keep connected tabs' states alive (%s); next try in %.0f s",
                               type(exc).__name__, RETRY_AFTER)
                logger.debug("keeper round failed", exc_info=True)
                wait = min(self.every, RETRY_AFTER)
                continue
            logger.debug("kept %d tabs and %d linked feeds alive (%d keys)", kept.tabs, kept.shared, kept.keys)
            wait = self.every


def start_keeping(app: rx.App) -> asyncio.Task | None:
    """Keep this worker's connected tabs alive in Redis while the backend runs (the lifespan
    cancels it); None with any other state manager (nothing there expires)."""
    manager = app.state_manager
    if not isinstance(manager, StateManagerRedis):
        return None
    keeper = StateKeeper(manager, lambda: app_tokens(app), root=getattr(app, "_state", None) or rx.State)
    return asyncio.ensure_future(keeper.run())
