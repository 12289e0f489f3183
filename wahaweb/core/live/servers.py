"""What the watcher polls (a WAHA server and its lease) and what one tick did."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from wahaweb.core.live.lease import WatcherLease, server_key
from wahaweb.core.live.notify import PageUpdate
from wahaweb.core.models import WaSession
from wahaweb.core.telemetry import server_label
from wahaweb.waha import WahaClient

if TYPE_CHECKING:  # pragma: no cover
    from wahaweb.core.models import WahaServer
    from wahaweb.core.servers import ServerRegistry
    from wahaweb.core.sessions import SessionService

#: What a session's card says while its WAHA server does not answer (its status is kept).
SERVER_UNREACHABLE = "server unreachable"


@dataclasses.dataclass
class WatchedServer:
    """One WAHA server the engine polls, and the lease that lets this process poll it."""

    key: str
    waha: WahaClient
    lease: WatcherLease
    #: Which rows live on this server (a lone server built without the registry: all of them).
    owns: Callable[[WaSession], bool] = lambda row: True
    #: The `waha_server` row polled (None: built without the registry, e.g. in a test).
    server_id: int | None = None
    down: bool = False
    last_error: str | None = None
    #: Number of list calls made by this process.
    polls: int = 0
    #: How the engine hears from it (socket, webhook, poll, key refused), as last recorded on its row.
    event_source: str | None = None
    #: When this process last listed it (monotonic seconds; -inf: never, or a poll is wanted now).
    polled_at: float = float("-inf")
    #: The `default` server also holds rows placed before servers were data (server_id NULL).
    default: bool = False
    #: Per server, pruned by that server's own tick only (a shared map pruned by every server's
    #: tick lost the other servers' entries, so their drifting rows never converged):
    #: session id -> the disagreement seen at the last tick; session id -> when STARTING was first seen.
    drift: dict[str, tuple[Any, ...]] = dataclasses.field(default_factory=dict)
    starting_since: dict[str, tuple[dt.datetime, dt.datetime]] = dataclasses.field(default_factory=dict)

    async def rows(self, sessions: SessionService) -> list[WaSession]:
        """This server's rows: ONE query (a lone server built without the registry: every row)."""
        if self.server_id is None:
            return await sessions.rows_in()
        return await sessions.rows_on(self.server_id, unplaced=self.default)


def owned_by(server_id: int, *, default: bool) -> Callable[[WaSession], bool]:
    """Rows on `server_id`; the default server also takes rows placed before servers were data."""
    return lambda row: row.server_id == server_id or (default and row.server_id is None)


@dataclasses.dataclass
class TickReport:
    """What one `tick()` did (for tests and logs)."""

    polled: list[str] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)
    down: list[str] = dataclasses.field(default_factory=list)
    #: Held, events socket up, not listed this tick (the poll slows down while events flow).
    quiet: list[str] = dataclasses.field(default_factory=list)
    changes: list[PageUpdate] = dataclasses.field(default_factory=list)
    fast: bool = False


async def rebuild_watched(current: Sequence[WatchedServer], rows: Sequence[WahaServer], registry: ServerRegistry,
                          lease_for: Callable[[str], WatcherLease]) -> list[WatchedServer]:
    """The watched servers for the enabled `rows`: kept (lease, down flag) when the URL is unchanged.

    A server keyed by its URL keeps the lease key it had before servers were data, so an
    upgrade does not give two workers the same server for one TTL.
    """
    by_key = {w.key: w for w in current}
    result: list[WatchedServer] = []
    for row in rows:
        assert row.id is not None
        key = server_key(server_label(False, row.base_url))
        waha = await registry.client_for(row.id)
        default = row.name == "default"
        owns = owned_by(row.id, default=default)
        old = by_key.pop(key, None)
        if old is not None:
            old.waha, old.owns, old.server_id, old.default = waha, owns, row.id, default
            result.append(old)
        else:
            result.append(WatchedServer(key=key, waha=waha, lease=lease_for(key), owns=owns, server_id=row.id,
                                        down=row.reachable is False, default=default))
    for gone in by_key.values():  # disabled or removed: stop polling it
        with contextlib.suppress(Exception):
            await gone.lease.release()
            await gone.lease.aclose()
    return result
