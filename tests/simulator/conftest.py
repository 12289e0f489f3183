"""Fixtures for the simulator tests: an in-process simulator and a client that speaks to it.

``FAST`` timings keep WAHA's sequence but shrink it: the first QR after 10 ms, QR
lifetimes 60 s / 20 s become 3 s / 1 s, the 5 s QR wait becomes 0.25 s; rotation
tests pass ``time_scale=200`` to see all six QRs in under a second.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.openapi_spec import validate_response
from wahaweb.simulator import Simulator, SimulatorConfig

API_KEY = "test-key"
FAST: dict[str, Any] = {"qr_delay": 0.01, "time_scale": 20.0}

MakeSimulator = Callable[..., Awaitable[tuple[Simulator, httpx.AsyncClient]]]


@pytest.fixture
async def make_simulator() -> AsyncIterator[MakeSimulator]:
    """Factory: ``sim, client = await make_simulator(tier="core", webhook_transport=...)``."""
    created: list[tuple[Simulator, httpx.AsyncClient]] = []

    async def make(
        *, webhook_transport: httpx.AsyncBaseTransport | None = None, **overrides: Any
    ) -> tuple[Simulator, httpx.AsyncClient]:
        config = SimulatorConfig(**{"api_key": API_KEY, **FAST, **overrides})
        sim = Simulator(config, webhook_transport=webhook_transport)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sim.app),
            base_url="http://waha.test",
            headers={"X-Api-Key": API_KEY},
        )
        created.append((sim, client))
        return sim, client

    yield make
    for sim, client in created:
        await client.aclose()
        await sim.aclose()


@pytest.fixture
async def simulator(make_simulator: MakeSimulator) -> tuple[Simulator, httpx.AsyncClient]:
    return await make_simulator()


def body_of(response: httpx.Response) -> Any:
    """The decoded JSON body, or None for an empty one."""
    return response.json() if response.content else None


def assert_matches_spec(response: httpx.Response, path_template: str, method: str) -> Any:
    """The response's body must fit its operation's schema for that status; returns the body."""
    body = body_of(response)
    validate_response(path_template, method, response.status_code, body)
    return body


def decode_png_modules(png: bytes, module_count: int, border: int = 4) -> list[list[bool]]:
    """Read a 1-bit greyscale PNG (what segno writes) back into a QR module matrix.

    Written out here because no image library is installed; it samples the centre pixel of
    every module, which is what a scanner does once it has found the finder patterns.
    """
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, idat, header = 8, b"", None
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind, data = png[offset + 4 : offset + 8], png[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", data)
        elif kind == b"IDAT":
            idat += data
        offset += 12 + length
    assert header is not None
    width, height, bit_depth, colour_type = header[:4]
    assert (bit_depth, colour_type) == (1, 0), "expected 1-bit greyscale"
    stride = (width + 7) // 8
    raw, rows, previous = zlib.decompress(idat), [], bytes(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - 1] if x else 0
            up, up_left = previous[x], (previous[x - 1] if x else 0)
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else up_left)
                line[x] = (line[x] + pred) & 0xFF
        rows.append(bytes(line))
        previous = bytes(line)
    scale = width // (module_count + 2 * border)
    assert scale * (module_count + 2 * border) == width == height

    def dark(px: int, py: int) -> bool:
        return not (rows[py][px // 8] >> (7 - px % 8)) & 1  # 0 = black in greyscale

    return [
        [dark((border + col) * scale + scale // 2, (border + row) * scale + scale // 2) for col in range(module_count)]
        for row in range(module_count)
    ]
