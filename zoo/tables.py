"""Tables of labelled rows, for every task that reads them: CSV, TSV, JSONL (each may be
gzipped), parquet, a `datasets` folder, or a folder of split files (`train.tsv.gz`, `dev.tsv`).

Every row remembers where it was read (`file:line`, `folder [split] row N`), so a bad cell can
be named. Cells keep the types the format gives them: text from CSV, any JSON value from JSONL.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import ZooError, did_you_mean
from zoo.files import first_line, json_kind, read_json, read_text, reading

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")
SPLIT_NAMES = {"train": ("train", "training"), "val": ("validation", "val", "valid", "dev"), "test": ("test", "testing")}


@dataclass
class Table:
    source: str  # the file or split, as named in messages
    columns: list[str]
    rows: list[dict[str, Any]]
    places: list[str]  # where each row was read

    def __len__(self) -> int:
        return len(self.rows)


def table_suffix(path: Path) -> str:
    """The format suffix of a table file, looking through `.gz` (`train.tsv.gz` -> `.tsv`)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def read_table(path: Path) -> Table:
    """One table file; blank lines and rows are skipped."""
    suffix = table_suffix(path)
    if suffix == ".parquet":
        return _read_parquet(path)
    if suffix not in TABLE_SUFFIXES:
        raise ZooError(f"cannot tell the format of {path}", f"use one of {', '.join(TABLE_SUFFIXES)} (optionally .gz)")
    text = read_text(path)
    if suffix in (".jsonl", ".json"):
        return _read_json(path, text, array=suffix == ".json")
    reader = csv.reader(io.StringIO(text), delimiter="\t" if suffix == ".tsv" else ",")
    try:
        header = next(reader, None)
        if header is None:
            raise ZooError(f"{path} is empty", "it needs a header row naming the columns")
        columns = [name.strip() for name in header]
        rows, places = [], []
        start = reader.line_num + 1  # the line a row starts on (a quoted cell may span lines)
        for cells in reader:
            if any(cell.strip() for cell in cells):
                if len(cells) != len(columns):
                    through = f" (read through line {reader.line_num}: an unclosed quote?)" if reader.line_num > start else ""
                    raise ZooError(f"{path}:{start}: {len(cells)} cells, but the header has {len(columns)} columns{through}", "fix the row: a stray separator or quote")
                rows.append(dict(zip(columns, cells)))
                places.append(f"{path}:{start}")
            start = reader.line_num + 1
    except csv.Error as error:
        raise ZooError(f"{path}:{reader.line_num}: malformed {suffix[1:].upper()} ({error})") from None
    return Table(str(path), columns, rows, places)


def _read_json(path: Path, text: str, array: bool) -> Table:
    """JSON lines, or (when `array` may be) one array of objects: text starting with `[`."""
    if array and text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as error:
            raise ZooError(f"{path}:{error.lineno}:{error.colno}: invalid JSON ({error.msg})") from None
        return _json_rows(path, [(item, f"{path} item {i + 1}") for i, item in enumerate(items)])
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                found.append((json.loads(line), f"{path}:{number}"))
            except json.JSONDecodeError as error:
                raise ZooError(f"{path}:{number}:{error.colno}: invalid JSON ({error.msg})", "write one JSON object per line") from None
    if not found:
        raise ZooError(f"{path} is empty", "it needs one JSON object per line (or one array of objects)")
    if len(found) == 1 and isinstance(found[0][0], dict) and found[0][0] and all(isinstance(v, dict) for v in found[0][0].values()):
        raise ZooError(f"{path} holds columns of values (pandas' default to_json)", "write one record per line: df.to_json(path, orient='records', lines=True)")
    return _json_rows(path, found)


def _json_rows(path: Path, items: Sequence[tuple[Any, str]]) -> Table:
    columns: dict[str, None] = {}
    for row, place in items:
        if not isinstance(row, dict):
            raise ZooError(f"{place}: expected a JSON object, got {json_kind(row)}", "each row is one object of column: value")
        columns.update(dict.fromkeys(row))
    return Table(str(path), list(columns), [row for row, _ in items], [place for _, place in items])


def _read_parquet(path: Path) -> Table:
    import pyarrow.parquet as pq

    with reading(path, "a readable parquet file"):
        table = pq.read_table(path)
    return Table(str(path), list(table.column_names), table.to_pylist(), [f"{path} row {i + 1}" for i in range(table.num_rows)])


def read_table_splits(path: Path) -> dict[str, Table]:
    """The tables at `path` by split: a file is "train"; a `datasets` folder and a folder of
    split files (train.*, dev.* or validation.*, test.*) give the splits they have."""
    if not path.exists():
        raise ZooError(f"data path {path} does not exist", "pass --data a CSV/TSV/JSONL/parquet file, a folder of them, or a datasets folder")
    if path.is_file():
        return {"train": read_table(path)}
    if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
        return read_datasets_folder(path)
    files = {f: table_suffix(f) for f in sorted(path.iterdir()) if f.is_file() and table_suffix(f) in TABLE_SUFFIXES}
    splits = {}
    for split, names in SPLIT_NAMES.items():
        found = [f for name in names for f in files if f.name.lower().split(".")[0] == name]
        if len(found) > 1:
            raise ZooError(f"{path} has {len(found)} {split} tables: {', '.join(f.name for f in found)}", "keep one, or pass --data the file to use")
        if found:
            splits[split] = read_table(found[0])
    if "train" not in splits:
        listed = ", ".join(f.name for f in files) or "no table files"
        raise ZooError(f"{path} has no train file (it has {listed})", "name the training table train.csv, train.tsv(.gz), train.jsonl or train.parquet")
    return splits


def read_datasets_folder(path: Path) -> dict[str, Table]:
    """A folder written by `datasets.save_to_disk` (a Dataset, or a DatasetDict with splits).
    Class-label columns read as their names."""
    import datasets

    loaded = load_datasets_folder(path)
    parts = dict(loaded) if isinstance(loaded, datasets.DatasetDict) else {"train": loaded}
    splits = {}
    for split, names in SPLIT_NAMES.items():
        found = next((name for name in names if name in parts), None)
        if found is not None:
            dataset = parts[found]
            rows = dataset.to_list()
            for column, feature in dataset.features.items():
                if isinstance(feature, datasets.ClassLabel):
                    for row in rows:
                        row[column] = feature.int2str(row[column]) if row[column] is not None and row[column] >= 0 else None
            origin = f"{path} [{found}]"
            splits[split] = Table(origin, list(dataset.column_names), rows, [f"{origin} row {i + 1}" for i in range(len(rows))])
    if "train" not in splits:
        raise ZooError(f"{path} has no 'train' split (it has {', '.join(parts)})")
    return splits


def load_datasets_folder(path: Path) -> Any:
    """`datasets.load_from_disk(path)`: a Dataset or a DatasetDict. When it fails, the damaged
    file in the folder is named (its JSON and Arrow files are only checked then)."""
    import datasets

    try:
        return datasets.load_from_disk(str(path))
    except Exception as error:  # json, pyarrow and datasets errors, and KeyError/TypeError on odd metadata
        failure = error
    for file in sorted(path.rglob("*.json")):
        read_json(file, "a datasets metadata file", hint="save the dataset again with save_to_disk")
    for file in sorted(path.rglob("*.arrow")):
        with reading(file, "an Arrow file as save_to_disk writes it", "save the dataset again with save_to_disk"):
            _read_arrow(file)
    raise ZooError(f"{path} is not a readable datasets folder: {first_line(failure)}", "save the dataset again with save_to_disk") from failure


def _read_arrow(path: Path) -> None:
    """Read an Arrow stream file whole (which fails when it is damaged)."""
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        pa.ipc.open_stream(source).read_all()


def pick_column(table: Table, chosen: str | None, usual: Sequence[str], role: str, key: str) -> str:
    """The column named by `key` (checked), else the first whose name is one of `usual`."""
    if chosen is not None:
        if chosen not in table.columns:
            hint = did_you_mean(chosen, table.columns) or f"its columns are: {', '.join(table.columns)}"
            raise ZooError(f"{table.source} has no {role} column {chosen!r} ({key})", hint)
        return chosen
    for name in table.columns:
        if name.strip().lower() in usual:
            return name
    raise ZooError(
        f"{table.source} has no {role} column (looked for {', '.join(usual)})",
        f"its columns are {', '.join(table.columns)}; name one with {key}=COLUMN",
    )


def label_text(value: Any) -> str | None:
    """A label cell as text (integral numbers such as 3.0 or "3.0" read as "3"); None when
    it is missing: empty, null or NaN."""
    if value is None or isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if text == "" or text.lower() == "nan":
        return None
    if text.endswith(".0") and text[:-2].lstrip("-").isdigit():  # "1.0", as pandas writes integer labels beside a NaN
        return text[:-2]
    return text
