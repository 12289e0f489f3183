"""WAHA's `session.status` webhooks: size limit, HMAC-SHA512, envelope, then the engine.

Order of checks (cheapest and safest first): the body is at most 64 KiB (413), it is
signed with the webhook secret (`X-Webhook-Hmac`, hex HMAC-SHA512 of the raw body,
compared in constant time; `X-Webhook-Hmac-Algorithm`, when sent, must be sha512;
401 otherwise, and nothing changes), it is a JSON envelope (400), and only then is it
read: events other than `session.status` and unknown sessions are answered 200 and
ignored (WAHA retries non-2xx answers; there is nothing to retry). A status WAHA does
not define is refused with 422 (never stored as is). A repeated event id is applied
once and an event older than the last one applied for that session does not overwrite
it (both answered 200). Older servers send no `id`: such an event is known by the
SHA-256 of its body instead, so a replayed body is applied once too.

Servers that cannot sign (WAHA Core 2024.10) post to `/api/waha/webhook/{token}` instead,
the token being a per-server secret (`waha_server.webhook_token`): there the token is the
proof (404 for any other), and the same envelope checks follow (`read`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from wahaweb.core.clock import UTC
from wahaweb.core.constants import MAX_WEBHOOK_BYTES

logger = logging.getLogger("wahaweb.core.live")

SESSION_STATUS = "session.status"
HMAC_HEADER = "x-webhook-hmac"
HMAC_ALGORITHM_HEADER = "x-webhook-hmac-algorithm"

Secret = Callable[[], Awaitable[str | None]] | str | None


def sign(body: bytes, key: str) -> str:
    """WAHA's `X-Webhook-Hmac`: the hex HMAC-SHA512 of the raw body."""
    return hmac.new(key.encode("utf-8"), body, hashlib.sha512).hexdigest()


def verify_signature(body: bytes, signature: str | None, key: str | None, algorithm: str | None = None) -> bool:
    """True only for a non-empty key and the exact signature of `body` (constant-time compare)."""
    if not key or not signature:
        return False
    if algorithm is not None and algorithm.strip().lower() != "sha512":
        return False
    expected = sign(body, key)
    given = signature.strip().lower()
    return hmac.compare_digest(expected.encode("ascii"), given.encode("ascii", "replace"))


@dataclasses.dataclass(frozen=True)
class WebhookEvent:
    """The parts of WAHA's envelope wahaweb acts on."""

    id: str | None
    #: The event time (WAHA's `timestamp`, Unix ms), None when absent.
    at: dt.datetime | None
    event: str
    session: str
    metadata: dict[str, Any]
    me: dict[str, Any] | None
    #: `payload.status` (session.status events only).
    status: str | None
    #: `payload.statuses`: WAHA's recent status history, oldest first.
    statuses: list[dict[str, Any]]


class BadEnvelope(ValueError):
    pass


#: Statuses WAHA sends (its OpenAPI enum); anything else is refused, not stored.
WAHA_STATUSES = frozenset({"STOPPED", "STARTING", "SCAN_QR_CODE", "PASSKEY_REQUIRED",
                           "PASSKEY_CONFIRMATION_REQUIRED", "WORKING", "FAILED"})
#: WAHA's own limit on session names; envelope fields are bounded before use.
MAX_SESSION_NAME = 54
MAX_FIELD = 100


class UnknownStatus(BadEnvelope):
    """A well-formed envelope with a status WAHA does not define (answered 422)."""


def body_event_id(body: bytes) -> str:
    """The id of an event that carries none: the same body is the same event."""
    return "sha256:" + hashlib.sha256(body).hexdigest()[:48]


def parse_envelope(body: bytes) -> WebhookEvent:
    """Read WAHA's envelope; raises BadEnvelope when it is not one, UnknownStatus for a bad status."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadEnvelope("the body is not JSON") from exc
    if not isinstance(data, dict):
        raise BadEnvelope("the body is not a JSON object")
    event, session = data.get("event"), data.get("session")
    if not isinstance(event, str) or not event or len(event) > MAX_FIELD:
        raise BadEnvelope("'event' is missing or not a short string")
    if not isinstance(session, str) or not session or len(session) > MAX_SESSION_NAME:
        raise BadEnvelope("'session' is missing or not a session name")
    event_id = data.get("id")
    if event_id not in (None, "") and not isinstance(event_id, (str, int)):
        raise BadEnvelope("'id' must be a string")
    event_id = str(event_id)[:MAX_FIELD] if event_id not in (None, "") else body_event_id(body)
    at = None
    stamp = data.get("timestamp")
    if isinstance(stamp, (int, float)) and not isinstance(stamp, bool) and stamp > 0:
        try:
            at = dt.datetime.fromtimestamp(stamp / 1000, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise BadEnvelope("'timestamp' is out of range") from exc
    raw_payload = data.get("payload")
    payload: dict[str, Any] = raw_payload if isinstance(raw_payload, dict) else {}
    status = payload.get("status")
    if event == SESSION_STATUS and (not isinstance(status, str) or not status):
        raise BadEnvelope("'payload.status' is missing")
    if event == SESSION_STATUS and status not in WAHA_STATUSES:
        raise UnknownStatus(f"'payload.status' is not a WAHA status: {str(status)[:40]!r}")
    raw_statuses = payload.get("statuses")
    statuses = [p for p in raw_statuses if isinstance(p, dict)] if isinstance(raw_statuses, list) else []
    raw_metadata, raw_me = data.get("metadata"), data.get("me")
    metadata: dict[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
    me: dict[str, Any] | None = raw_me if isinstance(raw_me, dict) else None
    return WebhookEvent(id=event_id, at=at, event=event, session=session, metadata=metadata, me=me,
                        status=status if isinstance(status, str) else None, statuses=statuses)


@dataclasses.dataclass(frozen=True)
class WebhookResult:
    """What the HTTP route answers."""

    status_code: int
    #: applied | duplicate | stale | ignored | unknown_session | ignored_event | too_large | unauthorized
    #: | bad_request
    outcome: str
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": self.status_code < 400, "outcome": self.outcome}
        if self.detail:
            body["detail"] = self.detail
        return body


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None and not hasattr(headers, "getlist"):  # a plain dict: look case-insensitively
        for key, val in headers.items():
            if key.lower() == name:
                return val
    return value


class WebhookVerifier:
    """Checks one webhook request (size, signature, envelope) and parses it; applies nothing.

    The route hands a verified event to the status engine: verification knows nothing of
    the engine, so the two modules do not import each other.
    """

    def __init__(self, secret: Secret, *, max_bytes: int = MAX_WEBHOOK_BYTES) -> None:
        self._secret = secret
        self.max_bytes = max_bytes

    async def secret(self) -> str | None:
        secret = self._secret
        if callable(secret):
            secret = await secret()
        return secret or None

    async def verify(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent | WebhookResult:
        """The event to apply, or the answer to give instead (refusals, and events to ignore)."""
        if len(body) > self.max_bytes:
            return WebhookResult(413, "too_large", f"the body is larger than {self.max_bytes // 1024} KiB")
        key = await self.secret()
        if key is None:
            logger.error("webhook refused: no webhook secret is configured")
            return WebhookResult(401, "unauthorized", "webhooks are not accepted: no secret is configured")
        if not verify_signature(body, _header(headers, HMAC_HEADER), key, _header(headers, HMAC_ALGORITHM_HEADER)):
            logger.warning("webhook refused: missing or wrong signature (%d bytes)", len(body))
            return WebhookResult(401, "unauthorized", "missing or wrong X-Webhook-Hmac signature")
        return self.read(body)

    def read(self, body: bytes) -> WebhookEvent | WebhookResult:
        """The envelope of an authenticated request (signed, or on a server's secret URL)."""
        try:
            event = parse_envelope(body)
        except UnknownStatus as exc:
            logger.warning("webhook refused: %s", exc)
            return WebhookResult(422, "unknown_status", str(exc))
        except BadEnvelope as exc:
            return WebhookResult(400, "bad_request", str(exc))
        if event.event != SESSION_STATUS:
            return WebhookResult(200, "ignored_event", event.event)
        # Which of our sessions it is (metadata, or WAHA's name on that server) is the engine's
        # business: on a Core server before 2026.6.1 our session is called `default` there.
        return event
