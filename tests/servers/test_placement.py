"""Placement across several WAHA servers: by free room, inside the plan-limit transaction."""

from __future__ import annotations

import asyncio
import time

import pytest

from wahaweb.core.servers import NoCapacity

CAPACITIES = [("a", 2), ("b", 3), ("c", 5)]


async def _ten_concurrent(farm) -> tuple[list, float]:
    users = [await farm.user(f"u{i}@example.com") for i in range(10)]
    started = time.perf_counter()
    rows = await asyncio.gather(*(farm.core.sessions.create(user) for user in users))
    return rows, time.perf_counter() - started


async def _check_full_and_refusing(farm, rows) -> None:
    assert await farm.placed() == {"default": 2, "b": 3, "c": 5}
    # WAHA agrees: each simulator holds exactly what was placed on it.
    assert [farm.on_waha(n) for n in ("default", "b", "c")] == [2, 3, 5]
    assert all(row.status in ("starting", "pairing") for row in rows)
    eleventh = await farm.user("eleventh@example.com")
    with pytest.raises(NoCapacity) as refused:
        await farm.core.sessions.create(eleventh)
    assert str(refused.value) == "No capacity right now; the operator has been told."
    assert await farm.core.server_admin.no_capacity_count(farm.admin) == 1
    assert farm.core.telemetry.no_capacity._value.get() == 1
    text = (await farm.core.telemetry.render()).decode()
    assert 'wahaweb_no_capacity_total 1.0' in text
    # The sessions gauge is labelled per WAHA server now.
    labels = {line.split('server="')[1].split('"')[0] for line in text.splitlines()
              if line.startswith("wahaweb_sessions{")}
    assert labels == {"http://a.waha.test", "http://b.waha.test", "http://c.waha.test"}


async def test_ten_users_at_once_fill_2_3_5_and_the_eleventh_is_told_sqlite(make_farm, caplog):
    farm = await make_farm(CAPACITIES)
    rows, seconds = await _ten_concurrent(farm)
    print(f"sqlite: 10 concurrent creates over 3 servers in {seconds * 1000:.0f} ms")
    await _check_full_and_refusing(farm, rows)
    assert any("no WAHA server has room" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


@pytest.mark.postgres
async def test_ten_users_at_once_fill_2_3_5_and_the_eleventh_is_told_postgres(make_farm, pg_url):
    farm = await make_farm(CAPACITIES, database_url=pg_url)
    rows, seconds = await _ten_concurrent(farm)
    print(f"postgres: 10 concurrent creates over 3 servers in {seconds * 1000:.0f} ms")
    await _check_full_and_refusing(farm, rows)


async def test_spread_by_free_room_then_fewest_pairing(make_farm):
    farm = await make_farm(CAPACITIES)
    order = []
    for i in range(3):
        row = await farm.core.sessions.create(await farm.user(f"s{i}@example.com"))
        order.append(next(n for n, sid in farm.ids.items() if sid == row.server_id))
    # c has 5 free, then 4 (b 3); then c and b both have 3 free: b has nobody pairing.
    assert order == ["c", "c", "b"]


async def test_a_draining_server_receives_nothing_and_keeps_its_sessions(make_farm):
    farm = await make_farm(CAPACITIES)
    first = await farm.core.sessions.create(await farm.user("first@example.com"))
    assert first.server_id == farm.ids["c"]
    await farm.core.server_admin.set_draining(farm.admin, farm.ids["c"], True)
    for i in range(5):
        row = await farm.core.sessions.create(await farm.user(f"d{i}@example.com"))
        assert row.server_id != farm.ids["c"]
    assert (await farm.placed())["c"] == 1
    farm.sims["c"].scan(first.waha_name)  # its session keeps working
    assert (await farm.core.sessions.status(farm.admin, first.id)).status == "connected"
    with pytest.raises(NoCapacity):
        await farm.core.sessions.create(await farm.user("full@example.com"))


async def test_a_down_server_receives_nothing_its_sessions_show_unreachable_then_recover(make_farm):
    farm = await make_farm(CAPACITIES)
    notices = []

    async def listen(change):
        notices.append(change)

    farm.core.live.notifier.add(listen)
    on_c = await farm.core.sessions.create(await farm.user("c@example.com"))
    assert on_c.server_id == farm.ids["c"]
    await farm.core.live.tick()
    farm.sims["c"].inject(refuse_seconds=600)
    await farm.core.servers.probe_all()
    assert (await farm.core.servers.get(farm.ids["c"])).reachable is False
    for i in range(3):
        row = await farm.core.sessions.create(await farm.user(f"x{i}@example.com"))
        assert row.server_id != farm.ids["c"]
    notices.clear()
    report = await farm.core.live.tick()
    assert report.down
    row = await farm.core.sessions.get_row(on_c.id)
    assert row.status in ("starting", "pairing")  # kept: not failed, not deleted
    mine = [c for c in notices if c.session_id == on_c.id]
    assert [(c.status, c.detail) for c in mine] == [(row.status, "server unreachable")]
    page = await farm.core.sessions.overview(farm.admin)  # a page load shows it too
    assert page.note(row) == "server unreachable"
    assert {page.note(item.session) for item in page.everyone if item.session.id != row.id} == {""}
    farm.sims["c"].clear_faults()
    notices.clear()
    await farm.core.live.tick()
    back = [c for c in notices if c.session_id == on_c.id]
    assert back and back[0].detail is None
    assert (await farm.core.servers.get(farm.ids["c"])).reachable is True
    assert (await farm.core.sessions.overview(farm.admin)).note(row) == ""
    assert (await farm.core.sessions.get_row(on_c.id)).status in ("starting", "pairing")


async def test_core_2024_server_takes_one_session_named_default(make_farm):
    farm = await make_farm([("a", 5), ("old", 5)], profiles={"old": "core-2024.10"})
    old = await farm.core.servers.get(farm.ids["old"])
    assert (old.tier, old.version) == ("CORE", "2024.10.8")
    view = next(v for v in await farm.core.server_admin.views(farm.admin) if v.name == "old")
    assert view.load == "0 / 1"
    await farm.core.server_admin.set_draining(farm.admin, farm.ids["default"], True)
    row = await farm.core.sessions.create(await farm.user("one@example.com"))
    assert (row.server_id, row.waha_name) == (farm.ids["old"], "default")
    assert farm.sims["old"].status("default") in ("STARTING", "SCAN_QR_CODE")
    await farm.core.server_admin.set_draining(farm.admin, farm.ids["default"], False)
    second = await farm.core.sessions.create(await farm.user("two@example.com"))
    assert (second.server_id, second.waha_name) == (farm.ids["default"], second.id)
    # Webhooks map back by our metadata (WAHA calls it `default`), else by name when unambiguous.
    sessions = farm.core.sessions
    assert (await sessions.row_for_event("default", row.id)).id == row.id
    assert await sessions.row_for_event("default", second.id) is None  # metadata and name disagree
    assert (await sessions.row_for_event("default")).id == row.id
    assert (await sessions.row_for_event(second.id)).id == second.id
    assert await sessions.row_for_event("default", server_id=farm.ids["default"]) is None
    # Actions reach the old server under WAHA's name; the watcher maps its list back by name.
    await farm.core.live.tick()
    farm.sims["old"].scan("default")
    await farm.core.live.tick()
    assert (await farm.core.sessions.get_row(row.id)).status == "connected"
    stopped = await farm.core.sessions.stop(farm.admin, row.id)
    assert stopped.status == "stopped" and farm.sims["old"].status("default") == "STOPPED"


async def test_removal_refused_while_sessions_remain(make_farm):
    from wahaweb.core.errors import InvalidState

    farm = await make_farm(CAPACITIES)
    row = await farm.core.sessions.create(await farm.user("r@example.com"))
    assert row.server_id == farm.ids["c"]
    with pytest.raises(InvalidState):
        await farm.core.server_admin.remove(farm.admin, farm.ids["c"])
    owner = await farm.core.accounts.get_user(row.user_id)
    await farm.core.sessions.delete(owner, row.id)
    await farm.core.server_admin.remove(farm.admin, farm.ids["c"])
    assert [v.name for v in await farm.core.server_admin.views(farm.admin)] == ["default", "b"]
    actions = [e.action for e in await farm.core.admin.recent_audit(farm.admin, limit=50)]
    assert actions.count("server_remove") == 2 and "server_add" in actions


async def _fifteen_for_ten(farm) -> None:
    users = [await farm.user(f"m{i}@example.com") for i in range(15)]
    results = await asyncio.gather(*(farm.core.sessions.create(u) for u in users), return_exceptions=True)
    refused = [r for r in results if isinstance(r, NoCapacity)]
    outcomes = [type(r).__name__ + (f": {r}" if isinstance(r, BaseException) else "") for r in results]
    assert len(refused) == 5 and len(results) - len(refused) == 10, outcomes
    assert await farm.placed() == {"default": 2, "b": 3, "c": 5}
    assert [farm.on_waha(n) for n in ("default", "b", "c")] == [2, 3, 5]


async def test_fifteen_at_once_for_ten_slots_never_overfill_sqlite(make_farm):
    await _fifteen_for_ten(await make_farm(CAPACITIES))


@pytest.mark.postgres
async def test_fifteen_at_once_for_ten_slots_never_overfill_postgres(make_farm, pg_url):
    await _fifteen_for_ten(await make_farm(CAPACITIES, database_url=pg_url))
