"""`python -m benchmarks.placement` must not rot: its smoke mode (1 run per database) runs here."""

from __future__ import annotations

import json

from benchmarks.report import write_markdown
from benchmarks.scale.markers import PLACEMENT, SCALE
from tests.bench.smoke import smoke_run


def test_the_smoke_run_places_2_3_5_refuses_the_11th_and_5_of_15(tmp_path) -> None:
    out, text = smoke_run("benchmarks.placement", tmp_path)
    assert PLACEMENT.begin in text and "smoke run" in text
    results = json.loads(out.with_suffix(".placement.json").read_text())
    for db, per in results["databases"].items():
        if per is None:  # PostgreSQL not running here: said so in the report
            continue
        [ten], [fifteen] = per["ten"], per["fifteen"]
        assert ten["placed"] == ten["on_waha"] == [2, 3, 5] and not ten["errors"], (db, ten)
        assert ten["eleventh"] == "refused: no capacity"
        assert fifteen["outcomes"] == {"ok": 10, "no_capacity": 5} and fifteen["overfilled"] == 0, (db, fifteen)
    # `make bench` rewrites the file and keeps both marked sections.
    SCALE.put(out, "scale numbers")
    write_markdown(out, "# Benchmarks\n\nregenerated\n")
    kept = out.read_text()
    assert "regenerated" in kept and PLACEMENT.section_of(kept) and "scale numbers" in kept
