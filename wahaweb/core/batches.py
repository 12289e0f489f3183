"""Batches: the requests that arrive while one batch runs go together in the next.

Group commit for writes, one `IN (...)` read for lookups. The case that made it: reservations.

When 50 users click "New session" at once, each reservation used to be its own write transaction:
on SQLite one after another (one writer), each paying the same fixed costs (BEGIN IMMEDIATE, the
plan and placement reads, the commit, about four thread hand-offs per statement) on the one event
loop. Here the first request starts a batch at once (a lone create never waits for company); the
ones that arrive while it runs wait for it and then go together, in one transaction that reads
every standing and the server pool once and inserts every row in one statement.

`run` decides each request on its own (one may be refused for its plan while the next is
reserved) and answers one result or one exception per request, in order. When `run` raises
`RetryAlone` (it knows nothing was written, e.g. an insert refused before the commit), each
request is tried again alone, so one bad request cannot fail the others. Any other error is
every request's answer and nothing is run again: after a failed commit the rows may exist, and
deciding again could reserve twice; a database that is down would make every retry wait too.

A caller that goes away (its task cancelled) does not undo its request: the batch still decides
it, and `run` must hand what it reserved to work that does not depend on the caller (the service
starts the WAHA create as its own task), so no row is left behind; a refusal nobody waits for
any more goes to `on_unclaimed`, so it is still on record.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Ask = TypeVar("Ask")
Answer = TypeVar("Answer")

#: Decides a batch of requests in one transaction: one answer (or exception) per request, in order.
BatchRun = Callable[[Sequence[Ask]], Awaitable[Sequence["Answer | BaseException"]]]


class RetryAlone(Exception):
    """Raised by a batch's `run` when nothing was written and one request may be the cause
    (a primary key refused): each request is decided again on its own."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class Batches(Generic[Ask, Answer]):
    """Queues requests and runs them in batches, one batch at a time, in arrival order."""

    def __init__(self, run: BatchRun, *, max_batch: int = 200,
                 on_task: Callable[[asyncio.Task], None] | None = None,
                 on_unclaimed: Callable[[Ask, BaseException], None] | None = None) -> None:
        self._run = run
        #: At most this many requests per transaction (keeps one transaction, and its locks, short).
        self.max_batch = max_batch
        #: Told of the task that runs the batches, so its owner can wait for it on shutdown.
        self._on_task = on_task
        #: Told of a request refused after its caller went away (nobody else would record it).
        self._on_unclaimed = on_unclaimed
        self._queue: list[tuple[Ask, asyncio.Future[Answer]]] = []
        #: The batch being decided (its futures are cancelled if the runner is).
        self._current: list[tuple[Ask, asyncio.Future[Answer]]] = []
        self._runner: asyncio.Task | None = None
        #: Sizes of the latest batches (tests and benchmarks read it); bounded, the process lives long.
        self.batch_sizes: collections.deque[int] = collections.deque(maxlen=1000)

    async def submit(self, ask: Ask) -> Answer:
        """Queue `ask`; its answer once the batch it joined has committed (or its exception)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        runner = self._runner
        if runner is not None and (runner.done() or runner.get_loop() is not loop):
            # Left behind by a loop that stopped (tests): its requests can never be answered here.
            self._queue = [(a, f) for a, f in self._queue if f.get_loop() is loop]
            self._runner = runner = None
        self._queue.append((ask, future))
        if runner is None:
            # An empty context: the batch serves many callers, and must not carry the first one's ids.
            self._runner = loop.create_task(self._drain(), context=contextvars.Context())
            if self._on_task is not None:
                self._on_task(self._runner)
        return await future

    async def _drain(self) -> None:
        """Decide batches until the queue is empty; on cancellation nobody is left waiting."""
        try:
            while self._queue:
                batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
                self.batch_sizes.append(len(batch))
                self._current = batch
                await self._decide(batch)
        finally:
            try:
                if self._runner is asyncio.current_task():
                    self._runner = None
                left, self._queue, self._current = [*self._current, *self._queue], [], []
                for _, future in left:  # only if this task was cancelled (shutdown) or `run` broke its contract
                    future.cancel()
            except RuntimeError:  # a stopped loop's pending task being destroyed: `submit` starts afresh
                pass

    async def _decide(self, batch: list[tuple[Ask, asyncio.Future[Answer]]]) -> None:
        try:
            answers = list(await self._run([ask for ask, _ in batch]))
            if len(answers) != len(batch):  # a broken `run`: nobody's answer is known
                raise RuntimeError(f"{len(answers)} answers for a batch of {len(batch)}")
        except RetryAlone as retry:
            if len(batch) == 1:
                answers = [retry.cause]
            else:
                for one in batch:
                    await self._decide([one])
                return
        except Exception as exc:  # noqa: BLE001 - every request's answer (see the module's docstring)
            answers = [exc] * len(batch)
        for (ask, future), answer in zip(batch, answers, strict=True):  # lengths checked above
            if future.done():  # its caller went away; the batch's `run` owns what it reserved
                if isinstance(answer, BaseException) and self._on_unclaimed is not None:
                    self._on_unclaimed(ask, answer)
                continue
            if isinstance(answer, BaseException):
                future.set_exception(answer)
            else:
                future.set_result(answer)
