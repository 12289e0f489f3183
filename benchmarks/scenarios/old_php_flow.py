"""The old PHP dashboard's "create session", reimplemented faithfully from SPEC.md.

    stop the session (if it exists) -> sleep 2 s -> create -> sleep 2 s
    -> sleep 3 s "for initialisation" -> fetch the QR

all sequential, with wahaweb's WahaClient over HTTP. Timed from the click to the QR in hand.
The runs overlap (asyncio.gather, distinct session names), each started 300 ms after the
previous one: each run's clock is its own and the simulator is async, and the stagger keeps
the runs' WAHA calls from landing at the same instant (20 QR PNGs rendered at once would queue
in the simulator and add up to ~200 ms to the old flow), so the per-run times are those of
sequential runs while 20 runs take ~13 s instead of 140 s.
"""

from __future__ import annotations

import asyncio
import time

from benchmarks.context import BenchContext
from benchmarks.registry import ScenarioResult, scenario

NAME = "old_php_flow"
#: The old flow's fixed sleeps: after stopping, after creating, "for initialisation".
SLEEPS = (2.0, 2.0, 3.0)
#: Delay between the starts of the overlapping runs (no two runs' WAHA calls coincide).
STAGGER = 0.3


async def old_create(client, name: str, scale: float = 1.0) -> float:
    """One click of the old dashboard; returns seconds from the click to the QR in hand."""
    after_stop, after_create, for_init = (s * scale for s in SLEEPS)
    started = time.perf_counter()
    await client.stop_session(name)  # "stop it if it exists": a 404 is fine (client returns None)
    await asyncio.sleep(after_stop)
    await client.create_session(name)
    await asyncio.sleep(after_create)
    await asyncio.sleep(for_init)
    qr = await client.get_qr(name)
    elapsed = time.perf_counter() - started
    if not qr.data:
        raise RuntimeError(f"empty QR for {name}")
    return elapsed


@scenario(
    NAME,
    group="creation",
    title="Old PHP flow: click to QR in hand",
    description="stop, sleep 2 s, create, sleep 2 s, sleep 3 s, fetch QR (sequential WAHA calls)",
    order=10,
)
async def measure(ctx: BenchContext) -> ScenarioResult:
    scale = ctx.old_flow_sleep_scale
    names = [ctx.session_name("old") for _ in range(ctx.runs)]
    async with ctx.waha_client() as client:
        try:
            async def run(index: int, name: str) -> float:
                await asyncio.sleep(index * STAGGER)
                return await old_create(client, name, scale)

            samples = await asyncio.gather(*(run(i, name) for i, name in enumerate(names)))
        finally:
            await ctx.delete_sessions(client, names)
    notes = [
        f"The {ctx.runs} runs overlap in time (asyncio.gather, distinct names, starts {STAGGER * 1000:.0f} ms "
        "apart so no two runs' WAHA calls coincide): each run is timed on its own and the simulator is "
        "async, so per-run times are those of sequential runs; only the wall time shrinks.",
    ]
    if scale != 1.0:
        notes.insert(0, f"SLEEPS SCALED by {scale:g} (smoke run): {', '.join(f'{s * scale:g} s' for s in SLEEPS)} "
                        "instead of 2 s, 2 s, 3 s. Not the real old flow's timing.")
    return ScenarioResult.timed(
        NAME, list(samples), notes=notes,
        data={"sleeps_s": [s * scale for s in SLEEPS], "sleep_scale": scale, "concurrent_runs": ctx.runs,
              "stagger_s": STAGGER},
    )
