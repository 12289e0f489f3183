"""Issue 16, creates that never queue: SQLite writers of one process wait in an asyncio queue, not in
SQLite's busy handler, and a burst of audit events shares its commits."""

from __future__ import annotations

import asyncio

from sqlalchemy import event
from sqlmodel import select

from wahaweb.core.audit import OK, AuditLog
from wahaweb.core.db import Database
from wahaweb.core.models import AuditEvent

from .conftest import embedded_settings, register


def open_writes(db: Database) -> dict[str, int]:
    """Counts write transactions open at once (SQLAlchemy's begin .. commit/rollback)."""
    seen = {"now": 0, "max": 0, "commits": 0}

    def _begin(conn):  # inserted before wahaweb's own hook, which blocks in BEGIN IMMEDIATE
        if conn.get_execution_options().get("wahaweb_sqlite_immediate"):
            seen["now"] += 1
            seen["max"] = max(seen["max"], seen["now"])
            conn.info["wahaweb_test_write"] = True

    def _end(conn):
        if conn.info.pop("wahaweb_test_write", False):
            seen["now"] -= 1

    def _commit(conn):
        seen["commits"] += 1
        _end(conn)

    event.listen(db.engine.sync_engine, "begin", _begin, insert=True)
    event.listen(db.engine.sync_engine, "commit", _commit)
    event.listen(db.engine.sync_engine, "rollback", _end)
    return seen


async def test_sqlite_writers_of_one_process_take_turns_in_asyncio(make_core, sqlite_url):
    core = await make_core(embedded_settings(sqlite_url))
    users = [await register(core, f"u{i}@example.com", plan=None) for i in range(20)]
    seen = open_writes(core.db)
    rows = await asyncio.gather(*(core.sessions.reserve(u) for u in users))
    await core.sessions.drain()
    assert len({r.id for r in rows}) == 20
    # Never two write transactions open at once in this process: nobody sat in SQLite's busy handler.
    assert seen["max"] == 1


async def test_a_second_writer_waits_in_asyncio_not_in_sqlite(sqlite_url):
    """While one write transaction is open, another of this process waits on the asyncio lock: it has
    not begun (no BEGIN IMMEDIATE sent, so no busy-handler sleeps), and it starts the moment the first ends."""
    db = Database.from_url(sqlite_url)
    try:
        seen = open_writes(db)
        out = {"now": 0}
        event.listen(db.engine.sync_engine.pool, "checkout", lambda *_: out.update(now=out["now"] + 1))
        event.listen(db.engine.sync_engine.pool, "checkin", lambda *_: out.update(now=out["now"] - 1))
        first_open, release = asyncio.Event(), asyncio.Event()

        async def first() -> None:
            async with db.transaction() as s:
                await s.exec(select(1))
                first_open.set()
                await release.wait()

        async def second() -> None:
            async with db.transaction() as s:
                await s.exec(select(1))

        a = asyncio.create_task(first())
        await first_open.wait()
        b = asyncio.create_task(second())
        for _ in range(200):
            await asyncio.sleep(0)
        # The second holds no connection, so it sent no BEGIN IMMEDIATE: it queues in asyncio.
        assert not b.done() and out["now"] == 1
        release.set()
        await asyncio.gather(a, b)
        assert seen["max"] == 1 and seen["commits"] == 2
    finally:
        await db.aclose()


async def test_a_burst_of_audit_events_shares_its_commits(sqlite_url):
    db = Database.from_url(sqlite_url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(AuditEvent.metadata.create_all)
        audit = AuditLog(db)
        seen = open_writes(db)
        written = await asyncio.gather(*(audit.write(action="create", outcome=OK, detail=str(i)) for i in range(50)))
        assert all(ev.id is not None for ev in written)  # each writer got its committed event back
        async with db.session() as s:
            assert sorted(int(e.detail) for e in await s.exec(select(AuditEvent))) == list(range(50))
        assert seen["commits"] <= 3  # the first alone, then everyone who arrived meanwhile
        # One at a time still works (and an empty queue starts a new commit).
        await audit.write(action="stop", outcome=OK)
        assert seen["commits"] <= 4
    finally:
        await db.aclose()


async def test_a_burst_of_creates_acknowledges_everyone_before_provisioning_anyone(make_core, sqlite_url):
    """Reservations first: the WAHA create of the first user waits until every reservation in flight
    in this process is acknowledged (failed on old code: the first provisioning tasks reached WAHA
    while most of the burst still waited for its reservation, and took its CPU on the one loop)."""
    from wahaweb.core.sessions.turns import ReservationsFirst

    core = await make_core(embedded_settings(sqlite_url))
    core.sessions.turns = ReservationsFirst(patience=60.0)  # a slow machine must not end the wait first
    users = [await register(core, f"burst{i}@example.com", plan=None) for i in range(12)]
    acked: list[str] = []
    at_waha_create: list[int] = []  # how many were acknowledged when each WAHA create was sent
    create = core.waha.create_session

    async def seen(name, **kwargs):
        at_waha_create.append(len(acked))
        return await create(name, **kwargs)

    core.waha.create_session = seen

    async def reserve(user):
        row = await core.sessions.reserve(user)
        acked.append(row.id)
        return row

    rows = await asyncio.gather(*(reserve(u) for u in users))
    await core.sessions.drain()
    assert len(at_waha_create) == len(rows) == 12
    assert min(at_waha_create) == 12, at_waha_create
    stored = await core.sessions.get_row(rows[0].id)
    assert stored is not None and stored.status != "creating"  # provisioned once the burst was acknowledged


async def test_a_lone_create_is_provisioned_at_once():
    """Nothing in flight: the provisioning turn is immediate; while a reservation is in flight it
    waits for it, and never longer than its patience."""
    from wahaweb.core.sessions.turns import ReservationsFirst

    turns = ReservationsFirst(patience=30.0)
    await asyncio.wait_for(turns.provisioning_turn(), 1.0)  # immediate: no timer involved
    with turns.reserving():
        waiting = asyncio.create_task(turns.provisioning_turn())
        for _ in range(50):
            await asyncio.sleep(0)
        assert not waiting.done() and turns.in_flight == 1
    await asyncio.wait_for(waiting, 1.0)  # released by the reservation's end, not by the patience
    impatient = ReservationsFirst(patience=0.0)
    with impatient.reserving():
        await asyncio.wait_for(impatient.provisioning_turn(), 1.0)  # a stream of reservations never starves it
