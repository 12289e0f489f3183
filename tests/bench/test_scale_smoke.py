"""`make bench-scale` must not rot: its smoke mode (2 servers x 5 sessions, 6 users) runs here.

The real run (10 servers x 200 sessions, 200 users) is `make bench-scale`, not part of `make test`.
"""

from __future__ import annotations

import json

from benchmarks.report import write_markdown
from benchmarks.scale.markers import BEGIN, END, put_section
from tests.bench.smoke import smoke_run


def test_the_smoke_run_writes_its_section_with_o_servers_figures(tmp_path) -> None:
    out, text = smoke_run("benchmarks.scale", tmp_path)
    assert BEGIN in text and END in text
    assert "Smoke run" in text
    results = json.loads(out.with_suffix(".scale.json").read_text())
    for db, res in results["loop"].items():
        if res is None:  # PostgreSQL not running here: said so in the report
            continue
        small, big = res["steps"]
        # O(servers): the same cost per tick at 4 and at 10 sessions, one query and one list per server.
        assert small["sql_per_tick"] == big["sql_per_tick"] == [2], (db, small, big)
        assert small["waha_per_server_per_tick"] == big["waha_per_server_per_tick"] == [1]
        assert small["changes"] == big["changes"] == 0
        run = res["running"]
        assert run["event_errors"] == 0 and run["rows_connected_after"] == run["events"] == 4
    if results.get("creates"):
        creates = results["creates"]
        assert creates["outcomes"] == {"ok": 6, "plan_limit": 6, "error": 0}
        assert creates["overshoot"] == 0 and creates["db_equals_waha"]


def test_the_scale_section_survives_make_bench_and_is_replaced_by_the_next_scale_run(tmp_path) -> None:
    out = tmp_path / "benchmarks.md"
    write_markdown(out, "# Benchmarks\n\nfirst\n")
    put_section(out, "scale one")
    write_markdown(out, "# Benchmarks\n\nsecond\n")  # `make bench` regenerates the rest
    assert out.read_text() == f"# Benchmarks\n\nsecond\n\n{BEGIN}\nscale one\n{END}\n"
    put_section(out, "scale two")
    assert out.read_text() == f"# Benchmarks\n\nsecond\n\n{BEGIN}\nscale two\n{END}\n"
