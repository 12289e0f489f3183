"""`wahaweb.core.batches`: requests that arrive while a batch runs go together in the next one."""

from __future__ import annotations

import asyncio

import pytest

from wahaweb.core.batches import Batches


class Recorder:
    """A batch run that records each batch; `gate` holds a batch open until the test releases it."""

    def __init__(self, fail_when=lambda batch: False) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_when = fail_when

    async def run(self, asks):
        self.batches.append(list(asks))
        await self.gate.wait()
        if self.fail_when(asks):
            raise RuntimeError(f"batch {list(asks)} failed")
        return [ValueError(f"odd {a}") if a % 2 else a * 10 for a in asks]


async def test_a_lone_request_runs_at_once_and_gets_its_own_answer():
    rec = Recorder()
    batches = Batches(rec.run)
    assert await asyncio.wait_for(batches.submit(4), 1.0) == 40
    with pytest.raises(ValueError, match="odd 3"):
        await batches.submit(3)  # an exception is the answer of its own request only
    assert rec.batches == [[4], [3]]


async def test_requests_arriving_during_a_batch_go_together_in_the_next():
    rec = Recorder()
    rec.gate.clear()
    batches = Batches(rec.run)
    first = asyncio.create_task(batches.submit(2))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(batches.submit(n)) for n in (4, 5, 6)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert rec.batches == [[2]]  # the first did not wait for company
    rec.gate.set()
    assert await first == 20
    answers = await asyncio.gather(*rest, return_exceptions=True)
    assert answers[0] == 40 and isinstance(answers[1], ValueError) and answers[2] == 60
    assert rec.batches == [[2], [4, 5, 6]] and batches.batch_sizes == [1, 3]


async def test_a_failed_batch_is_tried_again_one_by_one_so_only_its_cause_fails():
    rec = Recorder(fail_when=lambda asks: 8 in asks)
    rec.gate.clear()
    batches = Batches(rec.run)
    blocker = asyncio.create_task(batches.submit(0))
    await asyncio.sleep(0)
    tasks = [asyncio.create_task(batches.submit(n)) for n in (2, 8, 4)]
    await asyncio.sleep(0)
    rec.gate.set()
    await blocker
    answers = await asyncio.gather(*tasks, return_exceptions=True)
    assert answers[0] == 20 and answers[2] == 40
    assert isinstance(answers[1], RuntimeError)
    assert rec.batches == [[0], [2, 8, 4], [2], [8], [4]]


async def test_a_caller_that_goes_away_does_not_stop_its_batch():
    """The batch still decides a cancelled caller's request (the owner's run must hand what it made
    to work that does not depend on the caller), and the others get their answers."""
    rec = Recorder()
    rec.gate.clear()
    batches = Batches(rec.run)
    gone = asyncio.create_task(batches.submit(2))
    stays = asyncio.create_task(batches.submit(4))
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.sleep(0)
    rec.gate.set()
    assert await stays == 40
    assert gone.cancelled()
    assert rec.batches == [[2, 4]]


async def test_batches_are_capped():
    rec = Recorder()
    rec.gate.clear()
    batches = Batches(rec.run, max_batch=2)
    tasks = [asyncio.create_task(batches.submit(n)) for n in (2, 4, 6, 8, 10)]
    await asyncio.sleep(0)
    rec.gate.set()
    assert await asyncio.gather(*tasks) == [20, 40, 60, 80, 100]
    assert batches.batch_sizes == [2, 2, 1]


async def test_a_run_that_answers_wrongly_fails_its_requests_instead_of_leaving_them_waiting():
    async def short(asks):
        return [1] if len(asks) > 1 else []

    batches = Batches(short)
    tasks = [asyncio.create_task(batches.submit(n)) for n in (1, 2)]
    answers = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 1.0)
    assert all(isinstance(a, RuntimeError) for a in answers), answers
