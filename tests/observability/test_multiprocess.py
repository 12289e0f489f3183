"""Several workers, one scrape: with PROMETHEUS_MULTIPROC_DIR every worker's counts add up.

Each worker is a real process (prometheus-client picks its multiprocess value class at
import, from the environment), so the test runs them as subprocesses.
"""

from __future__ import annotations

import os
import subprocess
import sys

from prometheus_client.parser import text_string_to_metric_families

WORKER = """
from wahaweb.observability import Metrics
m = Metrics()
m.rate_limited("create")
m.observe_create("ok", 0.05)
m.set_open_pages({pages})
if {exits}:
    m.process_exiting()
"""

SCRAPE = """
import asyncio, sys
from wahaweb.observability import Metrics
sys.stdout.write(asyncio.run(Metrics().render()).decode())
"""


def _run(code: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                          check=True)
    return done.stdout


def test_two_workers_are_added_up_in_one_scrape(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    _run(WORKER.format(pages=2, exits=True), env)   # a worker that shut down cleanly
    _run(WORKER.format(pages=3, exits=False), env)  # one still serving (as far as the files say)
    text = _run(SCRAPE, env)
    found = {(s.name, tuple(sorted(s.labels.items()))): s.value
             for family in text_string_to_metric_families(text) for s in family.samples}
    assert found[("wahaweb_rate_limit_refusals_total", (("kind", "create"),))] == 2
    assert found[("wahaweb_session_create_duration_seconds_count", (("outcome", "ok"),))] == 2
    # Open pages are summed over the workers that did not shut down.
    assert found[("wahaweb_open_pages", ())] == 3
