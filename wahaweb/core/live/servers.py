"""What the watcher polls (a WAHA server and its lease) and what one tick did."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from wahaweb.core.live.lease import WatcherLease
from wahaweb.core.live.notify import LiveChange
from wahaweb.core.models import WaSession
from wahaweb.waha import WahaClient


@dataclasses.dataclass
class WatchedServer:
    """One WAHA server the engine polls, and the lease that lets this process poll it."""

    key: str
    waha: WahaClient
    lease: WatcherLease
    #: Which rows live on this server (one server today: all of them).
    owns: Callable[[WaSession], bool] = lambda row: True
    down: bool = False
    last_error: str | None = None
    #: Number of list calls made by this process.
    polls: int = 0


@dataclasses.dataclass
class TickReport:
    """What one `tick()` did (for tests and logs)."""

    polled: list[str] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)
    down: list[str] = dataclasses.field(default_factory=list)
    changes: list[LiveChange] = dataclasses.field(default_factory=list)
    fast: bool = False
