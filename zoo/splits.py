"""Splits, for every task: what a file, folder or `datasets` split named `dev` holds, which split
a path given as data.val_path or data.test_path contributes, and the seeded hold-out that makes
a validation split when the data has none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from zoo.errors import ZooError

SPLITS = ("train", "val", "test")
NAMES = {"train": ("train", "training"), "val": ("validation", "val", "valid", "dev"), "test": ("test", "testing")}
HOLD_OUTS = ("random", "last")

Split = TypeVar("Split")


def split_named(name: str) -> str | None:
    """The split that a file stem, folder or `datasets` split called `name` holds ("dev" and
    "validation" are "val"), or None when the name is none of them."""
    lowered = name.strip().lower()
    return next((split for split, names in NAMES.items() if lowered in names), None)


def split_mentioned(name: str) -> str | None:
    """The split whose name occurs in `name` ("instances_val2017" holds "val"), train first."""
    lowered = name.lower()
    return next((split for split, names in NAMES.items() if any(word in lowered for word in names)), None)


def by_split(named: Mapping[str, Split], where: str) -> dict[str, Split]:
    """The items of `named` (keyed by file stem, folder or split name) under the split each
    holds; names that are no split are left out, two for one split is an error."""
    found: dict[str, tuple[str, Split]] = {}
    for name, item in named.items():
        split = split_named(name)
        if split is None:
            continue
        if split in found:
            raise ZooError(f"{where} has two {split} splits: {found[split][0]} and {name}", "keep one, or pass --data the one to use")
        found[split] = (name, item)
    return {split: found[split][1] for split in SPLITS if split in found}


def one_split(found: Mapping[str, Split]) -> Split:
    """The part of data given as data.val_path or data.test_path that plays that role: its
    test split, else its validation split, else all of it."""
    return next(found[split] for split in ("test", "val", "train") if split in found)


def laid_over(found: dict[str, Split], data: Mapping[str, Any], read: Callable[[Path], Mapping[str, Split]]) -> dict[str, Split]:
    """`found` with data.val_path and data.test_path (read by `read`, by split) laid over."""
    for split, key in (("val", "val_path"), ("test", "test_path")):
        if data.get(key) is not None:
            found[split] = one_split(read(Path(data[key])))
    return found


def held_out(size: int, fraction: float, seed: int, how: str = "random") -> tuple[Any, Any]:
    """(training rows, validation rows) of `size` rows as sorted int64 arrays: `fraction` of them
    (at least one each side) chosen by a seeded shuffle, or the last ones with `how="last"`."""
    import numpy as np
    import torch

    if size < 2:
        raise ZooError(f"{size} row(s): a validation split needs at least two", "add rows, or give data.val_path")
    val_size = min(size - 1, max(1, round(size * fraction)))
    if how == "last":
        return np.arange(size - val_size), np.arange(size - val_size, size)
    order = torch.randperm(size, generator=torch.Generator().manual_seed(seed)).numpy()
    return np.sort(order[val_size:]), np.sort(order[:val_size])
