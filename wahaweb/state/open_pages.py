"""The `wahaweb_open_pages` gauge: browser tabs connected to this backend process.

Each open tab holds one Reflex websocket; Reflex's token manager records each socket's
client token and the worker holding it. A lifespan task copies the count of this process's sockets into the
Core's metrics every few seconds (in multiprocess mode the gauge is summed over live
workers). Sampling, rather than hooking connect/disconnect, leaves Reflex untouched.
"""

from __future__ import annotations

import asyncio
import logging

import reflex as rx

from wahaweb.observability import Metrics
from wahaweb.state.keepalive import app_tokens

logger = logging.getLogger("wahaweb.state.open_pages")
SAMPLE_EVERY = 5.0


def open_pages(app: rx.App) -> int:
    """Websockets connected to this process now (0 before the event namespace exists).

    Not `len(sid_to_token)`: with Redis, Reflex's token manager also caches the sockets of other
    workers it looked up (to relay pushes), and the gauge summed over workers counted those twice."""
    return len(app_tokens(app))


async def _sample(app: rx.App, metrics: Metrics, every: float) -> None:
    while True:
        try:
            metrics.set_open_pages(open_pages(app))
        except Exception:  # noqa: BLE001 - a gauge is never worth the loop
            logger.exception("could not sample open pages")
        await asyncio.sleep(every)


def start_sampling(app: rx.App, metrics: Metrics, every: float = SAMPLE_EVERY) -> asyncio.Task:
    """Keep the open-pages gauge current while the backend runs (the lifespan cancels it)."""
    return asyncio.ensure_future(_sample(app, metrics, every))
