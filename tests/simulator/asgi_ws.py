"""A websocket client speaking raw ASGI to an app in-process (httpx has no websocket).

It drives the app's ``websocket.*`` messages through two queues, so a test sees exactly
what a browser would (accept, text frames, the close code) without a port or a clock.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any


class AsgiWebSocket:
    def __init__(self, app: Any, path: str, query: str = "", headers: dict[str, str] | None = None) -> None:
        self.app = app
        self.scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
            "server": ("waha.test", 80),
            "client": ("127.0.0.1", 50000),
            "subprotocols": [],
        }
        self._to_app: asyncio.Queue = asyncio.Queue()
        self._from_app: asyncio.Queue = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self.close_code: int | None = None

    async def connect(self) -> dict[str, Any]:
        """Open; returns the app's first message (``websocket.accept`` or ``websocket.close``)."""
        self._task = asyncio.create_task(self.app(self.scope, self._to_app.get, self._from_app.put))
        await self._to_app.put({"type": "websocket.connect"})
        return await self._next()

    async def _next(self) -> dict[str, Any]:
        """The app's next message; if the app ends (or crashes) instead, that surfaces here."""
        assert self._task is not None
        getter = asyncio.ensure_future(self._from_app.get())
        await asyncio.wait({getter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if getter.done():
            return getter.result()
        getter.cancel()
        self._task.result()  # re-raises the app's exception
        raise AssertionError("the app ended without sending anything more")

    async def receive(self) -> dict[str, Any]:
        message = await self._next()
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
        return message

    async def receive_json(self) -> Any:
        message = await self.receive()
        assert message["type"] == "websocket.send", message
        return json.loads(message["text"])

    def pending(self) -> int:
        """Frames sent by the app and not read yet."""
        return self._from_app.qsize()

    async def disconnect(self) -> None:
        await self._to_app.put({"type": "websocket.disconnect", "code": 1000})
        if self._task is not None:
            await self._task
