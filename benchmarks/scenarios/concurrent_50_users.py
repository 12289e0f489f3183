"""50 users creating at once: p95 to acknowledgement, errors, limit overshoot.

The plan ``measure_concurrent`` follows (two Cores sharing SQLite; one create per user, plus one user x50):
  * in-process Core against ctx.base_url (as wahaweb_ack), or the running app
    (benchmarks.app) with 50 HTTP/websocket clients if the create path is only reachable
    through Reflex events;
  * 50 users, each on a plan with a small limit L (e.g. Free: 1); every user fires
    ``L + k`` creates at the same instant (asyncio.gather; also from 2 "tabs" each, and
    ideally through 2 backend workers / 2 Core instances sharing the database, since the
    limit must hold across workers);
  * record per create: time to acknowledgement (reservation or refusal), and whether it
    errored (anything but success or a clean plan-limit/rate-limit refusal);
  * overshoot = sum over users of max(0, active sessions in the DB and in WAHA
    (``GET /api/sessions?all=true`` on the simulator) - L);
  * result: ``ScenarioResult.timed(NAME, ack_samples, data={"errors": n, "overshoot": n,
    "users": 50, ...})`` (analysis.py reads data["errors"] and data["overshoot"]).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from sqlmodel import select

from benchmarks.context import BenchContext
from benchmarks.registry import NotMeasured, ScenarioResult, scenario
from benchmarks.scenarios._hooks import require_modules
from benchmarks.stats import Stats

NAME = "concurrent_50_users"
USERS = 50


async def measure_concurrent(ctx: BenchContext, users: int = USERS, database: str = "sqlite",
                             name: str = NAME) -> ScenarioResult:
    if database == "postgresql":
        from benchmarks.scenarios._core import pg_schema

        async with pg_schema("wahaweb_bench") as url:
            return await _measure(ctx, users, url, name)
    return await _measure(ctx, users, None, name)


async def _measure(ctx: BenchContext, users: int, database_url: str | None, name: str) -> ScenarioResult:
    if ctx.smoke:
        raise NotMeasured("skipped in smoke mode (100 creates, two Cores)")
    require_modules("wahaweb.core.container", "wahaweb.core.sessions", "wahaweb.core.accounts")
    from benchmarks.scenarios._core import BenchCore
    from wahaweb.core.errors import PlanLimitReached, RateLimited
    from wahaweb.core.models import WaSession
    from wahaweb.core.status import ACTIVE_STATUSES

    async with ctx.waha_client() as client:
        before = {s.name for s in await client.list_sessions(all=True)}
    # Two Cores (= two backend workers) sharing one SQLite file; real rate limits, Free plan (limit 1).
    db_name = "PostgreSQL (local, one schema)" if database_url else "one SQLite file"
    async with BenchCore(ctx, signup_plan="Free", unlimited_rate=False, database_url=database_url) as worker_a:
        async with BenchCore(ctx, signup_plan="Free", unlimited_rate=False, db_dir=worker_a.db_dir,
                             database_url=database_url) as worker_b:
            workers = (worker_a, worker_b)
            # One event loop runs both Cores here (in production each worker is its own process with its
            # own loop): reservations-first is per loop, so the two share one turn-keeper.
            worker_b.core.sessions.turns = worker_a.core.sessions.turns
            crowd = [await workers[i % 2].user(f"u{i}-{ctx.run_id}@bench.example") for i in range(users)]
            greedy = await worker_a.user(f"greedy-{ctx.run_id}@bench.example")
            limit = 1

            async def create(worker, user) -> dict:
                t0 = time.perf_counter()
                try:
                    row = await worker.core.sessions.reserve(user)
                    return {"user": user.id, "ack": time.perf_counter() - t0, "outcome": "created",
                            "session": row.id}
                except (PlanLimitReached, RateLimited) as exc:
                    return {"user": user.id, "ack": time.perf_counter() - t0, "outcome": type(exc).__name__}
                except Exception as exc:  # noqa: BLE001 - counted as an error
                    return {"user": user.id, "ack": time.perf_counter() - t0, "outcome": "error",
                            "error": f"{type(exc).__name__}: {exc}"}

            cpu0 = time.process_time()
            crowd_results = await asyncio.gather(*(create(workers[i % 2], u) for i, u in enumerate(crowd)))
            crowd_cpu = time.process_time() - cpu0  # this process: both Cores, the WAHA creates begun meanwhile
            greedy_results = await asyncio.gather(*(create(workers[i % 2], greedy) for i in range(users)))
            await asyncio.gather(worker_a.core.sessions.aclose(), worker_b.core.sessions.aclose())  # WAHA creates finish
            async with worker_a.core.db.session() as s:
                rows = list(await s.exec(select(WaSession)))
            async with ctx.waha_client() as client:
                on_waha = [s for s in await client.list_sessions(all=True) if s.name not in before]
            all_ids = [u.id for u in crowd] + [greedy.id]
            db_active = Counter(r.user_id for r in rows if r.status in ACTIVE_STATUSES)
            waha_active = Counter()
            for info in on_waha:
                parts = info.name.split("_")
                if len(parts) > 2 and parts[1].isdigit() and info.status not in ("STOPPED", "FAILED"):
                    waha_active[int(parts[1])] += 1
            overshoot_db = sum(max(0, db_active[u] - limit) for u in all_ids)
            overshoot_waha = sum(max(0, waha_active[u] - limit) for u in all_ids)
            try:
                by_user = {u.id: u for u in crowd + [greedy]}
                await asyncio.gather(*(worker_a.delete_all(by_user[r.user_id], [r.id]) for r in rows
                                       if r.user_id in by_user))
            finally:
                async with ctx.waha_client() as client:
                    await ctx.delete_sessions(client, [s.name for s in on_waha])

    everything = list(crowd_results) + list(greedy_results)
    errors = [r for r in everything if r["outcome"] == "error"]
    outcomes = lambda rs: dict(Counter(r["outcome"] for r in rs))  # noqa: E731
    crowd_stats = Stats.of([r["ack"] for r in crowd_results])
    greedy_stats = Stats.of([r["ack"] for r in greedy_results])
    return ScenarioResult.timed(
        name, [r["ack"] for r in everything],
        notes=[f"{users} users (Free plan, limit 1) each fire one create at the same instant, then one more Free "
               f"user fires {users} creates at once; the creates alternate between two Cores (two backend "
               f"workers) sharing {db_name}, real rate limits (create 5/min per user, per worker).",
               "Time = reserve() call until it returns the row (reservation) or until the clean refusal "
               "(PlanLimitReached / RateLimited). Headline stats over all "
               f"{len(everything)} creates; {users} users: p50 {crowd_stats.p50 * 1000:.1f} ms, p95 "
               f"{crowd_stats.p95 * 1000:.1f} ms ({outcomes(crowd_results)}); one user x{users}: p50 "
               f"{greedy_stats.p50 * 1000:.1f} ms, p95 {greedy_stats.p95 * 1000:.1f} ms ({outcomes(greedy_results)}).",
               f"Errors (anything but success or a clean refusal): {len(errors)}. Overshoot (sum over users of "
               f"active sessions - limit): database {overshoot_db}, WAHA {overshoot_waha}; WAHA sessions created "
               f"{len(on_waha)} for {len(all_ids)} users.",
               f"CPU of this process (both Cores, one event loop) from the {users} creates' start to the last "
               f"acknowledgement: {crowd_cpu * 1000:.0f} ms, {crowd_cpu * 1000 / users:.1f} ms per create (the WAHA "
               "creates of the first ones, begun meanwhile, included): on one loop that is the floor of the last "
               "acknowledgement, whatever the locks."],
        table={"columns": ["who", "creates", "p50 ms", "p95 ms", "outcomes"],
               "rows": [[f"{users} users x 1", len(crowd_results), f"{crowd_stats.p50 * 1000:.1f}",
                         f"{crowd_stats.p95 * 1000:.1f}", str(outcomes(crowd_results))],
                        [f"1 user x {users}", len(greedy_results), f"{greedy_stats.p50 * 1000:.1f}",
                         f"{greedy_stats.p95 * 1000:.1f}", str(outcomes(greedy_results))]]},
        data={"errors": len(errors), "overshoot": overshoot_db + overshoot_waha, "overshoot_db": overshoot_db,
              "overshoot_waha": overshoot_waha, "users": users, "limit": limit,
              "waha_sessions_created": len(on_waha), "error_details": [r["error"] for r in errors][:10],
              "crowd": crowd_stats.to_dict(), "one_user": greedy_stats.to_dict(),
              "crowd_outcomes": outcomes(crowd_results), "one_user_outcomes": outcomes(greedy_results),
              "database": "postgresql" if database_url else "sqlite",
              "crowd_cpu_ms": crowd_cpu * 1000, "crowd_cpu_ms_per_create": crowd_cpu * 1000 / users},
    )


@scenario(
    NAME,
    group="concurrency",
    title="50 users creating at once",
    description="p95 to acknowledgement, errors, plan-limit overshoot",
    order=10,
)
async def measure(ctx: BenchContext) -> ScenarioResult:
    try:
        return await measure_concurrent(ctx)
    except NotImplementedError as exc:
        raise NotMeasured(str(exc)) from None


def _variant(users: int, database: str, order: int) -> None:
    name = f"concurrent_{users}_users_{'pg' if database == 'postgresql' else 'sqlite'}"

    async def run(ctx: BenchContext) -> ScenarioResult:
        return await measure_concurrent(ctx, users, database, name)

    scenario(name, group="concurrency", title=f"{users} users creating at once ({database})",
             description="p95 to acknowledgement, errors, plan-limit overshoot", order=order)(run)


_variant(50, "postgresql", 11)
_variant(200, "sqlite", 12)
_variant(200, "postgresql", 13)
