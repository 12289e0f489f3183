"""Backend resident memory: idle, and with 100 connected websocket clients.

Helpers ready: ``rss_of_tree(pid)`` (psutil RSS of a process and all its children) and
``benchmarks.app.start_wahaweb_app`` (serves the app against the benchmark's simulator).

TODO (the hook, once the app runs): ``measure_backend_memory``:
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

import psutil

from benchmarks.context import BenchContext
from benchmarks.registry import NotMeasured, ScenarioResult, scenario

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


async def measure_backend_memory(ctx: BenchContext, clients: int = CLIENTS) -> ScenarioResult:
    """The hook to fill in (see the module docstring)."""
    raise NotImplementedError(
        "not measured yet: needs the wahaweb app running (benchmarks.app.start_wahaweb_app) and "
        f"{clients} websocket clients on /_event; TODO in benchmarks/scenarios/backend_memory.py"
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
