"""What one status-loop tick costs: O(servers), not O(sessions) nor O(tabs). Counted, so it cannot creep back.

Two WAHA simulators (the `default` server and `b`), sessions spread over both (one in ten
pairing, the rest connected), 50 listeners standing for open tabs. Once the rows agree with
WAHA, one tick costs exactly one `GET /api/sessions?all=true` per server and one SQL statement
per server (that server's rows), at 20 sessions and at 200. Counted: SQL statements (SQLAlchemy
event hook on the Core's engine), WAHA requests (each simulator's request log).
"""

from __future__ import annotations

import datetime as dt
import time

import sqlalchemy as sa

from wahaweb.core import status as st
from wahaweb.core.ids import new_session_id
from wahaweb.core.models import WaSession

SERVERS = [("a", 1000), ("b", 1000)]


async def _add_sessions(farm, per_server: int) -> None:
    """`per_server` sessions on each simulator and as rows: one in ten pairing, the rest connected."""
    core, user = farm.core, farm.admin
    now = core.clock()
    rows = []
    for name, sim in farm.sims.items():
        made = [new_session_id(user.id, core.clock) for _ in range(per_server)]
        for sid in made:
            sim.engine.create(sid, {"metadata": {"wahaweb.session_id": sid}}, start=True)
        for i, sid in enumerate(made):
            assert await sim.wait_for_status(sid, "SCAN_QR_CODE") == "SCAN_QR_CODE"
            pairing = i % 10 == 0
            phone = None
            if not pairing:
                info = sim.scan(sid, phone=f"6281{len(rows):08d}")
                phone = info["me"]["id"].split("@")[0]
            rows.append(WaSession(
                id=sid, user_id=user.id, server_id=farm.ids[name],
                status=st.PAIRING if pairing else st.CONNECTED, waha_status="SCAN_QR_CODE" if pairing else "WORKING",
                phone=phone, created_at=now, updated_at=now, status_changed_at=now, status_seen_at=now,
            ))
    async with core.db.transaction() as s:
        s.add_all(rows)


async def _measured_tick(farm) -> tuple[int, dict[str, int], float, object]:
    """(SQL queries, WAHA requests per server, CPU seconds, report) of one steady tick.

    SQLite's explicit BEGIN (the Database opens every transaction itself) is not a query."""
    engine = farm.core.live
    for _ in range(2):  # settle: phones, first QR fetches
        await engine.tick()
        await engine.drain()
    statements: list[str] = []

    def count(conn, cursor, stmt, *args):
        statements.append(stmt)

    sa.event.listen(farm.core.db.engine.sync_engine, "before_cursor_execute", count)
    for sim in farm.sims.values():
        sim.clear_requests()
    cpu = time.process_time()
    try:
        report = await engine.tick()
        await engine.drain()
    finally:
        cpu = time.process_time() - cpu
        sa.event.remove(farm.core.db.engine.sync_engine, "before_cursor_execute", count)
    waha = {name: len(sim.requests) for name, sim in farm.sims.items()}
    assert all(r["path"] == "/api/sessions" for sim in farm.sims.values() for r in sim.requests)
    queries = [q for q in statements if q.split()[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK")]
    return len(queries), waha, cpu, report


async def test_a_tick_costs_one_list_and_one_query_per_server_at_20_and_200_sessions_sqlite(make_farm):
    await _tick_cost(make_farm, None, "sqlite")


async def test_a_tick_costs_one_list_and_one_query_per_server_at_20_and_200_sessions_postgres(make_farm, pg_url):
    await _tick_cost(make_farm, pg_url, "postgres")


async def _tick_cost(make_farm, url, database) -> None:
    farm = await make_farm(SERVERS, database_url=url, time_scale=1.0)
    engine = farm.core.live
    engine.servers_every = 3600.0  # the server list is re-read every 5 s, not per tick: kept out of the count
    rows_read = []
    for name in ("rows_on", "rows_in"):
        original = getattr(farm.core.sessions, name)

        async def counted(*args, _original=original, **kwargs):
            got = await _original(*args, **kwargs)
            rows_read.append(len(got))
            return got

        setattr(farm.core.sessions, name, counted)
    tabs = []
    for _ in range(50):
        async def tab(change, _seen=tabs):
            _seen.append(change)
        engine.notifier.add(tab)

    await _add_sessions(farm, 10)  # 20 sessions
    sql_20, waha_20, cpu_20, report_20 = await _measured_tick(farm)
    rows_20 = rows_read[-2:]
    await _add_sessions(farm, 90)  # 200 sessions
    sql_200, waha_200, cpu_200, report_200 = await _measured_tick(farm)
    rows_200 = rows_read[-2:]

    print(f"\n{database}: tick at 20 sessions: {sql_20} SQL, WAHA {waha_20}, CPU {cpu_20 * 1000:.1f} ms; "
          f"at 200: {sql_200} SQL, WAHA {waha_200}, CPU {cpu_200 * 1000:.1f} ms; rows read {rows_20} -> {rows_200}")
    assert report_20.changes == [] and report_200.changes == []  # steady: nothing to apply, nothing to push
    assert sorted(report_200.polled) == sorted(s.key for s in engine.servers) and len(engine.servers) == 2
    assert waha_20 == waha_200 == {"default": 1, "b": 1}
    assert sql_20 == sql_200 == len(SERVERS)
    # Each row is read once per tick, by its own server's query (each server used to read all of them).
    assert sorted(rows_20) == [10, 10] and sorted(rows_200) == [100, 100]


async def test_a_drifting_row_on_the_second_server_converges(make_farm):
    """WAHA's list wins on the second look even when the row's last observation is newer.

    Here a webhook from a WAHA whose clock runs an hour ahead set the row's `status_seen_at`;
    the phone has since been scanned (WAHA says WORKING, no event came). The watcher notes the
    disagreement, and on the next tick, seeing the same one, applies WAHA's status. The notes
    were one map for all servers, pruned by each server's tick to that server's rows: the
    `default` server's tick erased `b`'s note every round, so `b`'s row stayed `pairing` forever
    (seen failing on the old code: still pairing after 5 ticks).
    """
    farm = await make_farm(SERVERS, time_scale=1.0)
    core, sim = farm.core, farm.sims["b"]
    ahead = core.clock() + dt.timedelta(hours=1)
    sid = new_session_id(farm.admin.id, core.clock)
    sim.engine.create(sid, {"metadata": {"wahaweb.session_id": sid}}, start=True)
    assert await sim.wait_for_status(sid, "SCAN_QR_CODE") == "SCAN_QR_CODE"
    sim.scan(sid, phone="628100000001")
    async with core.db.transaction() as s:
        s.add(WaSession(id=sid, user_id=farm.admin.id, server_id=farm.ids["b"], status=st.PAIRING,
                        waha_status="SCAN_QR_CODE", created_at=core.clock(), updated_at=core.clock(),
                        status_changed_at=ahead, status_seen_at=ahead))
    seen = []
    for _ in range(5):
        await core.live.tick()
        await core.live.drain()
        row = await core.sessions.get_row(sid)
        seen.append(row.status)
        if row.status == st.CONNECTED:
            break
    assert seen == [st.PAIRING, st.CONNECTED]
    assert row.phone is not None and row.phone.endswith("628100000001")
