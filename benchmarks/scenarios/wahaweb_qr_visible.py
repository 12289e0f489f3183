"""wahaweb: create click -> QR visible in a real browser (Playwright, Debian chromium).

TODO (hook ``measure_qr_visible``):
  * ``app = benchmarks.app.start_wahaweb_app(ctx)`` (prod build, WAHA_URL = the benchmark's
    simulator, so qr-delay is the same 0.8 s as physical_limit);
  * Playwright (async API, or the sync API in a thread: ``asyncio.to_thread``) with
    ``chromium.launch(executable_path="/usr/bin/chromium", headless=True,
    args=tests/browser/conftest.py's CHROMIUM_ARGS)``; never download browsers;
  * sign up once (``#register-email``, ``#register-password``, ``#register-submit``), with a
    plan or WAHAWEB_DEFAULT_SESSION_LIMIT big enough for ctx.runs sessions (delete each
    session after its run: ``#delete-session`` + ``#confirm``);
  * per run: on the dashboard, t0 = ``performance.now()`` in the page right before
    ``#create-session`` is clicked; then wait for ``#session-qr`` to be an ``<img>`` whose
    image has loaded (``img.complete && img.naturalWidth > 0``) and take
    ``performance.now()`` again in the page (a MutationObserver/rAF loop installed before the
    click gives the first frame it is visible); the same run can also record the moment
    ``[data-status=creating]`` appears (ack as seen in the browser);
  * ``ScenarioResult.timed(NAME, samples)``; ``app.stop()``.
  The issue's targets compare this one: physical_limit + 50 ms at p50, old flow >= 5x,
  rewrite >= 1.3x (benchmarks/analysis.py picks it up by name).
"""

from __future__ import annotations

from benchmarks.context import BenchContext
from benchmarks.registry import NotMeasured, ScenarioResult, scenario
from benchmarks.scenarios._hooks import require_modules

NAME = "wahaweb_qr_visible"


async def measure_qr_visible(ctx: BenchContext) -> ScenarioResult:
    require_modules("wahaweb.wahaweb", "playwright.async_api")
    raise NotImplementedError("TODO: hook not written (see benchmarks/scenarios/wahaweb_qr_visible.py)")


@scenario(
    NAME,
    group="creation",
    title="wahaweb: click to QR visible in chromium",
    description="Playwright: click #create-session until #session-qr has loaded",
    order=60,
)
async def measure(ctx: BenchContext) -> ScenarioResult:
    try:
        return await measure_qr_visible(ctx)
    except NotImplementedError as exc:
        raise NotMeasured(str(exc)) from None
