"""Where a new session goes: decided inside the transaction that checks the plan limit.

Among enabled, reachable (probed: see NotProbed), non-draining servers with room, the one with the
most free capacity wins; ties go to the server with the fewest sessions pairing right now
(pairing is the expensive part: a browser engine rendering QR codes). Counts come from the
database, never from memory, so every worker and every concurrent create sees the same load.

A batch of creates (`wahaweb.core.batches`) reads the pool once (`open_pool`) and places each of
its sessions in turn (`Pool.take`), counting the ones placed before it.

Locks. SQLite: the caller's `BEGIN IMMEDIATE` already serialises every writer, so the count
cannot move under us. PostgreSQL: the caller holds only its batch's user rows, so two batches
could both pick the last slot of one server; the servers with room are locked `FOR UPDATE` in
id order, in one statement, and their counts read again after the locks (`_lock_in_id_order`).
Lock order is always user rows by id, then server rows by id: no deadlock between creates.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from wahaweb.core import status as st
from wahaweb.core.errors import CoreError
from wahaweb.core.models import WahaServer, WaSession
from wahaweb.core.servers.registry import CORE_ONLY_NAME, effective_capacity, single_session
from wahaweb.waha.models import ServerVersion

PAIRING_NOW = (st.CREATING, st.STARTING, st.PAIRING)


class NoCapacity(CoreError):
    """Every WAHA server is full, draining, disabled or down."""

    def __init__(self) -> None:
        super().__init__("No capacity right now; the operator has been told.", code="no_capacity")


class NotProbed(Exception):
    """Placement would consider servers nobody has probed yet (e.g. just added on another worker,
    whose probe has not written its answer): probe them, outside the lock, then place again."""

    def __init__(self, server_ids: list[int]) -> None:
        super().__init__(f"servers never probed: {server_ids}")
        self.server_ids = server_ids


@dataclasses.dataclass(frozen=True)
class Placement:
    server_id: int
    server_name: str
    #: What WAHA will call the session on that server.
    waha_name: str
    #: Whether its webhooks can be signed (else they go to the server's secret URL): known here, so
    #: the WAHA create that follows needs no read of the server row on the way to WAHA.
    signs_webhooks: bool = True


def signs_webhooks(server: WahaServer) -> bool:
    """Unknown tier (never probed): assume it signs, as WAHA does from 2026.6.1 on."""
    return server.tier is None or ServerVersion(version=server.version, tier=server.tier).signs_webhooks


#: The statements a placement runs inside the create's lock, built once (building a select anew, and
#: its cache key, cost more CPU than running it: measured in a burst of reservations).
_PAIRING = sa.func.sum(sa.case((col(WaSession.status).in_(PAIRING_NOW), 1), else_=0))
_LOAD_BY_SERVER = (select(WaSession.server_id, sa.func.count(), _PAIRING)  # type: ignore[call-overload]
                   .where(col(WaSession.server_id).is_not(None)).group_by(col(WaSession.server_id)))
_SERVERS_WITH_LOAD = (select(WahaServer, sa.func.count(col(WaSession.id)), _PAIRING)  # type: ignore[call-overload]
                      .outerjoin(WaSession, col(WaSession.server_id) == col(WahaServer.id))
                      .group_by(col(WahaServer.id)))

_LOCK_SERVERS = (select(WahaServer).where(col(WahaServer.id).in_(sa.bindparam("ids", expanding=True)))
                 .order_by(col(WahaServer.id)).with_for_update().execution_options(populate_existing=True))


async def load_by_server(s: AsyncSession) -> dict[int, tuple[int, int]]:
    """server id -> (sessions placed there, of which creating/starting/pairing)."""
    rows = await s.exec(_LOAD_BY_SERVER)
    return {int(sid or 0): (int(total), int(busy or 0)) for sid, total, busy in rows.all()}


def eligible(server: WahaServer) -> bool:
    return bool(server.enabled and not server.draining and server.reachable is not False and server.base_url)


def ranked(servers: list[WahaServer], loads: dict[int, tuple[int, int]]) -> list[WahaServer]:
    """Servers with room, best first: most free capacity, then fewest pairing, then oldest."""
    def free(server: WahaServer) -> int:
        return effective_capacity(server) - loads.get(server.id or 0, (0, 0))[0]

    room = [srv for srv in servers if eligible(srv) and free(srv) > 0]
    return sorted(room, key=lambda srv: (-free(srv), loads.get(srv.id or 0, (0, 0))[1], srv.id))


async def servers_with_load(s: AsyncSession) -> tuple[list[WahaServer], dict[int, tuple[int, int]]]:
    """Every server and its load, in one statement (placement runs inside the create's lock)."""
    servers: list[WahaServer] = []
    loads: dict[int, tuple[int, int]] = {}
    for server, total, busy in (await s.exec(_SERVERS_WITH_LOAD)).all():
        servers.append(server)
        loads[server.id or 0] = (int(total), int(busy or 0))
    return servers, loads


class Pool:
    """The servers and their load, read once (and on PostgreSQL locked) for a batch of placements.

    `take` places one session and counts it at once, so the next placement of the same batch
    (`wahaweb.core.batches`) sees it, as it would have seen it committed.
    """

    def __init__(self, servers: list[WahaServer], loads: dict[int, tuple[int, int]], never: list[int]) -> None:
        self.servers = servers
        self.loads = loads
        #: Servers with room that nobody has probed yet (see NotProbed).
        self.never = never

    def take(self, session_id: str, *, unprobed: str = "raise") -> Placement:
        """Choose a server for `session_id`; NoCapacity if none has room.

        A server never probed (`reachable` None) may be a Core server (one session, `default`) or a
        wrong URL: with `unprobed="raise"` NotProbed names the ones that would be candidates (the
        caller probes them and places again); with "skip" they are left out.
        """
        if self.never and unprobed == "raise":
            raise NotProbed(self.never)
        for server in ranked(self.servers, self.loads):
            if server.reachable is None or server.id is None:
                continue
            total, busy = self.loads.get(server.id, (0, 0))
            self.loads[server.id] = (total + 1, busy + 1)  # a new session is `creating`: pairing
            name = CORE_ONLY_NAME if single_session(server) else session_id
            return Placement(server_id=server.id, server_name=server.name, waha_name=name,
                             signs_webhooks=signs_webhooks(server))
        raise NoCapacity()


async def open_pool(s: AsyncSession, *, dialect: str) -> Pool:
    """The pool as the caller's write transaction sees it; on PostgreSQL the servers with room are
    locked (see `_lock_in_id_order`) and their counts read again after the locks."""
    servers, loads = await servers_with_load(s)
    candidates = ranked(servers, loads)
    never = [srv.id for srv in candidates if srv.reachable is None and srv.id is not None]
    probed = [srv.id for srv in candidates if srv.reachable is not None and srv.id is not None]
    if dialect == "postgresql" and probed:
        servers, loads = await _lock_in_id_order(s, probed)
    return Pool(servers, loads, never)


async def _lock_in_id_order(s: AsyncSession, ids: list[int]
                            ) -> tuple[list[WahaServer], dict[int, tuple[int, int]]]:
    """PostgreSQL: lock the candidate server rows in one statement, in id order, then count again.

    One order for every create: two creates that saw the pool at different moments (and so
    ranked it differently) never hold one server while waiting for another the other holds
    (that was a deadlock, about 1 run in 10 of 15 creates for 10 slots). The counts are read
    after the locks (READ COMMITTED: a fresh snapshot per statement), so they include every
    insert committed by whoever held a lock before us. Only servers with room in the first
    read are locked; full, draining, disabled and down servers are left alone.
    """
    locked = list(await s.exec(_LOCK_SERVERS, params={"ids": sorted(ids)}))
    return locked, await load_by_server(s)
