"""wahaweb: create click -> QR in the state (p50/p95 over ctx.runs).

TODO (hook ``measure_qr_state``): same setup as wahaweb_ack (in-process Core against
ctx.base_url), and the status engine running as in the app (its single watcher and/or the
webhook route: to receive WAHA's session.status webhooks in-process, serve
``wahaweb.api`` routes with benchmarks.webhooks-style uvicorn on a free port and set
``WAHAWEB_PUBLIC_URL``/``public_url`` to it). Per run: t0 at the click, then wait for the
moment the QR (base64/data URL) is in the session page's state, i.e. the value the Reflex
state would render in ``#session-qr``: subscribe to the engine's update for that session, or
drive the Reflex state class directly (``SessionPageState`` or whatever it is named) with a
test harness. Compare with physical_limit: the target is within 50 ms at p50 (for the
visible QR; this one shows how much of it is the backend).
"""

from __future__ import annotations

from benchmarks.context import BenchContext
from benchmarks.registry import NotMeasured, ScenarioResult, scenario
from benchmarks.scenarios._hooks import require_modules

NAME = "wahaweb_qr_state"


async def measure_qr_state(ctx: BenchContext) -> ScenarioResult:
    require_modules("wahaweb.core.container", "wahaweb.core.sessions", "wahaweb.state")
    raise NotImplementedError("TODO: hook not written (see benchmarks/scenarios/wahaweb_qr_state.py)")


@scenario(
    NAME,
    group="creation",
    title="wahaweb: click to QR in the state",
    description="create click until the QR is in the session's Reflex state",
    order=50,
)
async def measure(ctx: BenchContext) -> ScenarioResult:
    try:
        return await measure_qr_state(ctx)
    except NotImplementedError as exc:
        raise NotMeasured(str(exc)) from None
