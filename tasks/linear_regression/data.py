"""Numeric tables for regression: any table `zoo.tables` reads, or the embedded demo, split and
standardized. Columns become float32 arrays in the data cache, memory-mapped, so millions of
rows cost the arrays' size and no more.

Cells must be numbers; anything else stops with the file, line and column named.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from zoo import cache, splits, tables
from zoo.data import DataBundle
from zoo.errors import ZooError

# The classic first example: y = 2x, and the question "what is y at x = 4?".
DEMO_COLUMNS = ["x", "y"]
DEMO_ROWS = [[1, 2], [2, 4], [3, 6]]
DEMO_QUESTIONS = [[4]]
MIN_ROWS_TO_SPLIT = 10  # below this, validation uses the training rows
SLICE = 1 << 20  # rows summed at a time


class Rows(Dataset):
    """(features (F,), target ()) of some rows of two arrays (memory-mapped from the cache, or
    in memory); a batch is gathered in one step (`__getitems__`), and the pages it read are
    unmapped after (`zoo.cache.release`)."""

    def __init__(self, x: Any, y: Any, rows: Any = None, mappings: tuple[Any, ...] = ()) -> None:
        self.x, self.y, self.mappings = x, y, mappings
        self.indices = np.arange(len(x)) if rows is None else rows

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        rows = self.indices[indices]
        batch = list(zip(torch.from_numpy(np.array(self.x[rows])), torch.from_numpy(np.array(self.y[rows]))))
        self.release()
        return batch

    def release(self) -> None:
        for mapping in self.mappings:
            cache.release(mapping)

    def at(self, rows: Any) -> Rows:
        """These arrays at other rows."""
        return Rows(self.x, self.y, rows, self.mappings)


@dataclass(frozen=True)
class Header:
    """A table's name and columns, before its rows are read (what `choose_columns` looks at)."""

    source: str
    columns: list[str]


Numbers = Callable[[Header], list[str]] | list[str]  # the columns whose cells must be numbers


def read_table(path: Path, numbers: Numbers | None = None) -> tables.Table:
    """A table with a header naming every column once and at least one row. `numbers` names the
    columns that must hold numbers (or chooses them from the header, as `chosen` does): when the
    file has rows of the wrong length, their bad cells are named in the same error."""
    if not path.exists():
        raise ZooError(f"data file {path} does not exist", "pass --data a CSV file with a header row")
    if path.is_dir():
        raise ZooError(f"{path} is a folder", "pass --data a CSV file with a header row")
    table = tables.read_table(path, None if numbers is None else _number_cells(str(path), numbers))
    if "" in table.columns:
        raise ZooError(f"{path}:1: column {table.columns.index('') + 1} of the header has no name", "name every column")
    if not len(table):
        raise ZooError(f"{path} has a header but no data rows")
    return table


def demo_table() -> tables.Table:
    return tables.in_memory("the demo data", {name: [row[i] for row in DEMO_ROWS] for i, name in enumerate(DEMO_COLUMNS)})


def chosen(target: str | None, features: str | list[str] | None) -> Callable[[Header], list[str]]:
    """The columns `choose_columns` reads from a header (the features, then the target)."""

    def columns(header: Header) -> list[str]:
        features_, target_ = choose_columns(header, target, features)
        return [*features_, target_]

    return columns


def _number_cells(source: str, numbers: Numbers) -> tables.CellCheck:
    """For `tables.read_table`: given a header, the check that a row's cells in the columns
    `numbers` names are finite numbers (`_number`), worded as the check of a read table words
    them (`_cell_problem`); no check when the header lacks those columns: that is said once the
    table is read."""

    def check(names: list[str]) -> tables.RowCheck | None:
        try:
            columns = numbers(Header(source, names)) if callable(numbers) else numbers
        except ZooError:
            return None
        if not set(columns) <= set(names):
            return None
        at = [(column, names.index(column)) for column in columns]

        def row(cells: Any) -> str | None:
            return "; ".join(_cell_problem(column, cells[index]) for column, index in at if not math.isfinite(_number(cells[index]))) or None

        return row

    return check


def choose_columns(table: tables.Table | Header, target: str | None, features: str | list[str] | None) -> tuple[list[str], str]:
    """(feature columns, target column): the target defaults to the last column and the
    features to every other column."""
    target = str(target) if target is not None else table.columns[-1]
    require_columns(table, [target], role="target")
    if features is None:
        chosen = [c for c in table.columns if c != target]
    else:
        chosen = [f.strip() for f in features.split(",")] if isinstance(features, str) else [str(f) for f in features]
        require_columns(table, chosen, role="feature")
        if len(set(chosen)) != len(chosen):
            raise ZooError(f"data.features names a column twice: {', '.join(chosen)}")
    if target in chosen:
        raise ZooError(f"column {target!r} is both the target and a feature", "drop it from data.features")
    if not chosen:
        raise ZooError(f"{table.source}: no feature columns besides the target {target!r}", "add a column of inputs")
    return chosen, target


def require_columns(table: tables.Table | Header, names: list[str], role: str) -> None:
    """Each of `names` is a column of `table`; `role` is "feature" (data.features) or "target" (data.target)."""
    key = "data.features" if role == "feature" else "data.target"
    for name in names:
        if name not in table.columns:
            raise tables.absent_column(table.source, name, key, table.columns)


def numbers(table: tables.Table, columns: list[str]) -> tuple[Any, Any]:
    """(the named columns as a float32 matrix (rows, columns), memory-mapped from the cache; its
    map); every cell must be a finite number. Made in one pass over the table's batches; the
    bad rows are named together (`tables.Problems`)."""
    name = cache.key("numbers", table.digest, columns)
    file = cache.entry("arrays", name) / "values.npy"
    if not file.is_file():
        with cache.writing("arrays", name) as partial:
            values = np.lib.format.open_memmap(partial / "values.npy", mode="w+", dtype=np.float32, shape=(len(table), len(columns)))
            problems = tables.Problems(table)
            for start, batch in table.batches(columns):
                parsed = np.stack([_column_numbers(column) for column in batch.columns], axis=1)
                values[start : start + batch.num_rows] = parsed
                bad = ~np.isfinite(parsed)
                problems.add((np.flatnonzero(bad.any(axis=1)) + start).tolist(), lambda row: _row_problem(columns, batch, bad[row - start], row - start))
            problems.check("fix or remove that row", "fix or remove those rows")
            values.flush()
            del values
    return cache.mapped_array(file)


def _column_numbers(cells: Any) -> Any:
    """Cells as float64 numbers, parsed as a whole (as Python reads numbers where Arrow cannot):
    NaN where a cell is not a number."""
    import pyarrow as pa

    try:
        return _floats(cells).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return np.array([_number(cell) for cell in cells.to_pylist()])


def _row_problem(columns: list[str], batch: Any, bad: Any, row: int) -> str:
    """What is wrong with row `row` of `batch`, whose columns `bad` marks."""
    return "; ".join(_cell_problem(columns[index], batch.column(int(index))[row].as_py()) for index in np.flatnonzero(bad))


def _cell_problem(column: str, value: Any) -> str:
    """What is wrong with a cell of `column` that is not a finite number."""
    cell = "" if value is None else str(value).strip()
    return f"column {column!r} {'is empty' if not cell else f'holds {cell!r}, not a number'}"


def _floats(cells: Any) -> Any:
    """Cells as float64 by Arrow's parser (which, unlike float(), reads no 1_000); text with
    spaces around a number is trimmed first."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return pc.cast(cells, pa.float64())
    except pa.ArrowInvalid:
        if not pa.types.is_string(cells.type):
            raise
        return pc.cast(pc.utf8_trim_whitespace(cells), pa.float64())


def _number(cell: Any) -> float:
    """A cell as a number; NaN when it is none (empty, words, or 1_000, which float() reads)."""
    if cell is None or isinstance(cell, bool):
        return math.nan
    text = str(cell).strip()
    try:
        return float(text) if "_" not in text else math.nan
    except ValueError:
        return math.nan


def labelled(table: tables.Table, features: list[str], target: str, rows: Any = None) -> Rows:
    """Features and target of a table with at least two rows (R² needs two)."""
    require_columns(table, features, role="feature")
    require_columns(table, [target], role="target")
    if len(table) < 2:
        raise ZooError(f"{table.source} has {len(table)} row of data", "regression needs at least 2 rows")
    values, mapping = numbers(table, [*features, target])  # one pass, so every bad cell is named at once
    return Rows(values[:, :-1], values[:, -1], rows, (mapping,))


def statistics(data: Rows) -> tuple[Any, Any, float, float]:
    """(feature means, feature standard deviations, target mean, target standard deviation) of
    the rows of `data`, summed in float64 a slice at a time; a constant column has deviation 1."""
    width = data.x.shape[1]
    total, squares, y_total, y_squares = np.zeros(width), np.zeros(width), 0.0, 0.0
    for start in range(0, len(data.indices), SLICE):
        rows = data.indices[start : start + SLICE]
        x, y = np.asarray(data.x[rows], np.float64), np.asarray(data.y[rows], np.float64)
        data.release()
        total, squares = total + x.sum(0), squares + (x * x).sum(0)
        y_total, y_squares = y_total + y.sum(), y_squares + (y * y).sum()
    count = len(data.indices)
    x_mean, y_mean = total / count, y_total / count
    x_std = np.sqrt(np.maximum(squares / count - x_mean**2, 0))
    y_std = math.sqrt(max(y_squares / count - y_mean**2, 0))
    return x_mean, np.where(x_std > 0, x_std, 1.0), y_mean, y_std if y_std > 0 else 1.0


def build_data(config: dict[str, Any]) -> DataBundle:
    """Training and validation rows, and the standardization statistics of the training rows."""
    data = config["data"]
    table = demo_table() if data["path"] is None else read_table(Path(data["path"]), chosen(data["target"], data["features"]))
    features, target = choose_columns(table, data["target"], data["features"])
    every = labelled(table, features, target)
    notes = []
    if data["path"] is not None and data["target"] is None:
        notes.append(f"predicting {target!r}, the last column (--target chooses another)")
    if data["val_path"]:
        train, val = every, labelled(read_table(Path(data["val_path"]), [*features, target]), features, target)
    elif len(every) < MIN_ROWS_TO_SPLIT:
        train = val = every
        notes.append(f"only {len(every)} rows: validating on the training rows")
    else:
        train_rows, val_rows = splits.held_out(len(every), data["val_fraction"], config["seed"])
        train, val = every.at(train_rows), every.at(val_rows)
    test = labelled(read_table(Path(data["test_path"]), [*features, target]), features, target) if data["test_path"] else None
    x_mean, x_std, y_mean, y_std = statistics(train)
    info = {
        "features": features,
        "target": target,
        "x_mean": x_mean.tolist(),
        "x_std": x_std.tolist(),
        "y_mean": float(y_mean),
        "y_std": float(y_std),
        "rows": {"train": len(train), "val": len(val)},
        "examples": DEMO_QUESTIONS if data["path"] is None else [],
    }
    return DataBundle(train=train, val=val, test=test, info=info, notes=notes)
