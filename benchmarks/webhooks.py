"""A tiny ``session.status`` webhook receiver (Starlette on uvicorn, in this process's loop)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


class WebhookReceiver:
    """POST /hook receives WAHA events; ``expect(session, status)`` is a future for one of them.

    Register the expectation *before* the request that triggers the event, then await it.
    """

    path = "/hook"

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.port: int | None = None
        self.received: list[dict[str, Any]] = []
        self._waiters: dict[tuple[str, str], list[asyncio.Future]] = {}
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    def webhooks_config(self) -> list[dict[str, Any]]:
        return [{"url": self.url, "events": ["session.status"]}]

    def expect(self, session: str, status: str) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self._waiters.setdefault((session, status), []).append(future)
        return future

    async def _hook(self, request: Request) -> Response:
        arrived = time.perf_counter()
        try:
            event = json.loads(await request.body())
        except ValueError:
            return Response(status_code=400)
        payload = event.get("payload") or {}
        session, status = event.get("session"), payload.get("status")
        self.received.append({"session": session, "status": status, "event": event.get("event"),
                              "arrived": arrived})
        for future in self._waiters.pop((session, status), []):
            if not future.done():
                future.set_result(event)
        return Response(status_code=200)

    async def start(self) -> WebhookReceiver:
        app = Starlette(routes=[Route(self.path, self._hook, methods=["POST"])])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        deadline = time.monotonic() + 10
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("the webhook receiver stopped while starting")
            if time.monotonic() > deadline:
                raise RuntimeError("the webhook receiver did not start in 10 s")
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        for futures in self._waiters.values():
            for future in futures:
                future.cancel()
        self._waiters.clear()
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, 5)
        if self._socket is not None:
            self._socket.close()

    async def __aenter__(self) -> WebhookReceiver:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
