"""The scenario registry and the result every scenario hands back.

A scenario is an ``async def measure(ctx: BenchContext) -> ScenarioResult`` registered with
``@scenario(...)`` in its own module under ``benchmarks/scenarios/``. If it cannot run yet
(wahaweb's part not written, a dependency missing) it raises ``NotMeasured(reason)`` or
``NotImplementedError(reason)``; the runner reports "not measured: <reason>" and goes on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from benchmarks.stats import Stats

if TYPE_CHECKING:
    from benchmarks.context import BenchContext

Status = Literal["measured", "not_measured", "error"]

#: Groups, in report order, with their headings.
GROUPS: dict[str, str] = {
    "creation": "Creation: click to QR (old flows, physical limit, wahaweb)",
    "waha_cost": "WAHA requests per second as tabs and pairing sessions grow",
    "concurrency": "Concurrency: 50 users creating at once",
    "resources": "Backend resident memory",
}


class NotMeasured(Exception):
    """This scenario cannot be measured (yet); the message says why."""


@dataclass
class ScenarioResult:
    name: str
    status: Status = "measured"
    stats: Stats | None = None
    """The headline timing (seconds), when the scenario measures one."""
    samples: list[float] = field(default_factory=list)
    reason: str | None = None
    """Why it was not measured, or the error."""
    notes: list[str] = field(default_factory=list)
    table: dict[str, Any] | None = None
    """Extra table for the report: {"columns": [...], "rows": [[...], ...]}."""
    data: dict[str, Any] = field(default_factory=dict)
    """Every other number, for the JSON file."""
    wall_s: float | None = None
    """How long the scenario took to run, all runs included."""

    @classmethod
    def timed(cls, name: str, samples: list[float], **kwargs: Any) -> ScenarioResult:
        return cls(name=name, stats=Stats.of(samples), samples=list(samples), **kwargs)

    @property
    def measured(self) -> bool:
        return self.status == "measured"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "stats": self.stats.to_dict() if self.stats else None,
            "samples": [round(s, 6) for s in self.samples],
            "notes": list(self.notes),
            "table": self.table,
            "data": self.data,
            "wall_s": round(self.wall_s, 3) if self.wall_s is not None else None,
        }


Measure = Callable[["BenchContext"], Awaitable[ScenarioResult]]


@dataclass(frozen=True)
class Scenario:
    name: str
    group: str
    title: str
    description: str
    measure: Measure
    order: int


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, *, group: str, title: str, description: str, order: int) -> Callable[[Measure], Measure]:
    """Register ``measure`` under ``name`` (unique) in ``group`` (a key of GROUPS)."""
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r}")

    def register(measure: Measure) -> Measure:
        if name in SCENARIOS:
            raise ValueError(f"scenario {name!r} registered twice")
        SCENARIOS[name] = Scenario(name, group, title, description, measure, order)
        return measure

    return register


def ordered() -> list[Scenario]:
    """Every registered scenario, in report order (scenario modules must be imported first)."""
    import benchmarks.scenarios  # noqa: F401  (registers them)

    groups = list(GROUPS)
    return sorted(SCENARIOS.values(), key=lambda s: (groups.index(s.group), s.order, s.name))
