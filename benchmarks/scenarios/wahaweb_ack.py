"""wahaweb: create click -> reservation acknowledged (p50/p95 over ctx.runs).

TODO (hook ``measure_ack``), in-process, no browser, against the benchmark's simulator:
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

from benchmarks.context import BenchContext
from benchmarks.registry import NotMeasured, ScenarioResult, scenario
from benchmarks.scenarios._hooks import require_modules

NAME = "wahaweb_ack"


async def measure_ack(ctx: BenchContext) -> ScenarioResult:
    require_modules("wahaweb.core.container", "wahaweb.core.sessions")
    raise NotImplementedError("TODO: hook not written (see benchmarks/scenarios/wahaweb_ack.py)")


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
