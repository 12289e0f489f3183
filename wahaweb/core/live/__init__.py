"""The live status engine: WAHA webhooks and one watcher per WAHA server, out to listeners.

    from wahaweb.core.live import StatusEngine, LiveChange, live_for
    engine = live_for(core)                  # the one engine of this Core (built on first use)
    await close_live(core)                   # stop it and forget it (before core.aclose())
    remove = engine.notifier.add(on_change)  # async def on_change(change: LiveChange) -> None
    engine.start() / await engine.stop()     # the watcher loop (a lifespan task)
    await engine.tick()                      # one round (tests)
    await engine.webhooks.handle(body, headers) -> WebhookResult   # the webhook route
    engine.current_qr(sid) / await engine.qr_for(sid) / await engine.manual_refresh(user, sid)

No Reflex here (core never imports it).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from wahaweb.core.live.engine import FAST_STATUSES, StatusEngine, TickReport, WatchedServer
from wahaweb.core.live.lease import LocalLease, RedisLease, WatcherLease, make_lease, server_key
from wahaweb.core.live.notify import Listener, LiveChange, Notifier, QrState, UserRouter, audience
from wahaweb.core.live.qr import QrCache, rotation_from_statuses
from wahaweb.core.live.webhook import (
    MAX_WEBHOOK_BYTES,
    WebhookEvent,
    WebhookHandler,
    WebhookResult,
    parse_envelope,
    sign,
    verify_signature,
)

if TYPE_CHECKING:  # pragma: no cover
    from wahaweb.core.container import Core

_engines: weakref.WeakKeyDictionary[Any, StatusEngine] = weakref.WeakKeyDictionary()


def live_for(core: Core, **kwargs: Any) -> StatusEngine:
    """The status engine of `core`, built with `StatusEngine.from_core(core, **kwargs)` on first use."""
    engine = _engines.get(core)
    if engine is None:
        engine = StatusEngine.from_core(core, **kwargs)
        _engines[core] = engine
    return engine


def set_engine(core: Core, engine: StatusEngine) -> None:
    """Use `engine` as `core`'s engine (tests, or a composition root that builds its own)."""
    _engines[core] = engine


async def close_live(core: Core) -> None:
    """Stop `core`'s engine (loop, QR fetches, Redis lease) and forget it; call before `core.aclose()`."""
    engine = _engines.pop(core, None)
    if engine is not None:
        await engine.aclose()


__all__ = [
    "FAST_STATUSES", "MAX_WEBHOOK_BYTES", "Listener", "LiveChange", "LocalLease", "Notifier", "QrCache", "QrState",
    "RedisLease", "StatusEngine", "TickReport", "UserRouter", "WatchedServer", "WatcherLease", "WebhookEvent",
    "WebhookHandler", "WebhookResult", "audience", "close_live", "live_for", "make_lease", "parse_envelope",
    "rotation_from_statuses", "server_key", "set_engine", "sign", "verify_signature",
]
