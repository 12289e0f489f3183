"""Injected trouble and the request log: what retry and timeout tests need from a server.

Faults touch WAHA paths only; ``/_sim/`` controls always answer, so a test can clear what it
injected. Three kinds, combinable:

* ``status``/``count``: the next N WAHA requests answer that status (a proxy's 503, say);
* ``latency_ms``: every WAHA request waits that long first, until cleared;
* ``refuse_seconds``: for that long WAHA requests get no HTTP answer at all. An ASGI app
  cannot refuse a TCP connection, so the simulator does the nearest thing each way it runs:
  under uvicorn it aborts the connection before any byte is written (httpx raises
  ``RemoteProtocolError``); in-process behind ``httpx.ASGITransport`` it raises
  ``httpx.ConnectError``, which the transport hands to the client unchanged. Both are
  ``httpx.TransportError``, which is what a client's retry logic sees for a dead server.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httpx

REFUSED_STATUS = 0
"""Request-log status of a request that got no answer (refused/dropped)."""


@dataclass
class StatusFault:
    status: int
    remaining: int
    path_prefix: str = ""


class FaultInjector:
    def __init__(self) -> None:
        self.status_fault: StatusFault | None = None
        self.latency_ms: float = 0.0
        self.refuse_until: float = 0.0  # time.monotonic()

    def inject(
        self,
        *,
        status: int | None = None,
        count: int = 1,
        path_prefix: str = "",
        latency_ms: float | None = None,
        refuse_seconds: float | None = None,
    ) -> dict[str, Any]:
        if status is not None:
            if not 100 <= int(status) <= 599:
                raise ValueError("status must be an HTTP status code (100-599)")
            if int(count) < 1:
                raise ValueError("count must be at least 1")
            self.status_fault = StatusFault(int(status), int(count), path_prefix or "")
        if latency_ms is not None:
            if latency_ms < 0:
                raise ValueError("latency_ms must not be negative")
            self.latency_ms = float(latency_ms)
        if refuse_seconds is not None:
            if refuse_seconds < 0:
                raise ValueError("refuse_seconds must not be negative")
            self.refuse_until = time.monotonic() + float(refuse_seconds)
        return self.describe()

    def clear(self) -> dict[str, Any]:
        self.status_fault = None
        self.latency_ms = 0.0
        self.refuse_until = 0.0
        return self.describe()

    def describe(self) -> dict[str, Any]:
        fault = self.status_fault
        return {
            "status": fault.status if fault else None,
            "count": fault.remaining if fault else 0,
            "path_prefix": fault.path_prefix if fault else "",
            "latency_ms": self.latency_ms,
            "refuse_seconds": max(0.0, round(self.refuse_until - time.monotonic(), 3)),
        }

    def refusing(self) -> bool:
        return time.monotonic() < self.refuse_until

    def take_status(self, path: str) -> int | None:
        """The injected status for this request, if one is due (consumes one of ``count``)."""
        fault = self.status_fault
        if fault is None or not path.startswith(fault.path_prefix):
            return None
        fault.remaining -= 1
        if fault.remaining <= 0:
            self.status_fault = None
        return fault.status


class RequestLog:
    """WAHA-path requests as a client made them: {method, path, status, time, duration_ms}."""

    def __init__(self, maxlen: int = 10_000):
        self._entries: deque[dict[str, Any]] = deque(maxlen=maxlen)

    def record(self, method: str, path: str, status: int, started: float, duration: float) -> None:
        self._entries.append(
            {
                "method": method,
                "path": path,
                "status": status,
                "time": started,
                "duration_ms": round(duration * 1000, 3),
            }
        )

    def entries(self) -> list[dict[str, Any]]:
        return [dict(entry) for entry in self._entries]

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def fault_body(status: int) -> dict[str, Any]:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return {"statusCode": status, "message": f"{phrase} (simulated fault)", "error": phrase}


async def drop_connection(scope: dict[str, Any], send: Any) -> None:
    """End the exchange without an HTTP answer (see the module docstring)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if isinstance(transport, asyncio.BaseTransport) and hasattr(transport, "abort"):
        transport.abort()  # uvicorn: close the socket, nothing written
        await asyncio.sleep(0)  # let the server notice the disconnect before it tries a 500
        return
    request = httpx.Request(scope.get("method", "GET"), _url_of(scope))
    raise httpx.ConnectError("[Errno 111] Connection refused (simulated by WAHA simulator)", request=request)


def _url_of(scope: dict[str, Any]) -> str:
    host, port = scope.get("server") or ("waha-simulator", None)
    authority = f"{host}:{port}" if port else host
    query = scope.get("query_string", b"").decode("latin-1")
    path = scope.get("path", "/")
    return f"{scope.get('scheme', 'http')}://{authority}{path}" + (f"?{query}" if query else "")
