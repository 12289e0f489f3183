"""wahaweb: create click -> QR in the state (p50/p95 over ctx.runs).

The plan ``measure_qr_state`` follows (webhooks into wahaweb.api.webhook served by uvicorn): same setup as wahaweb_ack (in-process Core against
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

import asyncio
import time

from benchmarks.context import BenchContext
from benchmarks.registry import NotMeasured, ScenarioResult, scenario
from benchmarks.scenarios._hooks import require_modules

NAME = "wahaweb_qr_state"


async def measure_qr_state(ctx: BenchContext) -> ScenarioResult:
    if ctx.smoke:
        raise NotMeasured("skipped in smoke mode (wahaweb_ack covers the Core wiring)")
    require_modules("wahaweb.core.container", "wahaweb.core.sessions", "wahaweb.core.live")
    from benchmarks.scenarios._core import BenchCore

    samples: list[float] = []
    sources: list[str] = []
    created: list[str] = []
    loop = asyncio.get_running_loop()
    async with BenchCore(ctx, webhooks=True, start_engine=True) as bench:
        waiting: dict[str, asyncio.Future] = {}
        early: dict[str, tuple[float, str]] = {}

        pairing_source: dict[str, str] = {}

        async def tab(change) -> None:  # one open tab of the session page
            if change.kind == "status" and change.status == "pairing":
                pairing_source.setdefault(change.session_id, change.source)
            if change.kind != "qr" or change.qr is None or not change.qr.data_url:
                return
            now = time.perf_counter()
            future = waiting.get(change.session_id)
            if future is None:
                early.setdefault(change.session_id, (now, change.source))
            elif not future.done():
                future.set_result((now, change.source))

        remove = bench.engine.notifier.add(tab)
        user = await bench.user(f"qr-{ctx.run_id}@bench.example")
        try:
            for _ in range(ctx.runs):
                t0 = time.perf_counter()
                row = await bench.core.sessions.reserve(user)
                waiting[row.id] = loop.create_future()
                if row.id in early:
                    waiting[row.id].set_result(early.pop(row.id))
                created.append(row.id)
                t_qr, source = await asyncio.wait_for(waiting[row.id], 15 + 2 * ctx.qr_delay)
                samples.append(t_qr - t0)
                sources.append(pairing_source.get(row.id, "none"))
                await asyncio.sleep(0.05)
        finally:
            remove()
            await bench.delete_all(user, created)
        public_url = bench.core.settings.public_url
    by_source = {s: sources.count(s) for s in sorted(set(sources))}
    return ScenarioResult.timed(
        NAME, samples,
        notes=["In-process Core against the benchmark's simulator, the status engine running, and "
               f"wahaweb's own webhook route (wahaweb.api.webhook) served by uvicorn at {public_url} "
               "(public_url), so WAHA's session.status webhooks arrive over HTTP as in production.",
               "Clock from sessions.create() until a listener on the engine's notifier (what the session "
               "page's state subscribes through) receives LiveChange kind=qr with the data URL for that "
               f"session. The pairing status that triggered the QR fetch came from: {by_source} (runs)."],
        data={"sources": sources, "by_source": by_source},
    )


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
