"""What a task's data builder returns, and the loaders every task shares."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Sized
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler, SequentialSampler


@dataclass
class DataBundle:
    """Datasets of a run plus `info`: the JSON-able facts a model needs again at load time
    (feature names, label names, normalization statistics). `notes` are told to the user and
    kept in the model card; `machine_notes` (workers, the data cache) are told only."""

    train: Dataset
    val: Dataset
    info: dict[str, Any]
    test: Dataset | None = None
    notes: list[str] = field(default_factory=list)
    machine_notes: list[str] = field(default_factory=list)


_reused: ContextVar[dict[str, Any] | None] = ContextVar("reused", default=None)


@contextmanager
def reusing(info: dict[str, Any] | None) -> Iterator[None]:
    """Data builders called inside rebuild the data of a run that has begun (resumed, or
    joined by another device's process) and reuse what its first build learned."""
    token = _reused.set(info)
    try:
        yield
    finally:
        _reused.reset(token)


def reused_info() -> dict[str, Any] | None:
    """The `info` a run's data was first built with, while `reusing` it; else None. A builder
    that learns from the data (a tokenizer, which another `tokenizers` version may learn
    differently) takes that from here, so token ids stay those of the checkpoint and agree
    across devices."""
    return _reused.get()


def class_names(labels: Iterable[str]) -> list[str]:
    """The distinct labels, in numeric order when all are integers, else alphabetical."""
    distinct = set(labels)
    if all(_is_integer(label) for label in distinct):
        return sorted(distinct, key=int)
    return sorted(distinct)


def _is_integer(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def epoch_seed(seed: int, epoch: int, *streams: int) -> int:
    """The seed of one epoch's randomness (of one `stream`: see below): a function of the
    run's seed and the epoch alone, so a resumed run draws what an uninterrupted one would."""
    import numpy as np

    return int(np.random.SeedSequence([seed, epoch, *streams]).generate_state(1, np.uint64)[0] >> 1)


SHUFFLE, PROCESS, WORKERS, BATCH_ORDER = range(1, 5)  # the streams: the rows' order, each process's RNGs, the loader's worker seeds, length batches' order


class EpochShuffle(RandomSampler):
    """A random order of the rows that depends on (seed, epoch) only. Lightning sets the epoch
    (`set_epoch`) before each training epoch, as it does for the DistributedSampler that
    replaces this on several devices."""

    def __init__(self, data_source: Sized, seed: int, epoch: int = 0) -> None:
        super().__init__(data_source)
        self.seed, self.epoch = seed, epoch

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        order = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch, SHUFFLE))
        permutation = torch.randperm(len(self.data_source), generator=order).numpy()
        for start in range(0, len(permutation), 1 << 16):  # Python ints a block at a time: millions of rows stay cheap
            yield from permutation[start : start + (1 << 16)].tolist()


AUTO_WORKERS_FROM = 10_000  # rows; below, starting worker processes costs more than they save
AUTO_WORKERS_AT_MOST = 8


MIN_STEPS_PER_EPOCH = 100  # data.batch_size null: small data trains in smaller batches, so an epoch has this many steps
MIN_CHOSEN_BATCH = 16  # ... in batches of no fewer rows than this


def batch_size_for(rows: int, largest: int) -> int:
    """data.batch_size when it is null: `largest` (data.max_batch_size), or for fewer rows than
    MIN_STEPS_PER_EPOCH batches of it, the batch that makes that many, at least MIN_CHOSEN_BATCH.
    (180 images in batches of 64 make 3 steps an epoch: too few for batch norm and the schedule.)"""
    return min(largest, max(MIN_CHOSEN_BATCH, math.ceil(rows / MIN_STEPS_PER_EPOCH)))


def usable_cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def worker_count(configured: int | None, rows: int) -> int:
    """data.num_workers, or when it is null: none for fewer than 10,000 rows, else one per CPU
    core this process may use beyond its own (shared by the processes of a node), at most 8."""
    if configured is not None:
        return configured
    if rows < AUTO_WORKERS_FROM:
        return 0
    per_process = usable_cores() // int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return max(0, min(AUTO_WORKERS_AT_MOST, per_process - 1))


def loader(dataset: Dataset, data_config: dict[str, Any], *, shuffle: bool, seed: int = 0, epoch: int = 0) -> DataLoader:
    """A DataLoader with the run's batch size and workers. A shuffled (training) loader takes
    each epoch's order from (seed, epoch) (`EpochShuffle`; `epoch` is the one it starts at),
    draws its workers' seeds from a generator that `zoo.trainer.EpochSeeds` seeds for each
    epoch, and starts its workers anew each epoch, so no random state outlives an epoch. A
    training epoch drops a last batch of one row, which batch norm cannot train on. A dataset
    whose items do not stack (images of different sizes, box lists, texts) brings its own
    `collate`; one with `lengths` (texts) is batched by length (`zoo.text.LengthBatches`)."""
    workers = worker_count(data_config["num_workers"], len(dataset))  # type: ignore[arg-type]
    batch_size = data_config["batch_size"]
    drop_last = shuffle and len(dataset) > batch_size and len(dataset) % batch_size == 1  # type: ignore[arg-type]
    sampler = EpochShuffle(dataset, seed, epoch) if shuffle else SequentialSampler(dataset)
    batching: dict[str, Any] = {"sampler": sampler, "batch_size": batch_size, "drop_last": drop_last}
    if hasattr(dataset, "lengths"):
        from zoo.text import LengthBatches

        batching = {"batch_sampler": LengthBatches(sampler, batch_size, drop_last)}
    return DataLoader(
        dataset,
        num_workers=workers,
        persistent_workers=workers > 0 and not shuffle,
        generator=torch.Generator().manual_seed(epoch_seed(seed, epoch, WORKERS)) if shuffle else None,
        pin_memory=torch.cuda.is_available(),
        collate_fn=getattr(dataset, "collate", None),
        **batching,
    )
