"""How the production server treats a worker that dies: replace it, never take the others down.

Reflex 0.10 starts Granian without `respawn_failed_workers`, and Granian's default then stops
the whole server when one worker exits unexpectedly (OOM-killed, SIGKILL, a crash): every tab
on every worker would lose the app. With several workers (`WAHAWEB_WORKERS`) a dying worker
must only cost the tabs it served, which reconnect to the others; Granian respawns it.
Called from rxconfig.py, which the Reflex CLI imports before it builds the server.
"""

from __future__ import annotations

import functools
from typing import Any


def respawn_failed_workers() -> None:
    """Make Granian's servers respawn a worker that exits unexpectedly, unless told otherwise."""
    try:
        from granian.server.common import AbstractServer
    except ImportError:  # another ASGI server: nothing to do
        return
    init = AbstractServer.__init__
    if getattr(init, "_wahaweb_respawn", False):
        return

    @functools.wraps(init)
    def with_respawn(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("respawn_failed_workers", True)
        init(self, *args, **kwargs)

    with_respawn._wahaweb_respawn = True  # type: ignore[attr-defined]
    AbstractServer.__init__ = with_respawn  # type: ignore[method-assign]
