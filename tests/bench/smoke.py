"""Run a benchmark's smoke mode the way `make` would, into a report under `tmp_path`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAD = "# Benchmarks\n\nthe rest of the report\n"


def smoke_run(module: str, tmp_path: Path) -> tuple[Path, str]:
    """`python -m <module> --smoke` writing into a report that holds only HEAD; -> (report, its text)."""
    out = tmp_path / "benchmarks.md"
    out.write_text(HEAD)
    done = subprocess.run([sys.executable, "-m", module, "--smoke", "--out", str(out), "--workdir", str(tmp_path)],
                          cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"}, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = out.read_text()
    assert text.startswith(HEAD)
    return out, text
