"""zoo.batching.Batcher on its own: requests that wait together share a predict call, each gets
its own outputs, and a failing call fails only the requests it should."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from zoo.batching import Batcher, Busy
from zoo.errors import ZooError


class Recorder:
    """A predict that doubles numbers, slowly enough for requests to queue, and records its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[int], dict]] = []
        self.threads: set[str] = set()

    def __call__(self, inputs: list[int], options: dict) -> list[int]:
        self.calls.append((list(inputs), options))
        self.threads.add(threading.current_thread().name)
        time.sleep(0.01)
        if any(x < 0 for x in inputs):
            raise ZooError("negative input")
        if any(x == 9999 for x in inputs):
            raise RuntimeError("unlucky")
        return [2 * x + options.get("add", 0) for x in inputs]


async def many(batcher: Batcher, requests: list[tuple[list[int], dict]]) -> list:
    return await asyncio.gather(*(batcher.predict(inputs, options) for inputs, options in requests), return_exceptions=True)


def test_waiting_requests_share_a_call_and_each_gets_its_own_outputs():
    predict = Recorder()
    batcher = Batcher(predict, max_batch_size=8, timeout=0.0)
    answers = asyncio.run(many(batcher, [([i, i + 100], {}) for i in range(40)]))
    assert answers == [[2 * i, 2 * i + 200] for i in range(40)]
    assert len(predict.calls) < 40 and max(len(inputs) for inputs, _ in predict.calls) <= 16  # 8 requests of 2 inputs
    assert predict.threads == {"zoo-predict"} and (batcher.requests, batcher.batches) == (40, len(predict.calls))


def test_requests_with_different_options_are_not_mixed():
    predict = Recorder()
    answers = asyncio.run(many(Batcher(predict, 32, 0.05), [([i], {"add": i % 2}) for i in range(10)]))
    assert answers == [[2 * i + i % 2] for i in range(10)]
    assert all(len({x % 2 for x in inputs}) == 1 and options == {"add": inputs[0] % 2} for inputs, options in predict.calls)


def test_a_bad_input_fails_alone_and_an_error_fails_its_batch_but_not_the_server():
    predict = Recorder()
    batcher = Batcher(predict, 32, 0.05)
    answers = asyncio.run(many(batcher, [([1], {}), ([-1], {}), ([3], {})]))
    assert answers[0] == [2] and answers[2] == [6] and isinstance(answers[1], ZooError)
    answers = asyncio.run(many(batcher, [([9999], {})]))
    assert isinstance(answers[0], RuntimeError)
    assert asyncio.run(many(batcher, [([5], {})])) == [[10]]  # the thread lives on, from another event loop too


def test_a_lone_request_waits_at_most_the_timeout():
    batcher = Batcher(Recorder(), 32, 0.2)
    started = time.perf_counter()
    assert asyncio.run(many(batcher, [([1], {})])) == [[2]]
    assert 0.2 <= time.perf_counter() - started < 2.0


@pytest.mark.parametrize("timeout", [0.0, 0.05])
def test_a_cancelled_request_is_skipped(timeout):
    predict = Recorder()
    batcher = Batcher(predict, 1, timeout)

    async def main() -> list:
        first = asyncio.ensure_future(batcher.predict([1], {}))
        second = asyncio.ensure_future(batcher.predict([2], {}))
        await asyncio.sleep(0)
        second.cancel()
        return [await first, await batcher.predict([3], {})]

    assert asyncio.run(main()) == [[2], [6]]
    assert [inputs for inputs, _ in predict.calls] in ([[1], [3]], [[1], [2], [3]])  # [2] may have started before the cancel


def test_more_requests_than_may_wait_are_busy_and_the_rest_answered():
    predict = Recorder()
    batcher = Batcher(predict, 1, 0.0, max_waiting=3)
    answers = asyncio.run(many(batcher, [([i], {}) for i in range(8)]))
    busy = [a for a in answers if isinstance(a, Busy)]
    assert busy and "requests wait for the model" in str(busy[0])
    assert all(a == [2 * i] for i, a in enumerate(answers) if not isinstance(a, Busy)) and len(answers) - len(busy) >= 3
    assert asyncio.run(many(batcher, [([5], {})])) == [[10]]
