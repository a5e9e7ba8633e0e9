"""Numeric tables for regression: a CSV/TSV file or the embedded demo, split and standardized.

Cells must be numbers; anything else stops with the file, line and column named.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import TensorDataset

from zoo.data import DataBundle, split_indices
from zoo.errors import ZooError, did_you_mean
from zoo.files import read_text

# The classic first example: y = 2x, and the question "what is y at x = 4?".
DEMO_COLUMNS = ["x", "y"]
DEMO_ROWS = [[1, 2], [2, 4], [3, 6]]
DEMO_QUESTIONS = [[4]]
MIN_ROWS_TO_SPLIT = 10  # below this, validation uses the training rows


@dataclass
class Table:
    source: str  # the file, as named in messages
    columns: list[str]
    rows: list[list[str]]
    lines: list[int]  # the file line of each row


def read_table(path: Path) -> Table:
    """A CSV (or .tsv) file with a header row, checked for shape."""
    if not path.exists():
        raise ZooError(f"data file {path} does not exist", "pass --data a CSV file with a header row")
    if path.is_dir():
        raise ZooError(f"{path} is a folder", "pass --data a CSV file with a header row")
    text = read_text(path)
    reader = csv.reader(io.StringIO(text), delimiter=separator(path, text), strict=True)
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append(row)
                lines.append(reader.line_num)
    except csv.Error as error:
        raise ZooError(f"{path}:{reader.line_num}: malformed CSV ({error})") from None
    if not rows:
        raise ZooError(f"{path} is empty", "it needs a header row and at least one row of numbers")
    columns = [cell.strip() for cell in rows[0]]
    if "" in columns:
        raise ZooError(f"{path}:{lines[0]}: column {columns.index('') + 1} of the header has no name", "name every column")
    if len(set(columns)) != len(columns):
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        raise ZooError(f"{path}:{lines[0]}: the header repeats column {repeated[0]!r}", "give each column its own name")
    for row, line in zip(rows[1:], lines[1:]):
        if len(row) != len(columns):
            raise ZooError(f"{path}:{line}: {len(row)} cells, but the header has {len(columns)} columns")
    if len(rows) == 1:
        raise ZooError(f"{path} has a header but no data rows")
    return Table(str(path), columns, rows[1:], lines[1:])


def separator(path: Path, text: str) -> str:
    """Tab for .tsv; otherwise whichever of , ; and tab the header uses most (comma when none)."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    header = text.split("\n", 1)[0]
    return max((",", ";", "\t"), key=header.count) if any(c in header for c in ",;\t") else ","


def demo_table() -> Table:
    return Table("the demo data", DEMO_COLUMNS, [[str(v) for v in row] for row in DEMO_ROWS], [2, 3, 4])


def choose_columns(table: Table, target: str | None, features: str | list[str] | None) -> tuple[list[str], str]:
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


def require_columns(table: Table, names: list[str], role: str) -> None:
    for name in names:
        if name not in table.columns:
            hint = did_you_mean(name, table.columns) or f"its columns are: {', '.join(table.columns)}"
            raise ZooError(f"{table.source} has no {role} column {name!r}", hint)


def numbers(table: Table, columns: list[str]) -> torch.Tensor:
    """The named columns as a float32 matrix; every cell must be a finite number."""
    indices = [table.columns.index(c) for c in columns]
    values: list[list[float]] = []
    for row, line in zip(table.rows, table.lines):
        parsed = []
        for index, column in zip(indices, columns):
            cell = row[index].strip()
            try:
                value = float(cell) if "_" not in cell else math.nan  # float() would read 1_000
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                what = "is empty" if not cell else f"holds {cell!r}, not a number"
                raise ZooError(f"{table.source}:{line}: column {column!r} {what}", "fix or remove that row")
            parsed.append(value)
        values.append(parsed)
    return torch.tensor(values, dtype=torch.float32)


def labelled(table: Table, features: list[str], target: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Features and target of a table with at least two rows (R² needs two)."""
    require_columns(table, features, role="feature")
    require_columns(table, [target], role="target")
    if len(table.rows) < 2:
        raise ZooError(f"{table.source} has {len(table.rows)} row of data", "regression needs at least 2 rows")
    return numbers(table, features), numbers(table, [target])[:, 0]


def build_data(config: dict[str, Any]) -> DataBundle:
    """Training and validation tensors, and the standardization statistics of the training rows."""
    data = config["data"]
    if not 0 < data["val_fraction"] < 1:
        raise ZooError(f"data.val_fraction must be between 0 and 1, not {data['val_fraction']}")
    table = demo_table() if data["path"] is None else read_table(Path(data["path"]))
    features, target = choose_columns(table, data["target"], data["features"])
    x, y = labelled(table, features, target)
    notes = []
    if data["path"] is not None and data["target"] is None:
        notes.append(f"predicting {target!r}, the last column (--target chooses another)")
    if data["val_path"]:
        train, val = (x, y), labelled(read_table(Path(data["val_path"])), features, target)
    elif len(x) < MIN_ROWS_TO_SPLIT:
        train = val = (x, y)
        notes.append(f"only {len(x)} rows: validating on the training rows")
    else:
        train_rows, val_rows = split_indices(len(x), data["val_fraction"], config["seed"])
        train, val = (x[train_rows], y[train_rows]), (x[val_rows], y[val_rows])
    test = labelled(read_table(Path(data["test_path"])), features, target) if data["test_path"] else None
    x_train, y_train = train
    x_std = x_train.std(dim=0, correction=0)
    y_std = y_train.std(correction=0)
    info = {
        "features": features,
        "target": target,
        "x_mean": x_train.mean(dim=0).tolist(),
        "x_std": torch.where(x_std > 0, x_std, torch.ones_like(x_std)).tolist(),
        "y_mean": y_train.mean().item(),
        "y_std": y_std.item() if y_std > 0 else 1.0,
        "rows": {"train": len(x_train), "val": len(val[0])},
        "examples": DEMO_QUESTIONS if data["path"] is None else [],
    }
    return DataBundle(
        train=TensorDataset(*train),
        val=TensorDataset(*val),
        test=TensorDataset(*test) if test else None,
        info=info,
        notes=notes,
    )
