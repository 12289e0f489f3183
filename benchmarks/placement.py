"""`python -m benchmarks.placement` (part of `make bench`): placement over a pool of WAHA servers.

Three in-process simulated WAHA servers of capacities 2, 3 and 5 (10 slots), on SQLite and on
PostgreSQL, `--runs` times each, a fresh database per run:
1. 10 users create at once: wall time of the whole gather (create = reservation + placement +
   WAHA's answer), sessions placed per server (database) and held per simulator (WAHA);
   then an 11th user is refused with the no-capacity message.
2. 15 users create at once for the 10 slots: how many were refused (5 expected), any other
   error, and whether any server went over its capacity.
Writes its section of docs/benchmarks.md (between markers) and `docs/benchmarks.placement.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from benchmarks.scale import farm as farms
from benchmarks.scale.markers import PLACEMENT as MARKERS
from benchmarks.scale.run import pg_schema
from wahaweb.core.servers import NoCapacity

REPO = Path(__file__).resolve().parents[1]
CAPACITIES = [2, 3, 5]
MESSAGE = "No capacity right now; the operator has been told."


@contextlib.asynccontextmanager
async def database(kind: str, workdir: Path) -> AsyncIterator[str | None]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / f'placement-{uuid.uuid4().hex[:8]}.db'}"
    else:
        async with pg_schema() as url:
            yield url


async def _users(farm: farms.Farm, n: int) -> list:
    return [await farm.core.accounts.register(f"u{i}-{uuid.uuid4().hex[:6]}@example.com", farms.PASSWORD)
            for i in range(n)]


async def _placed(farm: farms.Farm) -> tuple[list[int], list[int]]:
    loads = await farm.core.servers.loads()
    db = [loads.get(farm.ids[name], (0, 0))[0] for name in farm.sims]
    return db, [len(await sim.names()) for sim in farm.sims.values()]


async def ten_then_eleventh(url: str) -> dict[str, Any]:
    farm = await farms.build(3, url, capacity=CAPACITIES, processes=False)
    try:
        users = await _users(farm, 11)
        started = time.perf_counter()
        results = await asyncio.gather(*(farm.core.sessions.create(u) for u in users[:10]), return_exceptions=True)
        wall_ms = (time.perf_counter() - started) * 1000
        errors = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
        db, waha = await _placed(farm)
        try:
            await farm.core.sessions.create(users[10])
            eleventh = "placed"
        except NoCapacity as exc:
            eleventh = "refused: no capacity" if str(exc) == MESSAGE else f"refused: {exc}"
        return {"wall_ms": round(wall_ms, 1), "placed": db, "on_waha": waha, "errors": errors, "eleventh": eleventh}
    finally:
        await farm.aclose()


async def fifteen_for_ten(url: str) -> dict[str, Any]:
    farm = await farms.build(3, url, capacity=CAPACITIES, processes=False)
    try:
        users = await _users(farm, 15)
        started = time.perf_counter()
        results = await asyncio.gather(*(farm.core.sessions.create(u) for u in users), return_exceptions=True)
        wall_ms = (time.perf_counter() - started) * 1000
        outcomes = Counter("ok" if not isinstance(r, BaseException) else
                           "no_capacity" if isinstance(r, NoCapacity) else type(r).__name__ for r in results)
        db, waha = await _placed(farm)
        over = sum(max(0, n - cap) for n, cap in zip(db, CAPACITIES, strict=True))
        return {"wall_ms": round(wall_ms, 1), "outcomes": dict(outcomes), "placed": db, "on_waha": waha,
                "overfilled": over}
    finally:
        await farm.aclose()


async def run(dbs: list[str], runs: int, workdir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"capacities": CAPACITIES, "runs": runs, "databases": {}}
    for kind in dbs:
        per: dict[str, list] = {"ten": [], "fifteen": []}
        for _ in range(runs):
            async with database(kind, workdir) as url:
                if url is None:
                    per = {}
                    break
                per["ten"].append(await ten_then_eleventh(url))
            async with database(kind, workdir) as url:
                assert url is not None
                per["fifteen"].append(await fifteen_for_ten(url))
        results["databases"][kind] = per or None
    return results


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} ms" if values else "-"


def report(results: dict[str, Any], seconds: float) -> str:
    caps = "/".join(map(str, results["capacities"]))
    lines = [
        "## Placement over a pool of WAHA servers",
        "",
        f"`python -m benchmarks.placement` (part of `make bench`), {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} "
        f"(UTC), {seconds:.0f} s. Three in-process simulated WAHA servers of capacities {caps}; "
        f"{results['runs']} runs per database, a fresh database each run. Wall time: the whole `gather` of the "
        "creates (reservation, placement, WAHA's answer).",
        "",
        "| database | 10 at once: placed per server (each run) | WAHA agrees | errors | 11th | wall p50 (min-max) "
        "| 15 for 10: refused (each run) | other errors | overfilled | wall p50 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, per in results["databases"].items():
        if per is None:
            lines.append(f"| {kind} | not run: the database did not answer | | | | | | | | |")
            continue
        ten, fifteen = per["ten"], per["fifteen"]
        placed = ", ".join("/".join(map(str, r["placed"])) for r in ten)
        agrees = all(r["placed"] == r["on_waha"] for r in ten + fifteen)
        walls = [r["wall_ms"] for r in ten]
        refused = ", ".join(str(r["outcomes"].get("no_capacity", 0)) for r in fifteen)
        other = sum(n for r in fifteen for k, n in r["outcomes"].items() if k not in ("ok", "no_capacity"))
        lines.append(
            f"| {kind} | {placed} | {'yes' if agrees else '**no**'} | {sum(len(r['errors']) for r in ten)} "
            f"| {', '.join(sorted({r['eleventh'] for r in ten}))} | {_median(walls)} ({min(walls):.0f}-{max(walls):.0f} ms) "
            f"| {refused} | {other} | {sum(r['overfilled'] for r in fifteen)} "
            f"| {_median([r['wall_ms'] for r in fifteen])} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.placement", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--db", default="sqlite,postgres")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md")
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--smoke", action="store_true", help="1 run per database (the test suite's check)")
    args = p.parse_args(argv)
    runs = 1 if args.smoke else args.runs
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        workdir = args.workdir
        if workdir is None:
            import tempfile

            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        results = asyncio.run(run([d.strip() for d in args.db.split(",") if d.strip()], runs, workdir))
    text = report(results, time.perf_counter() - started)
    if args.smoke:
        text = text.replace("## Placement over a pool of WAHA servers", "## Placement over a pool of WAHA servers (smoke run)")
    MARKERS.put(args.out, text)
    args.out.with_suffix(".placement.json").write_text(json.dumps(results, indent=2) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
