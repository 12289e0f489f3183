"""WAHA's events websocket, ``/ws?session=*&events=session.status&x-api-key=KEY``.

httpx has no websocket of its own; httpx-ws adds it on the same `httpx.AsyncClient`, so
the socket shares the client's base URL, proxies and TLS settings, and works in-process
through `httpx_ws.transport.ASGIWebSocketTransport`. The key travels in the query string
because browsers' websocket API cannot set headers and WAHA reads it there; a wrong key is
accepted and then closed with 1008, which the stream turns into `WahaUnauthorized`.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
from httpx_ws import (
    AsyncWebSocketSession,
    HTTPXWSException,
    WebSocketDisconnect,
    aconnect_ws,
)
from httpx_ws.transport import ASGIWebSocketTransport
from pydantic import JsonValue

from wahaweb.waha.errors import WahaError, WahaUnauthorized, WahaUnavailable

logger = logging.getLogger("wahaweb.waha")

EVENTS_PATH = "/ws"
POLICY_VIOLATION = 1008
NORMAL_CLOSURES = frozenset({1000, 1001})


class WahaEventStream:
    """The envelopes WAHA pushes (dicts shaped like its webhooks), until the socket closes.

    Iteration ends on a normal close; a 1008 close raises `WahaUnauthorized`, any other
    close or network failure `WahaUnavailable`.
    """

    def __init__(self, socket: AsyncWebSocketSession, display_url: str) -> None:
        self._socket = socket
        self._display_url = display_url

    def __aiter__(self) -> WahaEventStream:
        return self

    async def __anext__(self) -> dict[str, JsonValue]:
        try:
            text = await self._socket.receive_text()
        except WebSocketDisconnect as closed:
            if closed.code == POLICY_VIOLATION:
                raise WahaUnauthorized(
                    "WAHA refused wahaweb's API key on its events socket (closed with 1008): "
                    "check WAHA_API_KEY against the key WAHA runs with.",
                    method="GET",
                    path=EVENTS_PATH,
                ) from closed
            if closed.code in NORMAL_CLOSURES:
                raise StopAsyncIteration from closed
            raise self._unavailable(f"closed with {closed.code} {closed.reason}".strip()) from closed
        except HTTPXWSException as exc:
            raise self._unavailable(type(exc).__name__) from exc
        try:
            event = json.loads(text)
        except ValueError as exc:
            raise WahaError(f"WAHA sent an events frame that is not JSON: {text[:100]!r}") from exc
        if not isinstance(event, dict):
            raise WahaError(f"WAHA sent an events frame that is not an object: {text[:100]!r}")
        return event

    def _unavailable(self, why: str) -> WahaUnavailable:
        message = f"WAHA at {self._display_url} ended its events socket: {why}."
        logger.warning("%s", message)
        return WahaUnavailable(message, method="GET", path=EVENTS_PATH)


@contextlib.asynccontextmanager
async def open_event_stream(
    http: httpx.AsyncClient,
    *,
    api_key: str | None,
    session: str,
    events: Sequence[str],
    display_url: str,
    in_process: Any = None,
) -> AsyncIterator[WahaEventStream]:
    params: dict[str, Any] = {"session": session, "events": list(events)}
    if api_key:
        params["x-api-key"] = api_key
    try:
        async with _event_stream(http, params, display_url, in_process) as stream:
            yield stream
    except BaseExceptionGroup as group:  # the in-process transport's task group wraps what failed
        if any(not isinstance(leaf, Exception) for leaf in _leaves(group)):
            raise  # a cancellation stays one
        raise _first_waha_error(group, display_url) from None


def _first_waha_error(group: BaseExceptionGroup, display_url: str) -> WahaError:
    """A new exception for what failed inside the group (re-raising a leaf of the group would
    make a cycle of exception contexts, on which contextlib's exit spins forever)."""
    for leaf in _leaves(group):
        if isinstance(leaf, WahaUnauthorized):
            return WahaUnauthorized(str(leaf), method="GET", path=EVENTS_PATH)
        if isinstance(leaf, WahaError | HTTPXWSException):
            why = str(leaf) if isinstance(leaf, WahaError) else type(leaf).__name__
            return WahaUnavailable(f"WAHA at {display_url} ended its events socket: {why}", method="GET",
                                   path=EVENTS_PATH)
    return WahaUnavailable(f"WAHA at {display_url} ended its events socket.", method="GET", path=EVENTS_PATH)


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


@contextlib.asynccontextmanager
async def _event_stream(http: httpx.AsyncClient, params: dict[str, Any], display_url: str,
                        in_process: Any) -> AsyncIterator[WahaEventStream]:
    # Nested `async with`, not an AsyncExitStack: cancelling a socket inside anyio's task group
    # can leave a cycle of exception contexts, on which AsyncExitStack's exit spins forever.
    if in_process is None:
        async with _socket(http, params, display_url) as stream:
            yield stream
        return
    # An in-process app (the embedded simulator, a test's): a websocket-capable ASGI transport,
    # opened and closed in this very task (its task group demands it).
    async with ASGIWebSocketTransport(app=in_process) as transport, \
            httpx.AsyncClient(base_url=http.base_url, transport=transport) as local, \
            _socket(local, params, display_url) as stream:
        yield stream


@contextlib.asynccontextmanager
async def _socket(http: httpx.AsyncClient, params: dict[str, Any], display_url: str) -> AsyncIterator[WahaEventStream]:
    try:
        opened: contextlib.AbstractAsyncContextManager[AsyncWebSocketSession] = aconnect_ws(
            EVENTS_PATH, http, params=params)
        socket: AsyncWebSocketSession = await opened.__aenter__()
    except (HTTPXWSException, httpx.TransportError) as exc:
        message = f"WAHA at {display_url} did not open its events socket: {type(exc).__name__}."
        logger.warning("%s", message)
        raise WahaUnavailable(message, method="GET", path=EVENTS_PATH) from exc
    try:
        yield WahaEventStream(socket, display_url)
    except BaseException as exc:
        if not await opened.__aexit__(type(exc), exc, exc.__traceback__):
            raise
    else:
        await opened.__aexit__(None, None, None)
