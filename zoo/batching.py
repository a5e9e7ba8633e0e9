"""Dynamic batching for `zoo serve`: requests that arrive together share one `predict` call.

The server's event loop puts each request in a queue and awaits its answer; one predict thread
takes every request waiting (up to `max_batch_size`, after up to `timeout` seconds for more when
fewer wait), groups them by their predict options, and runs one forward pass per group, while
the event loop reads requests and writes answers. A lone request is never held back when
`timeout` is 0; a batch that fails on one request's input is run again request by request, so
only that request fails; and a thread that dies (SystemExit in a model's code) is started again
by the next request.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from zoo.errors import ZooError

Predict = Callable[[Any, dict[str, Any]], Sequence[Any]]  # (inputs, options) -> one output per input


class Busy(Exception):
    """More requests wait than the batcher takes: the caller should come back later (HTTP 503)."""


@dataclass
class Pending:
    """A request's inputs and options, and the future on the server's event loop its outputs go to."""

    inputs: Any  # a list, or a tensor whose rows are the inputs
    options: dict[str, Any]
    answer: asyncio.Future[Sequence[Any]]
    alone: bool  # its options hold a value per input: it shares no forward pass

    @property
    def group(self) -> str:
        return f"alone {id(self)}" if self.alone else json.dumps(self.options, sort_keys=True, default=str)


class Batcher:
    """Runs `predict` on batches of waiting requests; `await batcher.predict(inputs, options)`
    from the server's event loop (one loop per batcher)."""

    def __init__(self, predict: Predict, max_batch_size: int, timeout: float, max_waiting: int = 1024) -> None:
        self._predict = predict
        self.max_batch_size = max_batch_size
        self.timeout = timeout
        self.max_waiting = max_waiting
        self._waiting: queue.SimpleQueue[Pending] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.batches = 0  # forward passes run, for /info and the benchmark
        self.requests = 0

    async def predict(self, inputs: Any, options: dict[str, Any], alone: bool = False) -> Sequence[Any]:
        """The outputs of `predict(inputs, **options)`, computed with other requests' inputs
        that have the same options (unless `alone`). Busy when `max_waiting` requests wait already."""
        if self._thread is None or not self._thread.is_alive():  # the first request starts it (a server may never get one)
            self._thread = threading.Thread(target=self._run, name="zoo-predict", daemon=True)
            self._thread.start()
        if self._waiting.qsize() >= self.max_waiting:
            raise Busy(f"the server is busy: {self._waiting.qsize()} requests wait for the model")
        pending = Pending(inputs, options, asyncio.get_running_loop().create_future(), alone)
        self._waiting.put(pending)
        return await pending.answer

    def _run(self) -> None:
        """The predict thread: batch after batch, for as long as the process lives."""
        while True:
            groups: dict[str, list[Pending]] = {}
            for pending in self._gather():
                groups.setdefault(pending.group, []).append(pending)
            for group in groups.values():
                self._answer(group)

    def _gather(self) -> list[Pending]:
        """The first waiting request and those behind it, waiting up to `timeout` for more."""
        batch = [self._waiting.get()]
        deadline = time.monotonic() + self.timeout
        while len(batch) < self.max_batch_size:
            try:
                batch.append(self._waiting.get_nowait())
                continue
            except queue.Empty:
                left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(self._waiting.get(timeout=left))
            except queue.Empty:
                break
        return batch

    def _answer(self, group: list[Pending]) -> None:
        group = [pending for pending in group if not pending.answer.done()]  # a cancelled one: its client went away
        if not group:
            return
        try:
            outputs = self._predict_together(group)
        except Exception as error:
            if len(group) > 1 and isinstance(error, ZooError):  # one request's input: find whose
                for pending in group:
                    self._answer([pending])
                return
            self._settle(group, [error] * len(group))
            return
        except BaseException as error:  # SystemExit from a model's code: its requests fail, the next request starts a new thread
            self._settle(group, [RuntimeError(f"predict stopped: {error!r}")] * len(group))
            raise
        self._settle(group, outputs)

    def _predict_together(self, group: list[Pending]) -> list[Sequence[Any]]:
        """One `predict` call on the group's inputs, its outputs split back by request."""
        counts = [len(pending.inputs) for pending in group]
        inputs = _joined([pending.inputs for pending in group])
        outputs = self._predict(inputs, group[0].options)
        if len(outputs) != sum(counts):
            raise RuntimeError(f"predict returned {len(outputs)} outputs for {sum(counts)} inputs")
        self.batches += 1
        self.requests += len(group)
        parts, start = [], 0
        for count in counts:
            parts.append(outputs[start : start + count])
            start += count
        return parts

    def _settle(self, group: list[Pending], answers: list[Sequence[Any] | Exception]) -> None:
        """Hands the answers (outputs, or the error each raised) to the event loop, one call a batch."""

        def settle() -> None:
            for pending, answer in zip(group, answers):
                if pending.answer.done():
                    continue
                if isinstance(answer, Exception):
                    pending.answer.set_exception(answer)
                else:
                    pending.answer.set_result(answer)

        try:
            group[0].answer.get_loop().call_soon_threadsafe(settle)
        except RuntimeError:  # the loop is closed: the server stopped, nobody waits for these answers
            pass


def _joined(parts: list[Any]) -> Any:
    """Requests' inputs as one: lists concatenated, tensors (rows are inputs) stacked."""
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], list):
        return [item for part in parts for item in part]
    import torch

    return torch.cat(parts)
