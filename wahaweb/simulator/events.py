"""The events websocket, ``/ws?session=*&events=session.status&x-api-key=KEY``.

WAHA pushes the same envelopes over its websocket as it POSTs to webhooks. ``EventHub``
fans every status change out to the open sockets whose filters match; ``serve_socket``
speaks raw ASGI websocket to one client. A bad key is accepted and then closed with 1008
(policy violation), as WAHA's gateway does, so a client sees the close code rather than a
failed handshake. The hub is per simulator: several simulators in one process share nothing.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from .envelopes import SESSION_STATUS_EVENT, session_status_envelope
from .session import SimSession

POLICY_VIOLATION = 1008
GOING_AWAY = 1001
_CLOSED = object()


@dataclass(eq=False)
class Subscription:
    sessions: frozenset[str] | None
    """Session names to follow; None for every session (``session=*``)."""
    events: frozenset[str] | None
    """Event names to receive; None for every event (``events=*``)."""
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)

    def wants(self, session: str, event: str) -> bool:
        return (self.sessions is None or session in self.sessions) and (self.events is None or event in self.events)


def _names(values: list[str]) -> frozenset[str] | None:
    """``?x=a,b&x=c`` -> {a, b, c}; ``*`` anywhere (or nothing) means everything."""
    names = {part.strip() for value in values for part in value.split(",") if part.strip()}
    return None if not names or "*" in names else frozenset(names)


class EventHub:
    def __init__(self, environment: dict[str, Any], *, signed: bool) -> None:
        self.environment = environment
        self.signed = signed
        self._subscriptions: set[Subscription] = set()

    def subscribe(self, query_string: str) -> Subscription:
        query = parse_qs(query_string, keep_blank_values=True)
        subscription = Subscription(_names(query.get("session", [])), _names(query.get("events", [])))
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    @property
    def open_sockets(self) -> int:
        return len(self._subscriptions)

    def on_status_change(self, session: SimSession) -> None:
        """Engine listener: queue the envelope for every matching socket."""
        targets = [s for s in self._subscriptions if s.wants(session.name, SESSION_STATUS_EVENT)]
        if not targets:
            return
        envelope = session_status_envelope(session, self.environment, signed=self.signed)
        for subscription in targets:
            subscription.queue.put_nowait(envelope)

    def close_all(self) -> None:
        for subscription in list(self._subscriptions):
            subscription.queue.put_nowait(_CLOSED)


async def serve_socket(scope: dict[str, Any], receive: Any, send: Any, hub: EventHub, *, authorised: bool) -> None:
    """One ``/ws`` client, from handshake to close."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    if not authorised:
        await send({"type": "websocket.close", "code": POLICY_VIOLATION, "reason": "Unauthorized"})
        return
    subscription = hub.subscribe(scope.get("query_string", b"").decode("latin-1"))

    async def until_disconnect() -> None:
        while (await receive())["type"] != "websocket.disconnect":
            pass

    reader = asyncio.ensure_future(until_disconnect())
    try:
        while True:
            getter = asyncio.ensure_future(subscription.queue.get())
            done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if reader in done:
                getter.cancel()
                return
            item = getter.result()
            if item is _CLOSED:
                await send({"type": "websocket.close", "code": GOING_AWAY, "reason": "server shutdown"})
                return
            await send({"type": "websocket.send", "text": json.dumps(item, separators=(",", ":"))})
    finally:
        hub.unsubscribe(subscription)
        reader.cancel()
