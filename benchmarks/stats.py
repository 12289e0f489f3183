"""Summary statistics over samples measured with ``time.perf_counter`` (seconds)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear interpolation between closest ranks (numpy's default)."""
    if not samples:
        raise ValueError("percentile of no samples")
    ordered = sorted(samples)
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


@dataclass(frozen=True)
class Stats:
    """n, min, p50, p95, max and mean of a list of samples, in the samples' unit."""

    n: int
    min: float
    p50: float
    p95: float
    max: float
    mean: float
    unit: str = "s"

    @classmethod
    def of(cls, samples: Sequence[float], unit: str = "s") -> Stats:
        if not samples:
            raise ValueError("Stats of no samples")
        return cls(
            n=len(samples),
            min=float(min(samples)),
            p50=percentile(samples, 50),
            p95=percentile(samples, 95),
            max=float(max(samples)),
            mean=float(statistics.fmean(samples)),
            unit=unit,
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Stats:
        return cls(**{k: data[k] for k in ("n", "min", "p50", "p95", "max", "mean", "unit") if k in data})


def fmt_seconds(value: float | None) -> str:
    """Seconds shown as ms below 10 s ("812.4 ms"), else as seconds ("12.31 s")."""
    if value is None:
        return "–"
    if abs(value) < 10:
        return f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"
