"""Backend resident memory: idle, and with 100 connected websocket clients.

Helpers ready: ``rss_of_tree(pid)`` (psutil RSS of a process and all its children) and
``benchmarks.app.start_wahaweb_app`` (serves the app against the benchmark's simulator).

The plan ``measure_backend_memory`` follows (it opens 100 signed-in Playwright pages, step 3b):
  1. ``app = start_wahaweb_app(ctx)``; sign up one user (POST the register form, or
     ``wahaweb.core`` accounts against ``app.env['DATABASE_URL']``).
  2. Idle: wait ~5 s after the first page load, sample ``rss_of_tree(app.pid)`` every 0.5 s
     for 5 s -> Stats (bytes).
  3. Open 100 clients on Reflex's websocket ``/_event`` (socket.io over engine.io v4:
     ``ws://127.0.0.1:<port>/_event/?EIO=4&transport=websocket``; python-socketio's
     AsyncClient needs aiohttp, which is not installed, so either speak the engine.io
     handshake over a raw websocket (wsproto / simple-websocket are installed) or open 100
     Playwright pages in one chromium context), each hydrating the dashboard state of the
     signed-in user; sample RSS again the same way -> Stats.
  4. Report idle and loaded RSS (MiB) and the per-client delta; ``app.stop()``.
Note the RSS of ``reflex run`` includes its child processes (the backend worker, and in
prod single-port mode no bun dev server); ``rss_of_tree`` sums them all.
"""

from __future__ import annotations

import asyncio
import time

import psutil

from benchmarks.context import BenchContext
from benchmarks.registry import NotMeasured, ScenarioResult, scenario
from benchmarks.stats import Stats

NAME = "backend_memory"
CLIENTS = 100


def rss_of_tree(pid: int) -> int:
    """Resident set size in bytes of ``pid`` and all its descendants (vanished ones skipped)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


async def _sample_rss(pid: int, seconds: float = 5.0, every: float = 0.5) -> list[int]:
    samples = []
    for _ in range(max(1, int(seconds / every))):
        samples.append(rss_of_tree(pid))
        await asyncio.sleep(every)
    return samples


async def measure_backend_memory(ctx: BenchContext, clients: int = CLIENTS) -> ScenarioResult:
    """Idle RSS of the app's process tree, then with ``clients`` signed-in Playwright pages on the dashboard."""
    if ctx.smoke:
        raise NotMeasured("skipped in smoke mode (boots the prod app and 100 chromium pages)")
    from playwright.async_api import async_playwright

    from benchmarks.app import start_wahaweb_app
    from benchmarks.scenarios.wahaweb_qr_visible import CHROMIUM, CHROMIUM_ARGS, sign_up

    app = await asyncio.to_thread(start_wahaweb_app, ctx)
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                context = await browser.new_context(viewport={"width": 1024, "height": 700})
                first = await context.new_page()
                first.set_default_timeout(60_000)
                await sign_up(first, app.base_url, f"mem-{ctx.run_id}@bench.example")
                await first.close()
                await asyncio.sleep(5)
                idle = await _sample_rss(app.pid)
                pages = []
                semaphore = asyncio.Semaphore(10)

                async def open_one() -> None:
                    async with semaphore:
                        page = await context.new_page()
                        page.set_default_timeout(120_000)
                        await page.goto(f"{app.base_url}/")
                        await page.wait_for_selector("#plan-usage")  # hydrated with the user's dashboard state
                        pages.append(page)

                t0 = time.perf_counter()
                await asyncio.gather(*(open_one() for _ in range(clients)))
                open_s = time.perf_counter() - t0
                await asyncio.sleep(5)
                loaded = await _sample_rss(app.pid)
                connected = len(pages)
                for page in pages:
                    await page.close()
                await asyncio.sleep(5)
                after = await _sample_rss(app.pid)
                await context.close()
            finally:
                await browser.close()
    finally:
        await asyncio.to_thread(app.stop)
    mib = 2 ** 20
    idle_s, loaded_s, after_s = (Stats.of([b / mib for b in x], unit="MiB") for x in (idle, loaded, after))
    per_client = (loaded_s.p50 - idle_s.p50) / max(1, connected)
    return ScenarioResult(
        name=NAME,
        notes=["psutil RSS summed over the `reflex run --env prod --single-port` process tree (WAHA_URL = the "
               "benchmark's simulator), sampled every 0.5 s for 5 s, 5 s after each step.",
               f"Idle (one user signed up, no page open): p50 {idle_s.p50:.1f} MiB. With {connected} signed-in "
               f"Playwright pages (one chromium context, each hydrated on the dashboard; opened in {open_s:.0f} s): "
               f"p50 {loaded_s.p50:.1f} MiB, {per_client * 1024:.0f} KiB per client. After closing them: "
               f"p50 {after_s.p50:.1f} MiB."],
        table={"columns": ["state", "clients", "RSS p50 MiB", "RSS max MiB"],
               "rows": [["idle", 0, f"{idle_s.p50:.1f}", f"{idle_s.max:.1f}"],
                        ["connected", connected, f"{loaded_s.p50:.1f}", f"{loaded_s.max:.1f}"],
                        ["after close", 0, f"{after_s.p50:.1f}", f"{after_s.max:.1f}"]]},
        data={"idle_mib": idle_s.to_dict(), "loaded_mib": loaded_s.to_dict(), "after_mib": after_s.to_dict(),
              "clients": connected, "per_client_kib": per_client * 1024, "open_s": open_s,
              "idle_bytes": idle, "loaded_bytes": loaded, "after_bytes": after},
    )


@scenario(
    NAME,
    group="resources",
    title="Backend RSS idle and with 100 websocket clients",
    description="psutil RSS of the wahaweb backend process tree",
    order=10,
)
async def measure(ctx: BenchContext) -> ScenarioResult:
    try:
        return await measure_backend_memory(ctx)
    except NotImplementedError as exc:
        raise NotMeasured(str(exc)) from None
