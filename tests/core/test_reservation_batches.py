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


async def test_a_batch_failing_after_its_commit_is_not_decided_again(make_core, sqlite_url, monkeypatch):
    """(Found by review.) After a failed commit the rows may be there (a reply lost after COMMIT was
    sent): deciding each create again made every user a second row, the first stuck in `creating`."""
    import contextlib

    core = await make_core(embedded_settings(sqlite_url))
    await register(core, "admin@example.com", plan=None)
    users = [await register(core, f"lost{i}@example.com", plan=None) for i in range(3)]
    real = core.db.locked_write
    left = {"n": 1}

    @contextlib.asynccontextmanager
    async def answer_lost(*args, **kwargs):
        async with real(*args, **kwargs) as s:
            yield s
        if left["n"] and len(list(kwargs.get("lock_user_ids", ()))) > 1:
            left["n"] -= 1
            raise ConnectionError("connection lost after COMMIT was sent")

    monkeypatch.setattr(core.db, "locked_write", answer_lost)
    await asyncio.gather(*(core.sessions.reserve(u) for u in users), return_exceptions=True)
    await core.sessions.drain()
    assert left["n"] == 0
    rows = await db_rows(core)
    per_user = {u.id: [r.status for r in rows if r.user_id == u.id] for u in users}
    assert all(len(statuses) <= 1 for statuses in per_user.values()), per_user


async def test_a_refused_create_of_a_caller_that_went_away_is_still_on_record(make_core, sqlite_url, monkeypatch):
    """(Found by review.) The batch decides a closed tab's create; its refusal (here: no server has
    room) is logged, audited and counted all the same."""
    core = await make_core(embedded_settings(sqlite_url, default_server_capacity=1))
    await register(core, "admin@example.com", plan=None)
    first, second = [await register(core, f"nc{i}@example.com", plan=None) for i in range(2)]
    gate = asyncio.Event()
    real = core.sessions._reserve_batch

    async def held(asks):
        await gate.wait()
        return await real(asks)

    monkeypatch.setattr(core.sessions, "_reserve_batch", held)
    batches = core.sessions._reservations
    t_first = asyncio.create_task(core.sessions.reserve(first))
    t_second = asyncio.create_task(core.sessions.reserve(second))
    try:
        while sum(batches.batch_sizes) < 2:
            await asyncio.sleep(0.001)
        assert list(batches.batch_sizes) == [2]
        t_second.cancel()
        await asyncio.sleep(0)
    finally:
        gate.set()
    await t_first
    with pytest.raises(asyncio.CancelledError):
        await t_second
    await core.sessions.drain()
    mine = [(e.action, e.outcome) for e in await core.audit.recent(100) if e.user_id == second.id]
    assert ("no_capacity", "failed") in mine and any(action == "create" for action, _ in mine), mine


async def test_each_create_logs_under_its_own_request_id(make_core, sqlite_url):
    """(Found by review.) The batch starts the WAHA creates; each still runs in its caller's context,
    so its `session.create` line carries that caller's ids, not the first caller's of the batch."""
    import logging

    from wahaweb.observability.log_context import ContextFilter, log_context

    core = await make_core(embedded_settings(sqlite_url))
    await register(core, "admin@example.com", plan=None)
    users = [await register(core, f"rid{i}@example.com", plan=None) for i in range(3)]
    seen: list[tuple[int, str | None]] = []

    class Grab(logging.Handler):
        def emit(self, record):
            if getattr(record, "event", None) == "session.create":
                seen.append((record.user, getattr(record, "request_id", None)))

    handler = Grab()
    handler.addFilter(ContextFilter())
    log = logging.getLogger("wahaweb.core.sessions")
    old_level = log.level
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    try:
        async def click(i, user):
            with log_context(request_id=f"req-{i}"):
                return await core.sessions.create(user)

        await asyncio.gather(*(click(i, u) for i, u in enumerate(users)))
        await core.sessions.drain()
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)
    assert sorted(seen) == [(u.id, f"req-{i}") for i, u in enumerate(users)], seen


@pytest.mark.postgres
async def test_two_workers_bursting_on_postgresql_neither_deadlock_nor_overshoot(make_core, pg_url):
    """Two Cores (two worker processes' batches) on one PostgreSQL, every Free user clicking on
    both at once, more users than server room: each batch locks users then servers in id order."""
    from wahaweb.core.errors import PlanLimitReached as Limit

    a = await make_core(embedded_settings(pg_url, default_server_capacity=25))
    await register(a, "admin@example.com", plan=None)
    users = [await register(a, f"pg{i}@example.com", plan="Free") for i in range(30)]
    b = await make_core(embedded_settings(pg_url, default_server_capacity=25))
    calls = [core.sessions.reserve(u) for u in users for core in (a, b)]
    answers = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 60)
    await a.sessions.drain()
    await b.sessions.drain()
    odd = [r for r in answers if isinstance(r, BaseException) and not isinstance(r, (Limit, NoCapacity))]
    assert not odd, odd
    rows = [r for r in await a.sessions.rows_in() if r.status != "failed"]
    per_user: dict[int, int] = {}
    for r in rows:
        per_user[r.user_id] = per_user.get(r.user_id, 0) + 1
    assert max(per_user.values()) <= 1 and len(rows) <= 25, (per_user, len(rows))
