"""The ``session.status`` event envelope, shared by webhooks and the ``/ws`` socket.

WAHA sends the same JSON both ways. Its shape changed between releases: 2026.x adds ``id``
(``evt_`` + a lower-case ULID), ``timestamp`` and ``payload.statuses``; 2024.10 sent none of
them. ``signed`` picks the newer shape (it is also what allows HMAC headers on webhooks).
"""

from __future__ import annotations

import os
import time
from typing import Any

from .session import SimSession, now_ms

SESSION_STATUS_EVENT = "session.status"
CROCKFORD32 = "0123456789abcdefghjkmnpqrstvwxyz"


def new_event_id() -> str:
    """``evt_`` + a lower-case ULID (48-bit ms time + 80 random bits), like WAHA's ids."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = [CROCKFORD32[(value >> shift) & 31] for shift in range(125, -1, -5)]
    return "evt_" + "".join(chars)


def session_status_envelope(session: SimSession, environment: dict[str, Any], *, signed: bool) -> dict[str, Any]:
    config = session.config or {}
    payload: dict[str, Any] = {"name": session.name, "status": session.status.value}
    if signed:
        payload["statuses"] = session.recent_statuses()
    if session.status_data is not None:
        payload["data"] = session.status_data
    envelope: dict[str, Any] = {}
    if signed:
        envelope.update(id=new_event_id(), timestamp=now_ms())
    envelope.update(
        event=SESSION_STATUS_EVENT,
        session=session.name,
        metadata=config.get("metadata") or {},
        me=session.me,
        engine=session.engine,
        environment=environment,
        payload=payload,
    )
    return envelope
