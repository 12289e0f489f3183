"""WAHA requests per second as open tabs and pairing sessions grow (from the simulator's log).

Pluggable observers model who asks WAHA for statuses:

* ``PerTabPoller(tabs, sessions)``: the peers' model. Every open tab polls
  ``GET /api/sessions/{name}`` every 2 s for each of its sessions (tabs x sessions / 2 req/s).
* ``SingleWatcher()``: one ``GET /api/sessions?all=true`` every 300 ms for the whole server,
  whatever the number of tabs (~3.3 req/s).
* wahaweb's real status engine, through ``measure_wahaweb_watcher`` (a hook; see below).

For each sessions level S, S sessions are created and left pairing (SCAN_QR_CODE); for each
tabs level T every observer runs, is given one interval to settle, and the simulator's request
log is counted over a fixed window.
"""

from __future__ import annotations

import asyncio
import importlib
import statistics
import time
from typing import Any, Protocol

from benchmarks.context import BenchContext
from benchmarks.rawhttp import RawHttpConnection
from benchmarks.registry import ScenarioResult, scenario
from wahaweb.waha import WahaClient, WahaError
from wahaweb.waha.client import session_path

NAME = "waha_requests_vs_sessions"
PER_TAB_INTERVAL = 2.0
WATCHER_INTERVAL = 0.3

#: Where wahaweb's single watcher per WAHA server is expected to live (first importable wins).
WAHAWEB_WATCHER_MODULES = ("wahaweb.core.live", "wahaweb.core.watcher", "wahaweb.core.status_engine")


class Observer(Protocol):
    label: str
    interval: float
    errors: int

    @property
    def phase_step(self) -> float:
        """Time between two consecutive ticks of the whole observer (all tabs together)."""
        ...

    def expected_rps(self) -> float: ...

    async def start(self, client: WahaClient) -> None: ...

    async def stop(self) -> None: ...


async def _every(interval: float, offset: float, tick) -> None:
    """Call ``tick()`` at offset, offset + interval, ... (fixed rate; a late tick is not made up)."""
    loop = asyncio.get_running_loop()
    next_at = loop.time() + offset
    while True:
        delay = next_at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await tick()
        next_at += interval
        now = loop.time()
        if next_at < now:  # fell behind: skip the missed ticks, as setInterval would
            next_at = now


class _TaskObserver:
    label = "observer"
    interval = 1.0

    def __init__(self) -> None:
        self.errors = 0
        self._tasks: list[asyncio.Task] = []

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()


class PerTabPoller(_TaskObserver):
    """Each of ``tabs`` tabs polls GET /api/sessions/{name} every 2 s for each of its sessions.

    Every tab shows the same ``sessions`` (one user's dashboard open in several tabs, or an
    admin view); tabs are opened at staggered times across one interval.
    """

    label = "per-tab poller (peers: GET each session every 2 s, per tab)"

    def __init__(self, tabs: int, sessions: list[str], interval: float = PER_TAB_INTERVAL,
                 raw_base_url: str | None = None, api_key: str | None = None):
        """With ``raw_base_url`` each tab polls over its own lean keep-alive connection
        (benchmarks.rawhttp) instead of the shared WahaClient, so that a thousand polling
        streams measure WAHA's load, not this process's httpx overhead."""
        super().__init__()
        self.tabs = tabs
        self.sessions = list(sessions)
        self.interval = interval
        self.raw_base_url = raw_base_url
        self.api_key = api_key
        self._connections: list[RawHttpConnection] = []

    def expected_rps(self) -> float:
        return self.tabs * len(self.sessions) / self.interval

    @property
    def phase_step(self) -> float:
        return self.interval / self.tabs

    async def start(self, client: WahaClient) -> None:
        async def poll_one(name: str) -> None:
            try:
                await client.get_session(name)
            except WahaError:
                self.errors += 1

        async def tick() -> None:
            await asyncio.gather(*(poll_one(name) for name in self.sessions))

        def raw_tick(connection: RawHttpConnection):
            paths = [session_path(name) for name in self.sessions]

            async def tick() -> None:
                for path in paths:
                    try:
                        if not 200 <= await connection.get(path) < 300:
                            self.errors += 1
                    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, RuntimeError):
                        self.errors += 1

            return tick

        for tab in range(self.tabs):
            offset = self.interval * tab / self.tabs
            if self.raw_base_url:
                connection = RawHttpConnection(self.raw_base_url, {"X-Api-Key": self.api_key or ""})
                self._connections.append(connection)
                self._tasks.append(asyncio.create_task(_every(self.interval, offset, raw_tick(connection))))
            else:
                self._tasks.append(asyncio.create_task(_every(self.interval, offset, tick)))

    async def stop(self) -> None:
        await super().stop()
        await asyncio.gather(*(c.close() for c in self._connections))
        self._connections.clear()


class SingleWatcher(_TaskObserver):
    """One GET /api/sessions?all=true every 300 ms for the whole server, however many tabs."""

    label = "single watcher (one list every 300 ms per WAHA server)"

    def __init__(self, tabs: int = 1, interval: float = WATCHER_INTERVAL):
        super().__init__()
        self.tabs = tabs  # deliberately unused: the point of the model
        self.interval = interval

    def expected_rps(self) -> float:
        return 1 / self.interval

    @property
    def phase_step(self) -> float:
        return self.interval

    async def start(self, client: WahaClient) -> None:
        async def tick() -> None:
            try:
                await client.list_sessions(all=True)
            except WahaError:
                self.errors += 1

        self._tasks.append(asyncio.create_task(_every(self.interval, 0.0, tick)))


async def count_requests(ctx: BenchContext, client: WahaClient, observer: Observer,
                         window: float, settle: float) -> dict[str, Any]:
    """Run ``observer``, let it settle, then count WAHA requests in the log over ``window`` s."""
    await ctx.clear_requests()
    t0 = time.time()  # with settle 0 the window opens before the first tick
    await observer.start(client)
    try:
        if settle > 0:
            await asyncio.sleep(settle)
            t0 = time.time()
        await asyncio.sleep(window)
        t1 = time.time()
    finally:
        await observer.stop()
    log = [e for e in await ctx.requests() if t0 <= e["time"] < t1 and e["path"] != "/ping"]
    durations = [e["duration_ms"] for e in log]
    failed = sum(1 for e in log if not 200 <= e["status"] < 300)
    return {
        "requests": len(log),
        "window_s": round(t1 - t0, 3),
        "rps": len(log) / (t1 - t0),
        "expected_rps": observer.expected_rps(),
        "waha_errors": failed,
        "client_errors": observer.errors,
        "waha_p50_ms": statistics.median(durations) if durations else None,
        "waha_max_ms": max(durations) if durations else None,
    }


def settle_time(observer: Observer) -> float:
    """One interval, so every staggered tab is running, plus half a phase step, so the window's
    edges fall between ticks; with a window that is a multiple of every interval (6 s: 2 s and
    300 ms) each stream then contributes exactly window / interval requests.
    A smoke run uses 0 (counting from the first tick: coarse numbers, it only checks the plumbing).
    """
    return observer.interval + observer.phase_step / 2


def _importable_watcher() -> tuple[str | None, str]:
    problems = []
    for module in WAHAWEB_WATCHER_MODULES:
        try:
            importlib.import_module(module)
            return module, ""
        except ImportError as exc:
            problems.append(f"{module}: {exc}")
    return None, "; ".join(problems)


class WahawebEngineObserver:
    """wahaweb's real StatusEngine (one watcher per WAHA server) with ``tabs`` listeners on its notifier."""

    label = "wahaweb's status engine (wahaweb.core.live)"

    def __init__(self, bench: Any, tabs: int):
        self.bench = bench
        self.tabs = tabs
        self.engine = bench.engine
        self.interval = self.engine.fast_interval
        self.errors = 0
        self.heard = 0
        self._removers: list[Any] = []

    @property
    def phase_step(self) -> float:
        return self.interval

    def expected_rps(self) -> float:
        return 1 / self.interval

    async def start(self, client: WahaClient) -> None:  # the engine uses the Core's own WahaClient
        async def listener(change: Any) -> None:
            self.heard += 1

        for _ in range(self.tabs):
            self._removers.append(self.engine.notifier.add(listener))
        self.engine.start()

    async def stop(self) -> None:
        await self.engine.stop()
        for remove in self._removers:
            remove()
        self._removers.clear()
        self.errors += sum(1 for s in self.engine.servers if s.down)


async def measure_wahaweb_watcher(ctx: BenchContext, tabs: int, sessions: list[str],
                                  window: float) -> dict[str, Any]:
    """WAHA req/s with wahaweb's own status engine watching ``sessions`` for ``tabs`` open tabs.

    The engine is built exactly as the app does (``core.live`` on a Core with
    ``waha_url = ctx.base_url``, ``status_fast_interval`` from Settings, throw-away SQLite);
    ``sessions`` (already pairing on the simulator) are registered as rows in ``pairing``, as
    the session service leaves them after create; ``tabs`` listeners are added to the engine's
    notifier (what each open Reflex tab amounts to); then the simulator's log is counted.
    Everything the engine sends counts (list calls, and any QR fetch it decides to make).
    """
    module, problem = _importable_watcher()
    if module is None:
        raise NotImplementedError(f"wahaweb's status engine is not importable yet ({problem})")
    from benchmarks.scenarios._core import BenchCore
    from wahaweb.core import status as st
    from wahaweb.core.models import WaSession

    async with BenchCore(ctx) as bench:
        user = await bench.user(f"watch-{ctx.session_name('w')}@bench.example")
        now = bench.core.clock()
        async with bench.core.db.locked_write() as s:
            for name in sessions:
                s.add(WaSession(id=name, user_id=user.id, status=st.PAIRING, waha_status="SCAN_QR_CODE",
                                created_at=now, updated_at=now, status_changed_at=now, status_seen_at=now))
        observer = WahawebEngineObserver(bench, tabs)
        async with ctx.waha_client() as client:
            settle = 0.0 if ctx.smoke else settle_time(observer)
            row = await count_requests(ctx, client, observer, window, settle=settle)
        row["listener_calls"] = observer.heard
        row["engine_polls"] = sum(s.polls for s in bench.engine.servers)
        return row


async def _wait_pairing(client: WahaClient, names: list[str], timeout: float = 15.0) -> None:
    wanted = set(names)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pairing = {s.name for s in await client.list_sessions(all=True) if s.status == "SCAN_QR_CODE"}
        if wanted <= pairing:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"sessions not all in SCAN_QR_CODE after {timeout:.0f} s")


@scenario(
    NAME,
    group="waha_cost",
    title="WAHA requests/s vs open tabs x pairing sessions",
    description="requests/s in the simulator's log over a fixed window, per observer model",
    order=10,
)
async def measure(ctx: BenchContext) -> ScenarioResult:
    rows: list[dict[str, Any]] = []
    wahaweb_reason: str | None = None
    window = ctx.requests_window
    async with ctx.waha_client(max_connections=500) as client:
        for n_sessions in ctx.sessions_levels:
            names = [ctx.session_name("rq") for _ in range(n_sessions)]
            try:
                await asyncio.gather(*(client.create_session(n) for n in names))
                await _wait_pairing(client, names)
                for tabs in ctx.tabs_levels:
                    cells: list[tuple[str, Any]] = []
                    if tabs * n_sessions <= ctx.max_streams:
                        cells.append(("per_tab_poller", PerTabPoller(tabs, names, raw_base_url=ctx.base_url,
                                                                     api_key=ctx.api_key)))
                    else:
                        rows.append({"observer": "per_tab_poller", "tabs": tabs, "sessions": n_sessions,
                                     "skipped": f"tabs x sessions = {tabs * n_sessions} > {ctx.max_streams}",
                                     "expected_rps": tabs * n_sessions / PER_TAB_INTERVAL})
                    cells.append(("single_watcher", SingleWatcher(tabs)))
                    for key, observer in cells:
                        settle = 0.0 if ctx.smoke else settle_time(observer)
                        row = await count_requests(ctx, client, observer, window, settle=settle)
                        rows.append({"observer": key, "tabs": tabs, "sessions": n_sessions, **row})
                    if wahaweb_reason is None:
                        try:
                            row = await measure_wahaweb_watcher(ctx, tabs, names, window)
                            rows.append({"observer": "wahaweb_watcher", "tabs": tabs, "sessions": n_sessions, **row})
                        except NotImplementedError as exc:
                            wahaweb_reason = str(exc)
            finally:
                await ctx.delete_sessions(client, names)

    table_rows = []
    for r in rows:
        if "skipped" in r:
            table_rows.append([r["observer"], r["tabs"], r["sessions"], f"{r['expected_rps']:.1f}",
                               "not run: " + r["skipped"], "", ""])
        else:
            table_rows.append([r["observer"], r["tabs"], r["sessions"], f"{r['expected_rps']:.1f}",
                               f"{r['rps']:.1f}", str(r["waha_errors"] + r["client_errors"]),
                               f"{r['waha_p50_ms']:.1f}" if r["waha_p50_ms"] is not None else "–"])
    flatness = tabs_growth(rows)
    short = [r for r in rows if "rps" in r and r["rps"] < 0.95 * r["expected_rps"]]
    if short and not ctx.smoke:
        cells = ", ".join(f"{r['observer']} {r['tabs']}x{r['sessions']}: {r['rps']:.0f}/{r['expected_rps']:.0f}"
                          for r in short)
        saturation = (f"Below the expected rate ({cells} req/s): this machine (the benchmark's one Python "
                      "loop playing all the tabs, and the simulator, on the same cores) could not keep up; "
                      "real tabs would load WAHA at least at the expected rate.")
    else:
        saturation = None
    notes = [
        f"Window {window:g} s per cell " + ("from the first tick (smoke: coarse)" if ctx.smoke else
        "after one polling interval (+ half a phase step) of settling") + "; counted from the "
        "simulator's request log (/ping excluded). Sessions are pairing (SCAN_QR_CODE) throughout.",
        f"Per-tab poller: every tab GETs each session every {PER_TAB_INTERVAL:g} s (expected tabs x sessions / "
        f"{PER_TAB_INTERVAL:g} req/s), one keep-alive connection per tab (a lean raw HTTP/1.1 client, so "
        f"the load generator is not the bottleneck); cells above {ctx.max_streams} polling streams are not run.",
        f"Single watcher: one GET /api/sessions?all=true every {WATCHER_INTERVAL * 1000:.0f} ms, whatever the tabs.",
        "wahaweb's own watcher: " + ("measured." if wahaweb_reason is None else f"not measured: {wahaweb_reason}"),
    ]
    if saturation:
        notes.append(saturation)
    return ScenarioResult(
        name=NAME,
        notes=notes,
        table={"columns": ["observer", "tabs", "sessions", "expected req/s", "measured req/s", "errors",
                           "WAHA p50 ms"], "rows": table_rows},
        data={"rows": rows, "window_s": window, "tabs_growth": flatness,
              "wahaweb_watcher": {"measured": wahaweb_reason is None, "reason": wahaweb_reason}},
    )


def tabs_growth(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per observer and sessions level: req/s at the most tabs measured / at the fewest."""
    out = []
    measured = [r for r in rows if "rps" in r]
    for observer in sorted({r["observer"] for r in measured}):
        for n_sessions in sorted({r["sessions"] for r in measured if r["observer"] == observer}):
            cells = sorted((r for r in measured if r["observer"] == observer and r["sessions"] == n_sessions),
                           key=lambda r: r["tabs"])
            if len(cells) < 2 or cells[0]["rps"] == 0:
                continue
            out.append({"observer": observer, "sessions": n_sessions,
                        "tabs_from": cells[0]["tabs"], "tabs_to": cells[-1]["tabs"],
                        "rps_from": cells[0]["rps"], "rps_to": cells[-1]["rps"],
                        "growth": cells[-1]["rps"] / cells[0]["rps"]})
    return out
