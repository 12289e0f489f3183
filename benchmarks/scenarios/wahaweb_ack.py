"""wahaweb: create click -> reservation acknowledged (p50/p95 over ctx.runs).

The plan ``measure_ack`` follows (one user with no plan, limit 1000, rate limits off), in-process, no browser, against the benchmark's simulator:
  * build the Core as the backend does: ``Core.create(Settings(waha_url=ctx.base_url,
    waha_api_key=ctx.api_key, database_url=<tmp sqlite>))`` from ``wahaweb.core.container``;
  * create a user (accounts) with a plan allowing ``ctx.runs`` sessions (or one user per run);
  * per run: ``t0 = perf_counter()``; call the session service's create exactly as the
    dashboard's create event handler does; stop the clock when the reservation is
    acknowledged (the service returns the reserved row, status ``creating``, before WAHA has
    answered; if the service only returns after WAHA, time the first yield/state delta of the
    Reflex handler instead);
  * ``ScenarioResult.timed(NAME, samples)``; delete the sessions; close the Core.
  A browser variant (click ``#create-session`` until ``[data-status=creating]`` appears in
  ``#session-list``) belongs to wahaweb_qr_visible's run and can report this too.
"""

from __future__ import annotations

import asyncio
import time

from benchmarks.context import BenchContext
from benchmarks.registry import NotMeasured, ScenarioResult, scenario
from benchmarks.scenarios._hooks import require_modules

NAME = "wahaweb_ack"


async def measure_ack(ctx: BenchContext) -> ScenarioResult:
    require_modules("wahaweb.core.container", "wahaweb.core.sessions")
    from benchmarks.scenarios._core import BenchCore

    acks: list[float] = []
    accepted: list[float] = []
    created: list[str] = []
    async with BenchCore(ctx, start_engine=True) as bench:
        user = await bench.user(f"ack-{ctx.run_id}@bench.example")
        try:
            for _ in range(ctx.runs):
                t0 = time.perf_counter()
                row = await bench.core.sessions.reserve(user)
                t_ack = time.perf_counter()
                if row.status != "creating":
                    raise RuntimeError(f"reserve returned {row.status!r}, not creating")
                await bench.core.sessions.aclose()  # the provisioning task: until WAHA accepted
                t_done = time.perf_counter()
                created.append(row.id)
                acks.append(t_ack - t0)
                accepted.append(t_done - t0)
                await asyncio.sleep(0.05)
        finally:
            await bench.delete_all(user, created)
    from benchmarks.stats import Stats

    accepted_stats = Stats.of(accepted)
    return ScenarioResult.timed(
        NAME, acks,
        notes=["In-process Core (Core.create, throw-away SQLite, WAHA_URL = the benchmark's simulator, "
               "status engine running); clock from sessions.reserve() until it returns the row "
               "receives the reserved row (status creating), i.e. what the dashboard's create handler "
               "waits for before navigating.",
               f"Same calls until create() returned (WAHA accepted, row starting): p50 "
               f"{accepted_stats.p50 * 1000:.1f} ms, p95 {accepted_stats.p95 * 1000:.1f} ms."],
        data={"until_waha_accepted": accepted_stats.to_dict(), "until_waha_accepted_samples": accepted},
    )


@scenario(
    NAME,
    group="creation",
    title="wahaweb: click to reservation acknowledged",
    description="create click until the reserved session (status creating) is acknowledged",
    order=40,
)
async def measure(ctx: BenchContext) -> ScenarioResult:
    try:
        return await measure_ack(ctx)
    except NotImplementedError as exc:
        raise NotMeasured(str(exc)) from None
