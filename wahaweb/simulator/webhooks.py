"""``session.status`` webhooks, delivered the way WAHA delivers them.

The body is WAHA's envelope, serialised once; the HMAC (when the webhook has ``hmac.key``)
is computed over exactly those bytes, because receivers must verify the raw body, not a
re-serialisation. Deliveries never block the API: each is an asyncio task, and the tasks of
one session are chained so a receiver sees STARTING before SCAN_QR_CODE before WORKING even
when one POST is slow. A failing receiver is logged and recorded, never retried (WAHA's
``retries`` setting is accepted and ignored).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import json
import logging
import uuid
from typing import Any

import httpx

from .envelopes import SESSION_STATUS_EVENT, new_event_id, session_status_envelope
from .session import SimSession

__all__ = ["WebhookDispatcher", "new_event_id", "session_status_envelope", "sign", "wants_session_status"]

logger = logging.getLogger(__name__)


def sign(body: bytes, key: str) -> str:
    """``X-Webhook-Hmac``: hex HMAC-SHA512 of the raw body."""
    return hmac.new(key.encode("utf-8"), body, hashlib.sha512).hexdigest()


def wants_session_status(webhook: Any) -> bool:
    if not isinstance(webhook, dict) or not isinstance(webhook.get("url"), str):
        return False
    events = webhook.get("events") or []
    return SESSION_STATUS_EVENT in events or "*" in events


class WebhookDispatcher:
    def __init__(
        self,
        environment: dict[str, Any],
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 5.0,
        signed: bool = True,
    ):
        self.environment = environment
        self.signed = signed
        """False (WAHA 2024.10): no ``id``/``timestamp`` in envelopes and no HMAC or id headers."""
        self.transport = transport
        self.timeout = timeout
        self.deliveries: list[dict[str, Any]] = []
        """Outcome of every POST: {url, event_id, status, session, status_code, error}."""
        self._tails: dict[str, asyncio.Task] = {}
        self._pending: set[asyncio.Task] = set()
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    def on_status_change(self, session: SimSession) -> None:
        """Engine listener: snapshot the envelope now, deliver it later, in order."""
        webhooks = [w for w in (session.config or {}).get("webhooks") or [] if wants_session_status(w)]
        if not webhooks:
            return
        envelope = session_status_envelope(session, self.environment, signed=self.signed)
        body = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        previous = self._tails.get(session.name)
        task = asyncio.get_running_loop().create_task(
            self._deliver_after(previous, webhooks, envelope, body)
        )
        self._tails[session.name] = task
        self._pending.add(task)
        task.add_done_callback(functools.partial(self._forget, session.name))

    async def drain(self) -> None:
        """Wait until every queued delivery has finished (tests use it instead of sleeping)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._pending):
            with contextlib.suppress(RuntimeError):
                task.cancel()
        current = asyncio.get_running_loop()
        mine = [t for t in self._pending if t.get_loop() is current]
        if mine:
            await asyncio.gather(*mine, return_exceptions=True)
        self._pending.clear()
        self._tails.clear()
        client, self._client = self._client, None
        if client is not None and self._client_loop is current:
            await client.aclose()

    # --------------------------------------------------------------- internals
    def _forget(self, name: str, task: asyncio.Task) -> None:
        self._pending.discard(task)
        if self._tails.get(name) is task:
            del self._tails[name]

    def _http(self) -> httpx.AsyncClient:
        """One client per event loop: a pooled connection must not outlive its loop."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = httpx.AsyncClient(transport=self.transport, timeout=self.timeout)
            self._client_loop = loop
        return self._client

    async def _deliver_after(
        self,
        previous: asyncio.Task | None,
        webhooks: list[dict[str, Any]],
        envelope: dict[str, Any],
        body: bytes,
    ) -> None:
        if previous is not None and not previous.done():
            await asyncio.wait({previous})  # never inherits its failure or cancellation
        for webhook in webhooks:
            await self._post(webhook, envelope, body)

    async def _post(self, webhook: dict[str, Any], envelope: dict[str, Any], body: bytes) -> None:
        url = webhook["url"]
        headers = {"Content-Type": "application/json"}
        if self.signed:
            headers["X-Webhook-Request-Id"] = str(uuid.uuid4())
            headers["X-Webhook-Timestamp"] = str(envelope["timestamp"])
        key = (webhook.get("hmac") or {}).get("key")
        if key and self.signed:
            headers["X-Webhook-Hmac"] = sign(body, key)
            headers["X-Webhook-Hmac-Algorithm"] = "sha512"
        for custom in webhook.get("customHeaders") or []:
            if isinstance(custom, dict) and custom.get("name"):
                headers[str(custom["name"])] = str(custom.get("value", ""))
        record: dict[str, Any] = {
            "url": url,
            "event_id": envelope.get("id"),
            "session": envelope["session"],
            "status": envelope["payload"]["status"],
            "status_code": None,
            "error": None,
        }
        try:
            response = await self._http().post(url, content=body, headers=headers)
            record["status_code"] = response.status_code
            if response.status_code >= 400:
                logger.warning("webhook %s answered %s for %s", url, response.status_code, envelope.get("id"))
        except Exception as exc:  # a dead receiver must never hurt the simulator
            record["error"] = f"{type(exc).__name__}: {exc}"
            logger.warning("webhook %s failed for %s: %s", url, envelope.get("id"), record["error"])
        self.deliveries.append(record)
