"""PostgreSQL: creates that ranked the pool differently never deadlock on the server rows.

Two placements read the pool at different moments, so one ranks `default` first and the
other `b` first; both servers fill up before either locks. On the old code each locked its
first choice, found it full and went for the other one while still holding the first:
PostgreSQL killed one of them with "deadlock detected" (seen: DBAPIError). Locking the
candidates in id order, in one statement, leaves both with a plain NoCapacity.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlmodel import select

from wahaweb.core.models import WaSession
from wahaweb.core.servers import NoCapacity, placement


async def _put(farm, user, server_id: int, name: str) -> None:
    now = dt.datetime.now(dt.UTC)
    async with farm.core.db.transaction() as s:
        s.add(WaSession(id=name, user_id=user.id, status="connected", created_at=now, updated_at=now,
                        status_changed_at=now, status_seen_at=now, server_id=server_id, waha_name=name))


async def _drop(farm, name: str) -> None:
    async with farm.core.db.transaction() as s:
        row = (await s.exec(select(WaSession).where(WaSession.id == name))).one()
        await s.delete(row)


@pytest.mark.postgres
async def test_two_placements_that_ranked_the_pool_differently_do_not_deadlock(make_farm, pg_url, monkeypatch):
    farm = await make_farm([("a", 2), ("b", 2)], database_url=pg_url)
    first, second = farm.ids["default"], farm.ids["b"]
    owner = await farm.user("owner@example.com")
    real = placement.servers_with_load
    gates: dict[str, tuple[asyncio.Event, asyncio.Event]] = {}

    async def read_then_wait(s):
        result = await real(s)
        task = asyncio.current_task()
        gate = gates.get(task.get_name()) if task is not None else None
        if gate is not None:
            gate[0].set()
            await gate[1].wait()
        return result

    monkeypatch.setattr(placement, "servers_with_load", read_then_wait)

    async def placing(name: str):
        user = await farm.user(f"{name}@example.com")
        async with farm.core.db.locked_write(lock_user_id=user.id) as s:
            return (await placement.open_pool(s, dialect="postgresql")).take(f"p-{name}")

    async def start(name: str) -> asyncio.Task:
        gates[name] = (asyncio.Event(), asyncio.Event())
        task = asyncio.create_task(placing(name), name=name)
        await asyncio.wait_for(gates[name][0].wait(), 10)
        return task

    await _put(farm, owner, second, "t1")          # default 0/2, b 1/2: P1 ranks default, b
    p1 = await start("p1")
    await _drop(farm, "t1")
    await _put(farm, owner, first, "t2")           # default 1/2, b 0/2: P2 ranks b, default
    p2 = await start("p2")
    for name, server in (("t3", first), ("t4", second), ("t5", second)):
        await _put(farm, owner, server, name)      # both full before either locks
    gates["p1"][1].set()
    gates["p2"][1].set()
    results = await asyncio.wait_for(asyncio.gather(p1, p2, return_exceptions=True), 30)
    assert [type(r).__name__ for r in results] == ["NoCapacity", "NoCapacity"], results
    assert all(isinstance(r, NoCapacity) for r in results)
    assert await farm.placed() == {"default": 2, "b": 2}
