"""wahaweb's benchmark harness (issue 7): ``python -m benchmarks`` / ``make bench``.

It starts the standalone WAHA simulator (``python -m wahaweb.simulator``, fixed
``--qr-delay 0.8``) as a subprocess on a free port, runs every registered scenario against
it in one run on this machine, and writes ``docs/benchmarks.md`` and ``docs/benchmarks.json``.

Layout (one module per scenario, a registry, one Stats type):

    benchmarks/stats.py         Stats (n, min, p50, p95, max, mean) from perf_counter samples
    benchmarks/registry.py      @scenario(...) registry, ScenarioResult, NotMeasured
    benchmarks/context.py       BenchContext: the simulator's URL/key, run counts, helpers
    benchmarks/simproc.py       the simulator subprocess (free port, wait for /ping, stop)
    benchmarks/webhooks.py      a tiny Starlette/uvicorn webhook receiver (session.status)
    benchmarks/machine.py       CPU, cores, RAM, Python, OS
    benchmarks/analysis.py      ratios and the issue's targets (met / missed / not measured)
    benchmarks/report.py        markdown and JSON output
    benchmarks/cli.py           argument parsing and the run loop
    benchmarks/scenarios/*.py   one module per scenario; importing the package registers them

A scenario that cannot be measured yet raises ``NotMeasured`` (or ``NotImplementedError``)
and is reported as "not measured: <reason>" instead of failing the run.
"""
