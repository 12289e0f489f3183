"""Waiting in tests without betting on the machine's speed.

- `eventually(condition)`: poll until a condition holds. It counts polls, never measures
  elapsed time, and its cap is a hang guard far beyond any real wait: a slow machine (or a
  second test suite beside this one) only makes it poll longer, never fail.
- `LoopClock`: a `monotonic()` and a `sleep()` for the code under test (the status engine's
  pacing), moved by hand. A test advances it only while the code is parked in that sleep,
  so "the loop ticked after 0.05 s, not 30 s" is a statement about the fake time line.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

from tests.simulator.fake_clock import FakeClock

#: Polls before `eventually` gives up: a hang guard (about a minute of real polling), not a bound.
MAX_POLLS = 6000
POLL = 0.01


class LoopClock(FakeClock):
    """`sleep` parks until the test advances past it; `monotonic` reads the same fake time."""

    def monotonic(self) -> float:
        return self.now

    def parked(self, within: float | None = None) -> bool:
        """Something sleeps on this clock (and, with `within`, wakes within that many seconds)."""
        if within is None:
            return self.sleeping > 0
        return self._due_within(within)


async def eventually(condition: Callable[[], object | Awaitable[object]], *, clock: LoopClock | None = None,
                     step: float = 0.0, within: float | None = None, polls: int = MAX_POLLS,
                     what: str = "the condition") -> int:
    """Poll `condition` (sync or async) until it is true; returns how many polls it took.

    With `clock` and `step`: between polls, when something sleeps on the clock (waking
    within `within` seconds when given), move it forward by `step`: the code under test
    goes on exactly as if that much time had passed, however slow the machine is.
    """
    for n in range(polls):
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return n
        if clock is not None and step and clock.parked(within):
            clock.advance(step)
        await asyncio.sleep(POLL)  # real time: database threads and other tasks get to run
    raise AssertionError(f"{what} never held ({polls} polls)")
