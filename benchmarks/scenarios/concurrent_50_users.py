"""50 users creating at once: p95 to acknowledgement, errors, limit overshoot.

TODO (hook ``measure_concurrent``):
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

from benchmarks.context import BenchContext
from benchmarks.registry import NotMeasured, ScenarioResult, scenario
from benchmarks.scenarios._hooks import require_modules

NAME = "concurrent_50_users"
USERS = 50


async def measure_concurrent(ctx: BenchContext, users: int = USERS) -> ScenarioResult:
    require_modules("wahaweb.core.container", "wahaweb.core.sessions", "wahaweb.core.accounts")
    raise NotImplementedError("TODO: hook not written (see benchmarks/scenarios/concurrent_50_users.py)")


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
