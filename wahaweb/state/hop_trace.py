"""Benchmark-only: a time stamp at each hop from a create click to the QR's delta leaving for a page.

Off unless `WAHAWEB_HOP_TRACE` names a file; the lifespan reads it once at start-up and only then
calls `install`, so production runs none of this. `install` wraps the app's one Core and its socket
namespace (instance attributes, nothing global) so that each hop appends one JSON line to that file:
`{"hop": ..., "t": epoch seconds, "session": our session id or null, ...}`. The benchmark
(`benchmarks/scenarios/wahaweb_qr_visible.py`) joins them with the browser's own stamps (taken on
`performance.timeOrigin + performance.now()`, the same clock on the same machine).

Hops: `reserve_start`/`reserve_end` (the create handler's core call), `waha_create_sent`/`_done`,
`webhook` (a SCAN_QR_CODE event reaches the engine), `qr_fetch_start`/`qr_fetched` (WAHA's raw text),
`qr_drawn` (the SVG reaches the QR cache), `qr_notified` (the change reaches the notifier's
listeners), `emit_start`/`emit_end` (a delta carrying a QR handed to socket.io; `bytes` is its JSON
size, `linked` whether a tab's socket is behind the token: the shared feed's own token has none).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from typing import Any

from wahaweb.core.container import Core

ENV = "WAHAWEB_HOP_TRACE"
_SESSION_ID = re.compile(r"session_\d+_\d+_[a-z0-9]{12}")


def trace_path() -> str | None:
    """The trace file, or None (the normal case): read once, by the lifespan."""
    return os.environ.get(ENV) or None


class HopTrace:
    def __init__(self, path: str) -> None:
        self._file = open(path, "a", buffering=1)  # noqa: SIM115 - closed with the app process
        self._lock = threading.Lock()

    def stamp(self, hop: str, session: str | None, **extra: Any) -> None:
        line = json.dumps({"hop": hop, "t": time.time(), "session": session, **extra})
        with self._lock:
            self._file.write(line + "\n")


def install(path: str, app: Any, core: Core) -> HopTrace:
    """Wrap the hops of the create -> QR -> delta path (see the module docstring)."""
    trace = HopTrace(path)
    stamp = trace.stamp
    sessions, waha, engine = core.sessions, core.waha, core.live
    reserve, create, get_raw, apply_event, store = (sessions.reserve, waha.create_session, waha.get_qr_raw,
                                                   engine.apply_event, engine.qr.store)

    async def traced_reserve(*args: Any, **kwargs: Any):
        t0 = time.time()
        row = await reserve(*args, **kwargs)
        stamp("reserve_start", row.id, at=t0)
        stamp("reserve_end", row.id)
        return row

    async def traced_create(name: str, *args: Any, **kwargs: Any):
        stamp("waha_create_sent", name)
        result = await create(name, *args, **kwargs)
        stamp("waha_create_done", name)
        return result

    async def traced_raw(name: str):
        stamp("qr_fetch_start", name)
        text = await get_raw(name)
        stamp("qr_fetched", name)
        return text

    async def traced_event(event: Any, *args: Any, **kwargs: Any):
        if event.status == "SCAN_QR_CODE":
            stamp("webhook", event.session)
        return await apply_event(event, *args, **kwargs)

    async def traced_store(session_id: str, *args: Any, **kwargs: Any):
        stamp("qr_drawn", session_id)
        return await store(session_id, *args, **kwargs)

    publish = engine.notifier.publish

    async def traced_publish(change: Any) -> None:  # wrapped, not one more listener: same fan-out
        if change.kind == "qr":
            stamp("qr_notified", change.session_id)
        await publish(change)

    # Instance attributes shadow the methods of these objects only (the app's one Core).
    sessions.reserve = traced_reserve  # type: ignore[method-assign]
    waha.create_session = traced_create  # type: ignore[method-assign]
    waha.get_qr_raw = traced_raw  # type: ignore[method-assign]
    engine.apply_event = traced_event  # type: ignore[method-assign]
    engine.qr.store = traced_store  # type: ignore[method-assign]
    engine.notifier.publish = traced_publish  # type: ignore[method-assign]
    namespace = app.event_namespace
    if namespace is not None:
        _trace_emits(namespace, stamp)
    return trace


def _trace_emits(namespace: Any, stamp: Any) -> None:
    from reflex.app import _sio_dumps  # the very serialiser socket.io uses

    emit_update = namespace.emit_update

    async def traced_emit(update: Any, token: str) -> None:
        text = _sio_dumps(update)
        if "image/svg" not in text and "image/png" not in text:
            return await emit_update(update, token)
        found = _SESSION_ID.search(text)
        session = found.group(0) if found else None
        linked = namespace._token_manager.token_to_socket.get(token) is not None
        stamp("emit_start", session, bytes=len(text.encode()), linked=linked,
              vars={k: sorted(v) for k, v in update.delta.items()})
        await emit_update(update, token)
        stamp("emit_end", session, linked=linked)

    namespace.emit_update = traced_emit
