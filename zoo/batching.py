"""Dynamic batching for `zoo serve`: requests that arrive together share one `predict` call.

Requests wait in a queue while the model works; when it is free it takes every request waiting
(up to `max_batch_size`, after up to `timeout` seconds for more when fewer wait), groups them by
their predict options, and runs one forward pass per group in its own thread, so the server goes
on reading requests meanwhile. A lone request is never held back when `timeout` is 0, and a batch
that fails on one request's input is run again request by request, so only that request fails.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from zoo.errors import ZooError

Predict = Callable[[Any, dict[str, Any]], Sequence[Any]]  # (inputs, options) -> one output per input


@dataclass
class Pending:
    """A request's inputs and options, and the future its outputs go to."""

    inputs: Any  # a list, or a tensor whose rows are the inputs
    options: dict[str, Any]
    answer: asyncio.Future[Sequence[Any]] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    @property
    def group(self) -> str:
        return json.dumps(self.options, sort_keys=True, default=str)


class Batcher:
    """Runs `predict` on batches of waiting requests; `await batcher.predict(inputs, options)`."""

    def __init__(self, predict: Predict, max_batch_size: int, timeout: float) -> None:
        self._predict = predict
        self.max_batch_size = max_batch_size
        self.timeout = timeout
        self._queue: asyncio.Queue[Pending] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zoo-predict")  # one model, one forward pass at a time
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # forward passes run, for /info and the benchmark
        self.requests = 0

    async def predict(self, inputs: Any, options: dict[str, Any]) -> Sequence[Any]:
        """The outputs of `predict(inputs, **options)`, computed with other requests' inputs."""
        if self._task is None:  # the first request starts the loop that batches, on the server's event loop
            self._task = asyncio.get_running_loop().create_task(self._run())
        pending = Pending(inputs, options)
        await self._queue.put(pending)
        return await pending.answer

    async def _run(self) -> None:
        while True:
            batch = await self._gather()
            groups: dict[str, list[Pending]] = {}
            for pending in batch:
                groups.setdefault(pending.group, []).append(pending)
            for group in groups.values():
                await self._answer(group)

    async def _gather(self) -> list[Pending]:
        """The first waiting request and those behind it, waiting up to `timeout` for more."""
        batch = [await self._queue.get()]
        deadline = time.monotonic() + self.timeout
        while len(batch) < self.max_batch_size:
            if not self._queue.empty():
                batch.append(self._queue.get_nowait())
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), left))
            except TimeoutError:
                break
        return batch

    async def _answer(self, group: list[Pending]) -> None:
        loop = asyncio.get_running_loop()
        group = [pending for pending in group if not pending.answer.cancelled()]  # its client went away
        if not group:
            return
        try:
            outputs = await loop.run_in_executor(self._executor, self._predict_together, group)
        except Exception as error:
            if len(group) > 1 and isinstance(error, ZooError):  # one request's input: find whose
                for pending in group:
                    await self._answer([pending])
                return
            for pending in group:
                if not pending.answer.done():
                    pending.answer.set_exception(error)
            return
        for pending, output in zip(group, outputs):
            if not pending.answer.done():
                pending.answer.set_result(output)

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


def _joined(parts: list[Any]) -> Any:
    """Requests' inputs as one: lists concatenated, tensors (rows are inputs) stacked."""
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], list):
        return [item for part in parts for item in part]
    import torch

    return torch.cat(parts)
