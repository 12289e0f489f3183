"""The last answer to an expensive question, shared by everyone who asks.

Page loads ask whether WAHA answers, load balancers and strangers ask /api/health: each
question costs a request to WAHA (and a database session), and the askers come in crowds.
A `Recent` reuses an answer up to `max_age` old, and while one is being worked out every
asker waits for that one: when WAHA hangs, a hundred askers cost one request, not a hundred.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Recent(Generic[T]):
    def __init__(self, ask: Callable[[], Awaitable[T]], *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._ask = ask
        self._monotonic = monotonic
        #: (monotonic time the answer came, the answer).
        self._last: tuple[float, T] | None = None
        self._asking: asyncio.Task[T] | None = None

    async def get(self, max_age: float = 0.0) -> T:
        """An answer at most `max_age` s old (0: a new one, or the one being worked out now)."""
        last = self._last
        if max_age > 0 and last is not None and self._monotonic() - last[0] <= max_age:
            return last[1]
        if self._asking is None:
            self._asking = asyncio.ensure_future(self._ask_and_keep())
        # Shielded: an asker that gives up (its page closed) does not cancel the others' answer.
        return await asyncio.shield(self._asking)

    async def _ask_and_keep(self) -> T:
        try:
            answer = await self._ask()
            self._last = (self._monotonic(), answer)
            return answer
        finally:
            self._asking = None
