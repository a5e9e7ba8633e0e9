"""What a task's data builder returns, and the loaders every task shares."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset


@dataclass
class DataBundle:
    """Datasets of a run plus `info`: the JSON-able facts a model needs again at load time
    (feature names, label names, normalization statistics). `notes` are told to the user."""

    train: Dataset
    val: Dataset
    info: dict[str, Any]
    test: Dataset | None = None
    notes: list[str] = field(default_factory=list)


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
    that learns from the data in a way that can come out differently (a WordPiece tokenizer:
    its training breaks ties in no fixed order) takes that from here, so token ids stay those
    of the checkpoint and agree across devices."""
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


def split_indices(size: int, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """A seeded shuffle of range(size) cut into (train, val) with at least one row each."""
    order = torch.randperm(size, generator=torch.Generator().manual_seed(seed)).tolist()
    val_size = min(size - 1, max(1, round(size * val_fraction)))
    return sorted(order[val_size:]), sorted(order[:val_size])


def loader(dataset: Dataset, data_config: dict[str, Any], *, shuffle: bool, seed: int = 0) -> DataLoader:
    """A DataLoader with the run's batch size and workers; shuffling is seeded. A training
    epoch drops a last batch of one row, which batch norm cannot train on. A dataset whose
    items do not stack (images of different sizes, box lists, texts) brings its own `collate`;
    one with `lengths` (texts) is batched by length (`zoo.text.LengthBatches`)."""
    from torch.utils.data import RandomSampler, SequentialSampler

    workers = data_config["num_workers"]
    batch_size = data_config["batch_size"]
    drop_last = shuffle and len(dataset) > batch_size and len(dataset) % batch_size == 1  # type: ignore[arg-type]
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    batching: dict[str, Any] = {"batch_size": batch_size, "shuffle": shuffle, "drop_last": drop_last, "generator": generator}
    if hasattr(dataset, "lengths"):
        from zoo.text import LengthBatches

        sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        batching = {"batch_sampler": LengthBatches(sampler, batch_size, drop_last)}
    return DataLoader(
        dataset,
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=torch.cuda.is_available(),
        collate_fn=getattr(dataset, "collate", None),
        **batching,
    )
