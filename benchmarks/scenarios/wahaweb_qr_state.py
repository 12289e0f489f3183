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
from benchmarks.stats import Stats

NAME = "wahaweb_qr_state"


class HopClock:
    """perf_counter stamps of each hop of the SCAN_QR_CODE -> QR-in-state path, by session id."""

    def __init__(self, bench) -> None:
        self.stamps: dict[str, dict[str, float]] = {}
        self.rows: list[dict[str, float]] = []
        self._runs: list[tuple[str, float, float]] = []
        engine, sessions, waha = bench.engine, bench.core.sessions, bench.core.waha
        stamp = self._stamp
        apply_event, apply_status, get_raw, store = (engine.apply_event, sessions.apply_waha_status,
                                                      waha.get_qr_raw, engine.qr.store)

        async def timed_event(event, *args, **kwargs):
            if event.status == "SCAN_QR_CODE":
                stamp(event.session, "webhook")
            return await apply_event(event, *args, **kwargs)

        async def timed_status(session_id, waha_status, **kwargs):
            result = await apply_status(session_id, waha_status, **kwargs)
            if waha_status == "SCAN_QR_CODE":
                stamp(session_id, "db_written")
            return result

        async def timed_raw(name):
            stamp(name, "fetch_start")
            value = await get_raw(name)
            stamp(name, "fetched")
            return value

        async def timed_store(session_id, *args, **kwargs):
            stamp(session_id, "drawn")
            return await store(session_id, *args, **kwargs)

        engine.apply_event, sessions.apply_waha_status = timed_event, timed_status
        waha.get_qr_raw, engine.qr.store = timed_raw, timed_store

    def _stamp(self, session_id: str, hop: str) -> None:
        self.stamps.setdefault(session_id, {}).setdefault(hop, time.perf_counter())

    def finish(self, session_id: str, t0: float, t_state: float) -> None:
        """Kept until `report`: the QR may reach the state before its status write commits (the
        fetch overlaps it), so that stamp can come after this run's clock stopped."""
        self._runs.append((session_id, t0, t_state))

    def _rows(self) -> list[dict[str, float]]:
        rows = []
        for session_id, t0, t_state in self._runs:
            got = self.stamps.get(session_id, {})
            if not all(k in got for k in ("webhook", "fetch_start", "fetched", "drawn")):
                continue
            row = {"create_to_webhook": got["webhook"] - t0,
                   "webhook_to_fetch_start": got["fetch_start"] - got["webhook"],
                   "qr_fetch_raw": got["fetched"] - got["fetch_start"],
                   "draw_svg": got["drawn"] - got["fetched"],
                   "store_to_state": t_state - got["drawn"],
                   "webhook_to_state": t_state - got["webhook"]}
            if "db_written" in got:
                row["webhook_to_db_written"] = got["db_written"] - got["webhook"]
            rows.append(row)
        return rows

    def report(self) -> tuple[dict, dict]:
        self.rows = self._rows()
        hops = ["create_to_webhook", "webhook_to_fetch_start", "webhook_to_db_written", "qr_fetch_raw", "draw_svg",
                "store_to_state", "webhook_to_state"]
        data, rows = {}, []
        for hop in hops:
            values = [r[hop] for r in self.rows if hop in r]
            if values:
                stats = Stats.of(values)
                data[hop] = stats.to_dict()
                rows.append([hop, len(values), f"{stats.p50 * 1000:.1f}", f"{stats.p95 * 1000:.1f}"])
        return {"columns": ["hop", "n", "p50 ms", "p95 ms"], "rows": rows}, data


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
        hops = HopClock(bench)
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
                hops.finish(row.id, t0, t_qr)
                sources.append(pairing_source.get(row.id, "none"))
                await asyncio.sleep(0.05)
        finally:
            remove()
            await bench.delete_all(user, created)
        public_url = bench.core.settings.public_url
    by_source = {s: sources.count(s) for s in sorted(set(sources))}
    table, hop_data = hops.report()
    return ScenarioResult.timed(
        NAME, samples, table=table,
        notes=["In-process Core against the benchmark's simulator, the status engine running, and "
               f"wahaweb's own webhook route (wahaweb.api.webhook) served by uvicorn at {public_url} "
               "(public_url), so WAHA's session.status webhooks arrive over HTTP as in production.",
               "Clock from sessions.create() until a listener on the engine's notifier (what the session "
               "page's state subscribes through) receives PageUpdate kind=qr with the data URL for that "
               f"session. The pairing status that triggered the QR fetch came from: {by_source} (runs).",
               "Hops (table): per run, times stamped in this process by wrapping the engine's apply_event (webhook "
               "receipt), SessionService.apply_waha_status (the DB write), the WAHA client's get_qr_raw (the "
               "fetch), QrCache.store (drawn: store receives the SVG) and the listener (QR in state); p50 over runs. "
               "The QR fetch starts before the status write (issue 16), so fetch and DB write overlap.",
        ],
        data={"sources": sources, "by_source": by_source, "hops": hop_data},
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
