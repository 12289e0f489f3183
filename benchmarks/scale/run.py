"""`make bench-scale` (`python -m benchmarks.scale`): wahaweb's status loop, WAHA events and
concurrent creates at scale: one Core against simulated WAHA servers (one process each).

Measured (defaults: 10 servers x 200 sessions = 2,000, one in ten pairing, the rest connected):
1. The status loop, at 10 x 20 = 200 and at 10 x 200 = 2,000 sessions, on SQLite and on
   PostgreSQL: SQL queries per tick (SQLAlchemy event hook; SQLite's BEGIN is not counted),
   WAHA requests per tick per server (each simulator's request log), tick CPU (process time)
   and wall time, over `--ticks` steady ticks (rows already agree with WAHA).
2. The running loop for `--window` seconds at the full size: WAHA requests per second per
   server (its own pacing, events socket and all), while `--events` WAHA `session.status`
   events (a pairing session's phone scans: WORKING) are posted, signed, to wahaweb's webhook
   route one after the other: event -> row changed (the route answers after the commit) and
   event -> the change reaching a listener on the engine's notifier (what the page feed hears).
3. `--users` users creating 2 sessions each at once on PostgreSQL (Free plan: 1 each):
   time to acknowledgement (`reserve` returns the `creating` row), errors (anything but the
   plan's refusal), overshoot (active sessions beyond the plan), and DB == WAHA afterwards.
4. (`pages.py`, `--only pages` alone) a WAHA event to 100 open pages over real websockets and
   backend RSS per worker, with 3 workers over Redis and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from benchmarks.scale import farm as farms
from benchmarks.scale import pages
from benchmarks.scale.markers import put_section
from benchmarks.stats import Stats
from wahaweb.core import status as st
from wahaweb.core.errors import PlanLimitReached
from wahaweb.core.live import sign

REPO = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("WAHAWEB_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
ACTIVE = (st.CREATING, st.STARTING, st.PAIRING, st.CONNECTED)


@contextlib.asynccontextmanager
async def pg_schema() -> AsyncIterator[str | None]:
    """A fresh PostgreSQL schema (dropped afterwards), or None when PostgreSQL does not answer."""
    import asyncpg

    try:
        conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"), timeout=3)
    except Exception:  # noqa: BLE001
        yield None
        return
    schema = f"bench_scale_{uuid.uuid4().hex[:10]}"
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?search_path={schema}"
    finally:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()


def _queries(statements: list[str]) -> int:
    return sum(1 for q in statements if q.split()[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"))


async def steady_ticks(farm: farms.Farm, ticks: int) -> dict[str, Any]:
    engine = farm.core.live
    engine.servers_every = 3600.0  # the server list is re-read every 5 s, not per tick
    for _ in range(2):
        await engine.tick()
        await engine.drain()
    sql, waha, cpu, wall, changes = [], [], [], [], 0
    statements: list[str] = []

    def count(conn, cursor, stmt, *args):  # noqa: ANN001
        statements.append(stmt)

    sync_engine = farm.core.db.engine.sync_engine
    sa.event.listen(sync_engine, "before_cursor_execute", count)
    try:
        for _ in range(ticks):
            statements.clear()
            for sim in farm.sims.values():
                await sim.clear_requests()
            c0, w0 = time.process_time(), time.perf_counter()
            report = await engine.tick()
            await engine.drain()
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
            sql.append(_queries(statements))
            waha.append(sorted([await sim.request_count() for sim in farm.sims.values()]))
            changes += len(report.changes)
    finally:
        sa.event.remove(sync_engine, "before_cursor_execute", count)
    return {"sql_per_tick": sorted(set(sql)), "waha_per_server_per_tick": sorted({x for w in waha for x in w}),
            "tick_cpu": Stats.of(cpu).to_dict(), "tick_wall": Stats.of(wall).to_dict(), "changes": changes,
            "ticks": ticks}


async def running_window(farm: farms.Farm, pairing: list[str], window: float, events: int) -> dict[str, Any]:
    """The real loop for `window` s: WAHA req/s per server; events posted meanwhile, timed."""
    engine = farm.core.live
    pushed: dict[str, float] = {}

    async def listener(change) -> None:  # noqa: ANN001
        if change.kind == "status" and change.status == st.CONNECTED and change.session_id not in pushed:
            pushed[change.session_id] = time.perf_counter()

    engine.notifier.add(listener)
    for sim in farm.sims.values():
        await sim.clear_requests()
    started = time.perf_counter()
    engine.start()
    to_row, to_push, errors = [], [], 0
    targets = pairing[:events]
    gap = max(0.0, (window - 1.0) / max(1, len(targets)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=farm.api), base_url="http://wahaweb.test") as http:
        for sid in targets:
            body = farms_body(sid)
            t0 = time.perf_counter()
            answer = await http.post("/api/waha/webhook", content=body, headers={
                "Content-Type": "application/json", "X-Webhook-Hmac": sign(body, farms.HOOK_SECRET),
                "X-Webhook-Hmac-Algorithm": "sha512"})
            t_row = time.perf_counter()
            if answer.status_code != 200:
                errors += 1
                continue
            for _ in range(200):
                if sid in pushed:
                    break
                await asyncio.sleep(0.001)
            to_row.append(t_row - t0)
            if sid in pushed:
                to_push.append(pushed[sid] - t0)
            await (await farms.sim_of(farm, sid)).scan(sid)  # WAHA now agrees: the loop sees WORKING too
            await asyncio.sleep(gap)
    rest = window - (time.perf_counter() - started)
    if rest > 0:
        await asyncio.sleep(rest)
    elapsed = time.perf_counter() - started
    await engine.stop()
    per_server = {name: await sim.request_count() / elapsed for name, sim in farm.sims.items()}
    rows = {r.id: r.status for r in await farm.core.sessions.rows_in()}
    return {"seconds": elapsed, "waha_req_per_s_per_server": per_server,
            "events": len(targets), "event_errors": errors,
            "rows_connected_after": sum(1 for sid in targets if rows.get(sid) == st.CONNECTED),
            "event_to_row": Stats.of(to_row).to_dict() if to_row else None,
            "event_to_push": Stats.of(to_push).to_dict() if to_push else None}


def farms_body(session_id: str) -> bytes:
    ts_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    return json.dumps(farms.envelope(session_id, "WORKING", ts_ms), separators=(",", ":")).encode()


async def loop_costs(database_url: str, servers: int, sizes: tuple[int, ...], ticks: int, window: float,
                     events: int, processes: bool) -> dict[str, Any]:
    farm = await farms.build(servers, database_url, capacity=max(sizes) * 2, processes=processes)
    try:
        result: dict[str, Any] = {"steps": []}
        have, pairing = 0, []
        for per_server in sizes:
            pairing += await farms.add_sessions(farm, per_server - have)
            have = per_server
            step = await steady_ticks(farm, ticks)
            step["sessions"] = per_server * servers
            result["steps"].append(step)
        result["running"] = await running_window(farm, pairing, window, events)
        return result
    finally:
        await farm.aclose()


async def concurrent_creates(database_url: str, servers: int, users: int, capacity: int,
                             processes: bool) -> dict[str, Any]:
    farm = await farms.build(servers, database_url, capacity=capacity, time_scale=1.0, processes=processes)
    core = farm.core
    try:
        people = [await core.accounts.register(f"u{i}-{uuid.uuid4().hex[:4]}@example.com", farms.PASSWORD)
                  for i in range(users)]
        acks: list[float] = []
        outcomes = {"ok": 0, "plan_limit": 0, "error": 0}
        errors: list[str] = []

        async def one(user) -> None:  # noqa: ANN001
            t0 = time.perf_counter()
            try:
                await core.sessions.reserve(user)
            except PlanLimitReached:
                outcomes["plan_limit"] += 1
            except Exception as exc:  # noqa: BLE001 - counted and reported
                outcomes["error"] += 1
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
            else:
                outcomes["ok"] += 1
            acks.append(time.perf_counter() - t0)

        started = time.perf_counter()
        await asyncio.gather(*(one(u) for u in people for _ in range(2)))
        wall = time.perf_counter() - started
        await core.sessions.drain()
        rows = await core.sessions.rows_in()
        active: dict[int, int] = {}
        for row in rows:
            if row.status in ACTIVE:
                active[row.user_id] = active.get(row.user_id, 0) + 1
        limit = (await core.accounts.usage(people[0])).limit or 1
        overshoot = sum(max(0, n - limit) for n in active.values())
        on_waha = {sid for sim in farm.sims.values() for sid in await sim.names()}
        loads = await core.servers.loads()
        return {"users": users, "creates": 2 * users, "outcomes": outcomes, "errors_sample": errors[:5],
                "ack": Stats.of(acks).to_dict(), "wall_s": wall, "overshoot": overshoot, "plan_limit": limit,
                "failed_rows": sum(1 for r in rows if r.status == st.FAILED),
                "db_equals_waha": {r.id for r in rows if r.status != st.FAILED} == on_waha,
                "per_server": sorted(loads.get(i, (0, 0))[0] for i in farm.ids.values())}
    finally:
        await farm.aclose()


def _ms(stats: dict | None, key: str) -> str:
    return "-" if not stats else f"{stats[key] * 1000:.1f}"


def render(results: dict[str, Any], args: argparse.Namespace) -> str:
    out = ["## Scale (`make bench-scale`, issue 15)", ""]
    where = ("each its own `python -m wahaweb.simulator` process over HTTP" if args.processes
             else "in the benchmark's process (httpx ASGITransport), sharing its event loop")
    out.append(f"Run {results['when']} on {results['machine']}; {args.servers} simulated WAHA servers, {where}; "
               f"one Core (one backend worker's engine); sessions one in ten pairing, the rest connected. "
               f"Load average (1 min) {results['load_before']:.1f} before, {results['load_after']:.1f} after "
               f"(2 cores shared with the simulators and whatever else runs)."
               + (" **Smoke run (tiny counts): not the real figures.**" if args.smoke else ""))
    out.append("")
    out.append("### Status loop per tick (steady: rows agree with WAHA)")
    out.append("")
    out.append("| database | sessions | SQL queries / tick | WAHA requests / server / tick | tick CPU p50 ms | "
               "tick CPU p95 ms | tick wall p50 ms |")
    out.append("|---|---|---|---|---|---|---|")
    for db, res in results["loop"].items():
        if res is None:
            out.append(f"| {db} | - | not measured: database unreachable | | | | |")
            continue
        for step in res["steps"]:
            out.append(f"| {db} | {step['sessions']:,} | {', '.join(map(str, step['sql_per_tick']))} | "
                       f"{', '.join(map(str, step['waha_per_server_per_tick']))} | {_ms(step['tick_cpu'], 'p50')} | "
                       f"{_ms(step['tick_cpu'], 'p95')} | {_ms(step['tick_wall'], 'p50')} |")
    out.append("")
    out.append("### The running loop, and WAHA events during it")
    out.append("")
    out.append("| database | window s | WAHA req/s per server (min-max) | events | event -> row p50 / p95 ms | "
               "event -> notifier p50 / p95 ms | rows applied |")
    out.append("|---|---|---|---|---|---|---|")
    for db, res in results["loop"].items():
        if res is None:
            continue
        run = res["running"]
        rates = run["waha_req_per_s_per_server"].values()
        out.append(f"| {db} | {run['seconds']:.1f} | {min(rates):.2f}-{max(rates):.2f} | {run['events']} "
                   f"({run['event_errors']} errors) | {_ms(run['event_to_row'], 'p50')} / {_ms(run['event_to_row'], 'p95')} | "
                   f"{_ms(run['event_to_push'], 'p50')} / {_ms(run['event_to_push'], 'p95')} | "
                   f"{run['rows_connected_after']} / {run['events']} |")
    out.append("")
    out.append("### Users creating at once (PostgreSQL)")
    out.append("")
    c = results.get("creates")
    if c is None:
        out.append("Not measured: PostgreSQL unreachable.")
    else:
        out.append("| users | creates | ok | plan refusals | errors | overshoot | ack p50 ms | ack p95 ms | ack max ms | "
                   "sessions per server | DB == WAHA |")
        out.append("|---|---|---|---|---|---|---|---|---|---|---|")
        o = c["outcomes"]
        out.append(f"| {c['users']} | {c['creates']} | {o['ok']} | {o['plan_limit']} | {o['error']} | {c['overshoot']} | "
                   f"{_ms(c['ack'], 'p50')} | {_ms(c['ack'], 'p95')} | {_ms(c['ack'], 'max')} | "
                   f"{min(c['per_server'])}-{max(c['per_server'])} | {'yes' if c['db_equals_waha'] else 'NO'} |")
        if c["errors_sample"]:
            out.append("")
            out.append("Errors (first 5): " + "; ".join(c["errors_sample"]))
    out.append("")
    out.append("### Memory per 1,000 idle pages (stated, not measured at 1,000)")
    out.append("")
    out.append(memory_statement())
    out.append("")
    out.append("Method: `benchmarks/scale/run.py` (its docstring says exactly what is timed).")
    out.append("")
    if results.get("pages"):
        out += pages.render(results["pages"])
    else:
        out.append("Not measured in this run: a WAHA event to pages over real websockets and backend RSS per "
                   "worker (`--only pages`).")
    return "\n".join(out)


def memory_statement(path: Path = REPO / "docs" / "benchmarks.json") -> str:
    """Per-page memory from `make bench`'s backend_memory (one worker, 100 pages), scaled to 1,000."""
    try:
        data = json.loads(path.read_text())["scenarios"]["backend_memory"]["data"]
        idle, loaded = data["idle_mib"]["p50"], data["loaded_mib"]["p50"]
    except (OSError, KeyError, TypeError, ValueError):
        return "Not stated: `make bench` has not measured `backend_memory` (docs/benchmarks.json)."
    per_page_kib = (loaded - idle) * 1024 / 100
    return (f"`make bench`'s `backend_memory` (one backend worker, 100 signed-in Playwright pages on the dashboard): "
            f"{idle:.1f} MiB idle, {loaded:.1f} MiB with the pages, so {per_page_kib:.0f} KiB per page; scaled "
            f"linearly, about {per_page_kib * 1000 / 1024:.0f} MiB per 1,000 idle connected pages, spread over the "
            f"workers that hold their websockets (an extrapolation: 1,000 pages were not opened).")


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    sizes = (args.small, args.per_server)
    results: dict[str, Any] = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                               "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
                               "load_before": os.getloadavg()[0], "loop": {}}
    if "sqlite" in args.db:
        path = Path(args.workdir) / f"scale-{uuid.uuid4().hex[:6]}.db"
        try:
            results["loop"]["sqlite"] = await loop_costs(f"sqlite+aiosqlite:///{path}", args.servers, sizes,
                                                         args.ticks, args.window, args.events, args.processes)
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    if "postgres" in args.db:
        async with pg_schema() as url:
            results["loop"]["postgres"] = None if url is None else await loop_costs(
                url, args.servers, sizes, args.ticks, args.window, args.events, args.processes)
    if args.users:
        async with pg_schema() as url:
            results["creates"] = None if url is None else await concurrent_creates(
                url, args.servers, args.users, capacity=args.per_server, processes=args.processes)
    results["load_after"] = os.getloadavg()[0]
    return results


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.split("\n\n")[0])
    p.add_argument("--servers", type=int, default=10)
    p.add_argument("--per-server", type=int, default=200, help="sessions per server at the full size")
    p.add_argument("--small", type=int, default=20, help="sessions per server at the small size")
    p.add_argument("--ticks", type=int, default=5)
    p.add_argument("--window", type=float, default=20.0, help="seconds of the running loop")
    p.add_argument("--events", type=int, default=200)
    p.add_argument("--users", type=int, default=200)
    p.add_argument("--db", default="sqlite,postgres")
    p.add_argument("--out", default=str(REPO / "docs" / "benchmarks.md"))
    p.add_argument("--workdir", default="/tmp")
    p.add_argument("--from-json", help="render the section from a saved docs/benchmarks.scale.json, run nothing")
    p.add_argument("--in-process", dest="processes", action="store_false",
                   help="simulators in the benchmark's own process (ASGI transport) instead of one process each")
    p.add_argument("--only", choices=["pages"], help="run only this part (pages: 3 workers, 100 open pages)")
    p.add_argument("--workers", type=int, default=3, help="backend workers for the pages part")
    p.add_argument("--page-users", type=int, default=50, help="customers with open pages")
    p.add_argument("--pages-per-user", type=int, default=2)
    p.add_argument("--sessions-per-user", type=int, default=2, help="pairing sessions per customer (the events)")
    p.add_argument("--smoke", action="store_true", help="2 servers x 5 sessions, 3 ticks, 2 s, 4 events, 6 users")
    args = p.parse_args(argv)
    if args.smoke:
        args.servers, args.per_server, args.small, args.ticks = 2, 5, 2, 3
        args.window, args.events, args.users = 2.0, 4, 6
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    saved = Path(args.out).with_suffix(".scale.json")
    if args.from_json:  # re-render a run's figures (e.g. after changing the report's wording)
        results = json.loads(Path(args.from_json).read_text())
    elif args.only == "pages":  # the rest of the figures stay those of the last full run
        results = json.loads(saved.read_text()) if saved.exists() else None
        if results is None:
            raise SystemExit(f"--only pages adds to a full run's figures: {saved} is missing (run it whole first)")
        results["pages"] = pages.run(args, Path(args.workdir), PG_URL)
    else:
        results = asyncio.run(amain(args))
        if not args.smoke:  # the multi-worker app: its smoke is tests/browser/test_workers.py
            results["pages"] = pages.run(args, Path(args.workdir), PG_URL)
    text = render(results, args)
    put_section(Path(args.out), text)
    saved.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(text)
    return 0
