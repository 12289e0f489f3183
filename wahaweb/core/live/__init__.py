"""The live status engine: WAHA webhooks and one watcher per WAHA server, out to listeners.

    engine = core.live                       # the one engine of a Core (built and closed by it)
    remove = engine.notifier.add(on_change)  # async def on_change(change: PageUpdate) -> None
    engine.start() / await engine.stop()     # the watcher loop (a lifespan task)
    await engine.tick()                      # one round (tests)
    event = await core.webhooks.verify(body, headers); await engine.apply_event(event)  # the route
    engine.current_qr(sid) / await engine.qr_for(sid) / await engine.manual_refresh(user, sid)

No Reflex here (core never imports it).
"""

from __future__ import annotations

from wahaweb.core.live.engine import (
    FAST_STATUSES,
    StatusEngine,
    TickReport,
    WatchedServer,
)
from wahaweb.core.live.lease import (
    LocalLease,
    RedisLease,
    WatcherLease,
    make_lease,
    server_key,
)
from wahaweb.core.live.notify import CurrentQr, Listener, Notifier, PageUpdate, audience
from wahaweb.core.live.qr import QrCache, rotation_from_statuses
from wahaweb.core.live.webhook import (
    MAX_WEBHOOK_BYTES,
    WebhookEvent,
    WebhookResult,
    WebhookVerifier,
    parse_envelope,
    sign,
    verify_signature,
)

__all__ = [
    "FAST_STATUSES", "MAX_WEBHOOK_BYTES", "Listener", "PageUpdate", "LocalLease", "Notifier", "QrCache", "CurrentQr",
    "RedisLease", "StatusEngine", "TickReport", "WatchedServer", "WatcherLease", "WebhookEvent",
    "WebhookVerifier", "WebhookResult", "audience", "make_lease", "parse_envelope",
    "rotation_from_statuses", "server_key", "sign", "verify_signature",
]
