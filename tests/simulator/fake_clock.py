"""A clock a test moves by hand, injected as a simulator's ``sleep``.

Every simulated wait (boot, QR lifetimes, the action delay) parks until the test advances
the clock past it, so a test decides exactly when WAHA's 60 s QR or 3 s stop delay is over,
and nothing depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []
        self._sleepers: list[tuple[float, asyncio.Future]] = []

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future = asyncio.get_running_loop().create_future()
        entry = (self.now + seconds, future)
        self._sleepers.append(entry)
        try:
            await future
        finally:
            if entry in self._sleepers:
                self._sleepers.remove(entry)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for entry in [e for e in self._sleepers if e[0] <= self.now]:
            self._sleepers.remove(entry)
            if not entry[1].done():
                entry[1].set_result(None)

    async def settle(self, steps: int = 20) -> None:
        """Let woken tasks run (scheduling steps, not time)."""
        for _ in range(steps):
            await asyncio.sleep(0)

    @property
    def sleeping(self) -> int:
        return len(self._sleepers)

    def _due_within(self, seconds: float) -> bool:
        return any(deadline <= self.now + seconds for deadline, _ in self._sleepers)

    async def run(self, call: Awaitable[T], advance: float) -> T:
        """Run ``call``; once it sleeps (at most ``advance`` seconds), move the clock on, return its result."""
        task = asyncio.ensure_future(call)
        for _ in range(1000):  # scheduling steps, not time: a call that never sleeps just finishes
            if task.done() or self._due_within(advance):
                break
            await asyncio.sleep(0)
        self.advance(advance)
        return await task
