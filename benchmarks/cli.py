"""``python -m benchmarks``: start the simulator, run the scenarios, write the report."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import secrets
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

from benchmarks import analysis, report
from benchmarks.context import BenchContext
from benchmarks.machine import machine_info
from benchmarks.registry import NotMeasured, Scenario, ScenarioResult, ordered
from benchmarks.simproc import SimulatorProcess
from benchmarks.stats import fmt_seconds

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "benchmarks.md"
DEFAULT_JSON = ROOT / "docs" / "benchmarks.json"
QR_DELAY = 0.8

SMOKE = {"runs": 2, "levels": (1, 2), "window": 1.0, "old_flow_sleep_scale": 0.1}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--runs", type=int, default=None, help="runs per timing (default 20; smoke 2)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny counts for CI: 2 runs, tabs/sessions 1 and 2, 1 s windows, old-flow sleeps x0.1")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown report (default docs/benchmarks.md)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="JSON with every number (default docs/benchmarks.json)")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this scenario (repeatable)")
    parser.add_argument("--old-flow-sleep-scale", type=float, default=None,
                        help="multiply the old PHP flow's 2/2/3 s sleeps (smoke default 0.1; a real bench uses 1)")
    parser.add_argument("--window", type=float, default=None, help="seconds per requests/s cell (default 6, a multiple of the 2 s and 300 ms intervals; smoke 1)")
    parser.add_argument("--qr-delay", type=float, default=QR_DELAY, help=argparse.SUPPRESS)
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = parser.parse_args(argv)
    if args.runs is None:
        args.runs = SMOKE["runs"] if args.smoke else 20
    if args.old_flow_sleep_scale is None:
        args.old_flow_sleep_scale = SMOKE["old_flow_sleep_scale"] if args.smoke else 1.0
    if args.window is None:
        args.window = SMOKE["window"] if args.smoke else 6.0
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.old_flow_sleep_scale < 0 or args.window <= 0:
        parser.error("--old-flow-sleep-scale must be >= 0 and --window > 0")
    return args


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def select(args: argparse.Namespace) -> list[Scenario]:
    scenarios = ordered()
    if args.only:
        known = {s.name for s in scenarios}
        unknown = [n for n in args.only if n not in known]
        if unknown:
            raise SystemExit(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        scenarios = [s for s in scenarios if s.name in args.only]
    return scenarios


async def run_scenario(scenario: Scenario, ctx: BenchContext) -> ScenarioResult:
    started = time.perf_counter()
    try:
        await ctx.clear_requests()
        result = await scenario.measure(ctx)
    except (NotMeasured, NotImplementedError) as exc:
        result = ScenarioResult(name=scenario.name, status="not_measured", reason=str(exc) or "not implemented")
    except Exception as exc:  # one broken scenario must not lose the others' numbers
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        log(traceback.format_exc())
        result = ScenarioResult(name=scenario.name, status="error", reason=detail)
    result.wall_s = time.perf_counter() - started
    return result


def summary_line(scenario: Scenario, result: ScenarioResult) -> str:
    if result.stats is not None:
        s = result.stats
        return (f"{scenario.name:28s} p50 {fmt_seconds(s.p50):>10s}  p95 {fmt_seconds(s.p95):>10s}  "
                f"(n={s.n}, {result.wall_s:.1f} s)")
    if result.measured:
        return f"{scenario.name:28s} measured ({result.wall_s:.1f} s)"
    return f"{scenario.name:28s} {result.status.replace('_', ' ')}: {result.reason}"


async def run_all(args: argparse.Namespace, scenarios: list[Scenario], sim: SimulatorProcess) -> dict[str, ScenarioResult]:
    levels = SMOKE["levels"] if args.smoke else (1, 10, 100)
    ctx = BenchContext(
        base_url=sim.base_url, api_key=sim.api_key, qr_delay=sim.qr_delay, time_scale=sim.time_scale,
        runs=args.runs, smoke=args.smoke, old_flow_sleep_scale=args.old_flow_sleep_scale,
        requests_window=args.window, tabs_levels=levels, sessions_levels=levels, simulator_pid=sim.pid,
    )
    results: dict[str, ScenarioResult] = {}
    try:
        for scenario in scenarios:
            log(f"-> {scenario.name}: {scenario.description}")
            result = await run_scenario(scenario, ctx)
            results[scenario.name] = result
            log("   " + summary_line(scenario, result))
    finally:
        await ctx.aclose()
    return results


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the with-block, so the simulator subprocess is stopped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    scenarios = select(args)
    if args.list:
        for s in scenarios:
            print(f"{s.name:28s} [{s.group}] {s.description}")
        return 0
    started_at = dt.datetime.now(dt.timezone.utc)
    started = time.perf_counter()
    machine = machine_info()
    with SimulatorProcess(api_key=secrets.token_urlsafe(16), qr_delay=args.qr_delay) as sim:
        log(f"simulator pid {sim.pid} at {sim.base_url} (qr-delay {sim.qr_delay:g} s)")
        results = asyncio.run(run_all(args, scenarios, sim))
        simulator = {"command": " ".join(sim.command()[1:]).replace(sim.api_key, "<random key>"),
                     "qr_delay": sim.qr_delay, "time_scale": sim.time_scale, "port": sim.port}
    wall = time.perf_counter() - started

    meta = {
        "generated_at": started_at.strftime("%Y-%m-%d %H:%M:%S"),
        "command": "python -m benchmarks" + ("" if argv is None and len(sys.argv) <= 1 else
                                             " " + " ".join(argv if argv is not None else sys.argv[1:])),
        "wall_s": wall,
        "smoke": args.smoke,
        "runs": args.runs,
        "old_flow_sleep_scale": args.old_flow_sleep_scale,
        "requests_window_s": args.window,
        "only": args.only,
        "json_path": str(args.json),
        "markdown_path": str(args.out),
        "machine": machine,
        "simulator": simulator,
    }
    ratios = analysis.ratios(results)
    targets = analysis.targets(results)
    document = report.build_document(meta, scenarios, results, ratios, targets)
    report.write_json(args.json, document)
    report.write_markdown(args.out, report.render_markdown(document, scenarios, results))

    print(f"wrote {args.out} and {args.json} in {wall:.0f} s")
    for scenario in scenarios:
        print(summary_line(scenario, results[scenario.name]))
    for ratio in ratios:
        print(f"ratio {ratio['name']}: p50 {ratio['p50']:.2f}x, p95 {ratio['p95']:.2f}x")
    for target in targets:
        print(f"target [{target['status']}] {target['goal']}: {target['detail']}")
    return 1 if any(r.status == "error" for r in results.values()) else 0
