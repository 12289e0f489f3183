"""``python -m benchmarks``: see benchmarks/cli.py (``--help``)."""

from benchmarks.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
