"""The physical limit: the raw client alone, no app in between.

    create (with a session.status webhook) -> wait for the SCAN_QR_CODE event -> fetch the QR

Timed from the click to the QR in hand; the floor is qr-delay plus a few milliseconds of
HTTP. The webhook receiver is a tiny Starlette app on uvicorn in this process.
"""

from __future__ import annotations

import asyncio
import time

from benchmarks.context import BenchContext
from benchmarks.registry import ScenarioResult, scenario
from benchmarks.stats import Stats
from benchmarks.webhooks import WebhookReceiver

NAME = "physical_limit"
EVENT_TIMEOUT = 10.0


async def raw_create(client, receiver: WebhookReceiver, name: str, *, raw: bool = False) -> tuple[float, float]:
    """(seconds to QR in hand, seconds to the SCAN_QR_CODE event) for one click; `raw`: the QR's text."""
    event = receiver.expect(name, "SCAN_QR_CODE")
    started = time.perf_counter()
    await client.create_session(name, webhooks=receiver.webhooks_config())
    await asyncio.wait_for(event, EVENT_TIMEOUT)
    to_event = time.perf_counter() - started
    data = await client.get_qr_raw(name) if raw else (await client.get_qr(name)).data
    elapsed = time.perf_counter() - started
    if not data:
        raise RuntimeError(f"empty QR for {name}")
    return elapsed, to_event


async def floor(ctx: BenchContext, prefix: str, *, raw: bool) -> tuple[list[float], list[float]]:
    names: list[str] = []
    samples: list[float] = []
    to_events: list[float] = []
    async with WebhookReceiver() as receiver, ctx.waha_client() as client:
        try:
            for _ in range(ctx.runs):
                name = ctx.session_name(prefix)
                names.append(name)
                elapsed, to_event = await raw_create(client, receiver, name, raw=raw)
                samples.append(elapsed)
                to_events.append(to_event)
        finally:
            await ctx.delete_sessions(client, names)
    return samples, to_events


def floor_result(ctx: BenchContext, name: str, what: str, samples: list[float], to_events: list[float]):
    overhead = [s - ctx.qr_delay for s in samples]
    qr_fetch = [s - e for s, e in zip(samples, to_events)]
    ev, qf = Stats.of(to_events), Stats.of(qr_fetch)
    notes = [
        f"Runs are sequential. The floor is qr-delay ({ctx.qr_delay:g} s); the rest is create + webhook "
        f"delivery + {what} over local HTTP.",
        f"Click to SCAN_QR_CODE event: p50 {ev.p50 * 1000:.1f} ms, p95 {ev.p95 * 1000:.1f} ms; "
        f"event to QR in hand: p50 {qf.p50 * 1000:.1f} ms, p95 {qf.p95 * 1000:.1f} ms.",
    ]
    return ScenarioResult.timed(
        name, samples, notes=notes,
        data={"to_event_s": to_events, "to_event": ev.to_dict(), "qr_fetch": qf.to_dict(),
              "overhead_over_qr_delay": Stats.of(overhead).to_dict()},
    )


@scenario(
    NAME,
    group="creation",
    title="Physical limit: raw client, create to QR in hand",
    description="create with a session.status webhook, wait for SCAN_QR_CODE, fetch the QR at once",
    order=30,
)
async def measure(ctx: BenchContext) -> ScenarioResult:
    samples, to_events = await floor(ctx, "phys", raw=False)
    return floor_result(ctx, NAME, "QR fetch (the simulator renders a PNG, sent base64)", samples, to_events)


RAW_NAME = "raw_text_floor"


@scenario(
    RAW_NAME,
    group="creation",
    title="Raw-text floor: raw client, create to the QR's text in hand",
    description="as physical_limit, but GET auth/qr?format=raw (the ~250-byte text, no PNG)",
    order=31,
)
async def measure_raw(ctx: BenchContext) -> ScenarioResult:
    samples, to_events = await floor(ctx, "rawf", raw=True)
    return floor_result(ctx, RAW_NAME, "QR text fetch (format=raw)", samples, to_events)
