"""A lean HTTP/1.1 keep-alive GET client, for generating many polls cheaply.

httpx costs about a millisecond of CPU per request in this process; playing 1000 polling
tabs with it made the benchmark itself the bottleneck. This client sends the same GET with
the same ``X-Api-Key`` over one persistent connection and only reads the status and the
body, so the request rate WAHA sees is the one the model asks for.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit


class RawHttpConnection:
    def __init__(self, base_url: str, headers: dict[str, str] | None = None, timeout: float = 10.0):
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"only plain http:// URLs are supported, not {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.timeout = timeout
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._head_suffix = f" HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAccept: application/json\r\n{extra}\r\n"
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        """GET ``path``; returns the status code (the body is read and dropped)."""
        try:
            return await asyncio.wait_for(self._get(path), self.timeout)
        except BaseException:
            await self.close()
            raise

    async def _get(self, path: str) -> int:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        self._writer.write(f"GET {path}{self._head_suffix}".encode("latin-1"))
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "connection" and value.strip().lower() == "close":
                close = True
            elif name == "transfer-encoding":
                raise RuntimeError("chunked answers are not supported by RawHttpConnection")
        if length:
            await self._reader.readexactly(length)
        if close:
            await self.close()
        return status

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
