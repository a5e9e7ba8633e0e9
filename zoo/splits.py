"""Splits, for every task: what a file, folder or `datasets` split named `dev` holds, which split
a path given as data.val_path or data.test_path contributes, and the seeded hold-out that makes
a validation split when the data has none.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
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


def held_out(size: int, fraction: float, seed: int, how: str = "random", labels: Sequence[int] | None = None) -> tuple[Any, Any]:
    """(training rows, validation rows) of `size` rows as sorted int64 arrays: `fraction` of them
    (at least one each side) chosen by a seeded shuffle, or the last ones with `how="last"`.
    With `labels` (a class index per row) the shuffle is stratified: each class gives its share
    (`class_shares`), so small data validates on every class it can."""
    import numpy as np
    import torch

    if size < 2:
        raise ZooError(f"{size} row(s): a validation split needs at least two", "add rows, or give data.val_path")
    val_size = min(size - 1, max(1, round(size * fraction)))
    if how == "last":
        return np.arange(size - val_size), np.arange(size - val_size, size)
    order = torch.randperm(size, generator=torch.Generator().manual_seed(seed)).numpy()
    if labels is None:
        return np.sort(order[val_size:]), np.sort(order[:val_size])
    shuffled = np.asarray(labels, dtype=np.int64)[order]
    _, first_seen, inverse, counts = np.unique(shuffled, return_index=True, return_inverse=True, return_counts=True)
    shares = class_shares(counts, val_size, first_seen)
    if not shares.any():  # no class has two rows: nothing can be held out by class
        return np.sort(order[val_size:]), np.sort(order[:val_size])
    by_class = np.argsort(inverse, kind="stable")  # positions in the shuffle, class by class
    rank = np.empty(size, dtype=np.int64)
    rank[by_class] = np.arange(size) - np.repeat(np.cumsum(counts) - counts, counts)  # each row's place within its class
    chosen = rank < shares[inverse]
    return np.sort(order[~chosen]), np.sort(order[chosen])


def class_shares(counts: Any, val_size: int, first_seen: Any) -> Any:
    """How many rows of each class (of `counts` rows) validate: `val_size` in all, in proportion
    to the classes' sizes, largest remainders first (ties: the class seen first in the shuffle,
    `first_seen`). A class keeps at least one training row, so a class of one validates none."""
    import numpy as np

    room = counts - 1
    ideal = counts * val_size / counts[room > 0].sum() if room.any() else np.zeros(len(counts))
    shares = np.minimum(np.floor(ideal).astype(np.int64), room)
    for index in np.lexsort((first_seen, -(ideal - np.floor(ideal)))):
        if shares.sum() >= val_size:
            break
        if shares[index] < room[index]:
            shares[index] += 1
    return shares


MIN_TRUSTED_VALIDATION = 50  # fewer rows: accuracy moves in steps of 2 points or more, and may be 14 or more off


def validation_note(targets: Sequence[int], classes: int, noun: str) -> str | None:
    """The run note when a classifier's validation rows (`targets`: class indices) are too few
    to trust: fewer than MIN_TRUSTED_VALIDATION, or some of the `classes` without a row. The
    margin said is the 95% interval of an accuracy near 50% (1.96 * sqrt(0.25 / rows))."""
    size, covered = len(targets), len(set(targets))
    problems = []
    if size < MIN_TRUSTED_VALIDATION:
        problems.append(f"{size} {noun}, so accuracy moves in steps of {100 / size:.1f} points and may be {98 / math.sqrt(size):.0f} points off")
    if covered < classes:
        problems.append(f"they cover {covered} of the {classes} classes")
    if not problems:
        return None
    return f"validation is too small to trust: {'; '.join(problems)} (hold out more with data.val_fraction, or give data.val_path)"
