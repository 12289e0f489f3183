"""`wahaweb.core.batches`: requests that arrive while a batch runs go together in the next one."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from wahaweb.core.batches import Batches, RetryAlone


class Recorder:
    """A batch run that records each batch; `gate` holds a batch open until the test releases it."""

    def __init__(self, fail_when=lambda batch: False, alone: bool = True) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_when = fail_when
        self.alone = alone

    async def run(self, asks):
        self.batches.append(list(asks))
        await self.gate.wait()
        if self.fail_when(asks):
            failure = RuntimeError(f"batch {list(asks)} failed")
            raise RetryAlone(failure) if self.alone else failure
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
    assert rec.batches == [[2], [4, 5, 6]] and list(batches.batch_sizes) == [1, 3]


async def second_batch_of(rec: Recorder, asks: tuple[int, ...]) -> list:
    """Runs `asks` as one batch (a first request holds the runner while they queue): their answers."""
    rec.gate.clear()
    batches = Batches(rec.run)
    blocker = asyncio.create_task(batches.submit(0))
    await asyncio.sleep(0)
    tasks = [asyncio.create_task(batches.submit(n)) for n in asks]
    await asyncio.sleep(0)
    rec.gate.set()
    await blocker
    return await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_batch_that_wrote_nothing_is_tried_again_one_by_one_so_only_its_cause_fails():
    rec = Recorder(fail_when=lambda asks: 8 in asks)
    answers = await second_batch_of(rec, (2, 8, 4))
    assert answers[0] == 20 and answers[2] == 40
    assert isinstance(answers[1], RuntimeError)
    assert rec.batches == [[0], [2, 8, 4], [2], [8], [4]]


async def test_any_other_failure_is_every_request_s_answer_and_nothing_runs_again():
    """After a failed commit the rows may exist (deciding again could reserve twice), and a database
    that is down would make every retry wait too: no retry."""
    rec = Recorder(fail_when=lambda asks: 8 in asks, alone=False)
    answers = await second_batch_of(rec, (2, 8, 4))
    assert all(isinstance(a, RuntimeError) for a in answers), answers
    assert rec.batches == [[0], [2, 8, 4]]


async def test_a_refusal_nobody_waits_for_goes_to_on_unclaimed():
    rec = Recorder()
    rec.gate.clear()
    unclaimed: list[tuple[int, str]] = []
    batches = Batches(rec.run, on_unclaimed=lambda ask, exc: unclaimed.append((ask, str(exc))))
    gone = [asyncio.create_task(batches.submit(n)) for n in (3, 4)]
    await asyncio.sleep(0)
    for task in gone:
        task.cancel()
    await asyncio.sleep(0)
    rec.gate.set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert unclaimed == [(3, "odd 3")]  # 4 was reserved: its run owns it; 3's refusal is on record


async def test_a_runner_cancelled_during_the_one_by_one_retry_leaves_no_caller_waiting():
    """(Found by review: the rest of the batch was neither queued nor answered, so its callers hung.)"""
    single_running = asyncio.Event()

    async def run(asks):
        if len(asks) > 1:
            raise RetryAlone(RuntimeError("the insert was refused"))
        single_running.set()
        await asyncio.sleep(10)
        return list(asks)

    runners: list[asyncio.Task] = []
    batches = Batches(run, on_task=runners.append)
    callers = [asyncio.create_task(batches.submit(n)) for n in (1, 2, 3)]
    await asyncio.wait_for(single_running.wait(), 1)
    runners[0].cancel()
    _, pending = await asyncio.wait(callers, timeout=1)
    assert not pending, f"{len(pending)} caller(s) hang forever"


def test_a_runner_left_behind_by_a_stopped_loop_does_not_block_the_next_loop():
    """(Found by review: a runner pending on a loop that stopped kept every later submit waiting.)"""
    block = {"on": True}

    async def run(asks):
        if block["on"]:
            await asyncio.sleep(3600)
        return list(asks)

    batches = Batches(run)
    loop_a = asyncio.new_event_loop()
    with contextlib.suppress(TimeoutError):
        loop_a.run_until_complete(asyncio.wait_for(batches.submit(1), 0.05))
    block["on"] = False

    async def later():
        return await asyncio.wait_for(batches.submit(2), 1.0)

    try:
        assert asyncio.run(later()) == 2
    finally:
        loop_a.close()


async def test_the_record_of_batch_sizes_is_bounded():
    batches = Batches(lambda asks: asyncio.sleep(0, result=list(asks)))
    for n in range(1200):
        await batches.submit(n)
    assert len(batches.batch_sizes) == 1000


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
    assert list(batches.batch_sizes) == [2, 2, 1]


async def test_a_run_that_answers_wrongly_fails_its_requests_instead_of_leaving_them_waiting():
    async def short(asks):
        return [1] if len(asks) > 1 else []

    batches = Batches(short)
    tasks = [asyncio.create_task(batches.submit(n)) for n in (1, 2)]
    answers = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 1.0)
    assert all(isinstance(a, RuntimeError) for a in answers), answers
