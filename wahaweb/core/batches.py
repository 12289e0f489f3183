"""Batches: the requests that arrive while one batch runs go together in the next.

Group commit for writes, one `IN (...)` read for lookups. The case that made it: reservations.

When 50 users click "New session" at once, each reservation used to be its own write transaction:
on SQLite one after another (one writer), each paying the same fixed costs (BEGIN IMMEDIATE, the
plan and placement reads, the commit, about four thread hand-offs per statement) on the one event
loop. Here the first request starts a batch at once (a lone create never waits for company); the
ones that arrive while it runs wait for it and then go together, in one transaction that reads
every standing and the server pool once and inserts every row in one statement.

`run` decides each request on its own (one may be refused for its plan while the next is
reserved) and answers one result or one exception per request, in order. If the batch's
transaction itself fails, each request is tried again alone, so one bad request cannot fail the
others, and an error is reported to the request it belongs to.

A caller that goes away (its task cancelled) does not undo its request: the batch still decides
it, and `run` must hand what it reserved to work that does not depend on the caller (the service
starts the WAHA create as its own task), so no row is left behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Ask = TypeVar("Ask")
Answer = TypeVar("Answer")

#: Decides a batch of requests in one transaction: one answer (or exception) per request, in order.
BatchRun = Callable[[Sequence[Ask]], Awaitable[Sequence["Answer | BaseException"]]]


class Batches(Generic[Ask, Answer]):
    """Queues requests and runs them in batches, one batch at a time, in arrival order."""

    def __init__(self, run: BatchRun, *, max_batch: int = 200,
                 on_task: Callable[[asyncio.Task], None] | None = None) -> None:
        self._run = run
        #: At most this many requests per transaction (keeps one transaction, and its locks, short).
        self.max_batch = max_batch
        #: Told of the task that runs the batches, so its owner can wait for it on shutdown.
        self._on_task = on_task
        self._queue: list[tuple[Ask, asyncio.Future[Answer]]] = []
        self._runner: asyncio.Task | None = None
        #: Sizes of the batches run so far (tests and benchmarks read it).
        self.batch_sizes: list[int] = []

    async def submit(self, ask: Ask) -> Answer:
        """Queue `ask`; its answer once the batch it joined has committed (or its exception)."""
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._queue.append((ask, future))
        if self._runner is None:
            self._runner = asyncio.ensure_future(self._drain())
            if self._on_task is not None:
                self._on_task(self._runner)
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
                self.batch_sizes.append(len(batch))
                await self._decide(batch)
        finally:
            self._runner = None
            left, self._queue = self._queue, []
            for _, future in left:  # only if this task was cancelled (shutdown) or `run` broke its contract
                future.cancel()

    async def _decide(self, batch: list[tuple[Ask, asyncio.Future[Answer]]]) -> None:
        try:
            answers = list(await self._run([ask for ask, _ in batch]))
            if len(answers) != len(batch):  # a broken `run`: nobody's answer is known
                raise RuntimeError(f"{len(answers)} answers for a batch of {len(batch)}")
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # the transaction failed: who caused it? each one alone
            if len(batch) == 1:
                answers = [exc]
            else:
                for one in batch:
                    await self._decide([one])
                return
        for (_, future), answer in zip(batch, answers, strict=True):  # lengths checked above
            if future.done():  # its caller went away; the batch's `run` owns what it reserved
                continue
            if isinstance(answer, BaseException):
                future.set_exception(answer)
            else:
                future.set_result(answer)
