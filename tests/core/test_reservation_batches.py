"""Issue 16, creates that never queue: the reservations that arrive together share one write
transaction (`wahaweb.core.batches`), and each is still decided as if it had been alone."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event

from wahaweb.core.errors import PlanLimitReached
from wahaweb.core.servers.placement import NoCapacity

from .conftest import assert_no_orphans, db_rows, embedded_settings, register


def count_statements(core) -> dict[str, int]:
    seen = {"n": 0}
    event.listen(core.db.engine.sync_engine, "before_cursor_execute",
                 lambda *_: seen.update(n=seen["n"] + 1))
    return seen


async def test_a_burst_of_creates_shares_its_reads_and_transactions(make_core, any_db_url):
    """20 users at once: one statement per user no more (was about six each: the user's lookup, the
    lock, the standing, the placement, the insert, the commit), every row its own and placed."""
    core = await make_core(embedded_settings(any_db_url))
    await register(core, "admin@example.com", plan=None)
    users = [await register(core, f"burst{i}@example.com", plan=None) for i in range(20)]
    core.accounts.trusted.forget()  # as a click from another worker: every user is looked up
    seen = count_statements(core)
    rows = await asyncio.gather(*(core.sessions.reserve(u) for u in users))
    statements = seen["n"]
    await core.sessions.drain()
    assert [r.user_id for r in rows] == [u.id for u in users]
    assert len({r.id for r in rows}) == 20 and all(r.server_id is not None for r in rows)
    assert statements <= 20, statements
    sizes = core.sessions._reservations.batch_sizes
    assert sum(sizes) == 20 and max(sizes) > 1, sizes
    await assert_no_orphans(core)


async def test_the_plan_limit_counts_the_requests_of_the_same_batch(make_core, any_db_url):
    """A Free user (1 session) firing 4 creates inside one batch of other users' creates gets one."""
    core = await make_core(embedded_settings(any_db_url))
    await register(core, "admin@example.com", plan=None)
    others = [await register(core, f"other{i}@example.com", plan=None) for i in range(4)]
    greedy = await register(core, "greedy@example.com", plan="Free")
    asks = [others[0], greedy, greedy, others[1], greedy, others[2], greedy, others[3]]
    answers = await asyncio.gather(*(core.sessions.reserve(u) for u in asks), return_exceptions=True)
    await core.sessions.drain()
    assert max(core.sessions._reservations.batch_sizes) >= 7  # all but the first went together
    mine = [a for u, a in zip(asks, answers, strict=True) if u is greedy]
    assert sum(not isinstance(a, BaseException) for a in mine) == 1
    assert sum(isinstance(a, PlanLimitReached) for a in mine) == 3
    assert all(not isinstance(a, BaseException) for u, a in zip(asks, answers, strict=True) if u is not greedy)
    rows = await db_rows(core)
    assert sum(r.user_id == greedy.id and r.status != "failed" for r in rows) == 1
    await assert_no_orphans(core)


async def test_server_capacity_counts_the_requests_of_the_same_batch(make_core, any_db_url):
    core = await make_core(embedded_settings(any_db_url, default_server_capacity=3))
    await register(core, "admin@example.com", plan=None)
    users = [await register(core, f"cap{i}@example.com", plan=None) for i in range(6)]
    answers = await asyncio.gather(*(core.sessions.reserve(u) for u in users), return_exceptions=True)
    await core.sessions.drain()
    assert sum(not isinstance(a, BaseException) for a in answers) == 3
    assert sum(isinstance(a, NoCapacity) for a in answers) == 3, answers
    assert len([r for r in await db_rows(core) if r.status != "failed"]) == 3
    await assert_no_orphans(core)


async def test_a_failed_batch_is_decided_again_one_by_one(make_core, sqlite_url, monkeypatch):
    """A batch whose insert fails (here: a session id that collides) writes nothing; each of its
    creates is then tried alone, so the others are not failed for it."""
    import wahaweb.core.sessions.provisioning as provisioning

    core = await make_core(embedded_settings(sqlite_url))
    await register(core, "admin@example.com", plan=None)
    users = [await register(core, f"clash{i}@example.com", plan=None) for i in range(5)]
    first = await core.sessions.reserve(users[0])
    real = provisioning.new_session_id
    clashes = {"left": 1}

    def clashing(user_id, clock):
        if clashes["left"] and user_id == users[2].id:
            clashes["left"] -= 1
            return first.id  # the primary key refuses it: the whole batch rolls back
        return real(user_id, clock)

    monkeypatch.setattr(provisioning, "new_session_id", clashing)
    answers = await asyncio.gather(*(core.sessions.reserve(u) for u in users[1:]), return_exceptions=True)
    await core.sessions.drain()
    assert clashes["left"] == 0
    assert all(not isinstance(a, BaseException) for a in answers), answers
    assert len({r.user_id for r in await db_rows(core)}) == 5
    await assert_no_orphans(core)


async def test_a_caller_that_goes_away_mid_batch_still_gets_its_session_made(make_core, sqlite_url):
    """The batch commits the row of a caller cancelled meanwhile (a closed tab): the WAHA create is
    the service's own task, so the row does not stay `creating` and nothing is orphaned."""
    core = await make_core(embedded_settings(sqlite_url))
    await register(core, "admin@example.com", plan=None)
    users = [await register(core, f"gone{i}@example.com", plan=None) for i in range(3)]
    tasks = [asyncio.create_task(core.sessions.reserve(u)) for u in users]
    while not core.sessions._reservations.batch_sizes:
        await asyncio.sleep(0)
    tasks[1].cancel()
    with pytest.raises(asyncio.CancelledError):
        await tasks[1]
    await asyncio.gather(tasks[0], tasks[2])
    await core.sessions.drain()
    rows = {r.user_id: r for r in await db_rows(core)}
    assert set(rows) == {u.id for u in users}
    assert rows[users[1].id].status not in ("creating", "failed")
    await assert_no_orphans(core)
