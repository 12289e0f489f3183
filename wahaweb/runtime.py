"""The process-wide Core: built once per backend process, closed on shutdown.

Reflex states and API routes both reach core through `get_core()`, so one WAHA client
(one connection pool), one database engine and one rate limiter serve every tab.
No Reflex import here: wahaweb.state.live opens and closes it with the app's lifespan.
"""

from __future__ import annotations

import asyncio

from wahaweb.core.container import Core
from wahaweb.settings import get_settings

_core: Core | None = None
_lock = asyncio.Lock()


async def get_core() -> Core:
    """The Core of this process, created on first use."""
    global _core
    if _core is None:
        async with _lock:
            if _core is None:
                _core = await Core.create(get_settings())
    return _core


async def close_core() -> None:
    global _core
    core, _core = _core, None
    if core is not None:
        await core.aclose()
