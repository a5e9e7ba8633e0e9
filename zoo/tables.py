"""Tables of rows, for every task that reads them: CSV, TSV, JSONL (each may be gzipped), JSON
arrays, parquet, a `datasets` folder, or a folder of split files (`train.tsv.gz`, `dev.tsv`).

A table is an Arrow table memory-mapped from the data cache (`zoo.cache`): read once, then
mapped again by every run on the same file; no row is ever a Python object. Cells keep the
types the format gives them: text from CSV and TSV, any JSON value from JSONL (a column whose
values differ in kind reads as text). Checks run on whole columns; the first bad row is then
named by file and line (`Table.place`), found only when needed.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import mmap
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from zoo import cache, splits
from zoo.errors import SHOWN_PROBLEMS, ZooError, bad_rows, counted, did_you_mean
from zoo.files import UTF16_BOMS, first_line, json_kind, read_json, read_text, reading

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")
BLOCK = 1 << 22  # bytes of text Arrow parses at a time
FALLBACK_ROWS = 50_000  # rows per batch when JSON lines are read through Python

RowCheck = Callable[[Sequence[str]], str | None]  # a row's cells -> what is wrong with them, or None
CellCheck = Callable[[list[str]], RowCheck | None]  # a header's names -> the check of each row (None: no check)


@dataclass(frozen=True)
class Places:
    """How to name row i of a table: `file:line` (found by reading up to it), or `... row N`."""

    path: str
    kind: str  # "csv", "jsonl" (non-blank lines), "line" (every line), "number" (#N), or "row" (a position)
    delimiter: str = ","
    label: str = "row"

    def of(self, row: int) -> str:
        if self.kind == "line":
            return f"{self.path}:{row + 1}"
        if self.kind == "number":
            return f"{self.path} #{row + 1}"
        if self.kind == "csv":
            return f"{self.path}:{_csv_line(Path(self.path), self.delimiter, row)}"
        if self.kind == "jsonl":
            return f"{self.path}:{_jsonl_line(Path(self.path), row)}"
        return f"{self.path} {self.label} {row + 1}"


@dataclass
class Table:
    """A table: what messages call it, its columns and size, `digest` (a key of its content that
    the cache entries made from it, such as token ids, are filed under) and its Arrow data,
    mapped from the cache file when first used (a run whose derived entries are cached never
    maps it)."""

    source: str
    digest: str
    places: Places
    columns: list[str]
    size: int
    file: Path | None = None  # the cache file; None when in memory or a datasets folder
    loaded: Any = None  # the pyarrow.Table, once mapped
    mapping: Any = None  # the mmap.mmap its buffers point into

    @classmethod
    def of(cls, source: str, data: Any, digest: str, places: Places) -> Table:
        """A table whose Arrow data is at hand (made in memory, or a datasets folder's)."""
        return cls(source, digest, places, list(data.column_names), data.num_rows, loaded=data)

    @property
    def data(self) -> Any:
        if self.loaded is None:
            assert self.file is not None
            self.loaded, self.mapping = _mapped(self.file, self.source)
        return self.loaded

    def release(self) -> None:
        """Unmap the pages of the cache file this process has read (`zoo.cache.release`)."""
        cache.release(self.mapping)

    def __len__(self) -> int:
        return self.size

    def column(self, name: str) -> Any:
        """One column as a pyarrow ChunkedArray."""
        return self.data.column(name)

    def place(self, row: int) -> str:
        """Where row `row` (counting from 0) was read: `file:line`, or `folder [split] row N`."""
        return self.places.of(row)

    def __getstate__(self) -> dict[str, Any]:
        """A pickled table read from a cache file carries the file's place, not its data."""
        return {**self.__dict__, "loaded": None, "mapping": None} if self.file is not None else self.__dict__

    def batches(self, columns: Sequence[str], start: int = 0, stop: int | None = None) -> Iterator[tuple[int, Any]]:
        """(first row, record batch) of the named columns, for the batches holding rows
        start..stop, read from the cache file rather than through the memory map: one pass over
        millions of rows then holds a batch, not the mapped file (the map only tells the batches'
        sizes)."""
        import pyarrow as pa

        def overlapping(sizes: Iterator[int]) -> Iterator[tuple[int, int]]:
            first = 0
            for index, rows in enumerate(sizes):
                if first + rows > start and (stop is None or first < stop):
                    yield index, first
                first += rows

        if self.file is None:
            parts = self.data.select(list(columns)).to_batches()
            yield from ((first, parts[index]) for index, first in overlapping(part.num_rows for part in parts))
            return
        with reading(self.file, "a data cache file", f"run `zoo cache clear` and read {self.source} again"):
            with pa.memory_map(str(self.file)) as mapped, pa.OSFile(str(self.file)) as source:
                index, reader = pa.ipc.open_file(mapped), pa.ipc.open_file(source)
                sizes = (index.get_batch(i).num_rows for i in range(index.num_record_batches))
                for number, first in overlapping(sizes):
                    yield first, reader.get_batch(number).select(list(columns))

    def all_places(self) -> RowPlaces:
        """Where each row was read, as a sequence computed when read (in one pass when iterated)."""
        return RowPlaces(self)

    def places_of(self, rows: Sequence[int]) -> list[str]:
        """Where each of `rows` was read, found in one pass up to the last of them."""
        wanted, found = set(rows), {}
        for row, place in zip(range(max(rows, default=-1) + 1), self.all_places()):
            if row in wanted:
                found[row] = place
        return [found[row] for row in rows]


class Rows(Protocol):
    """Rows that messages can name: a table, a split of labelled images."""

    source: str

    def places_of(self, rows: Sequence[int]) -> list[str]: ...


@dataclass
class Problems:
    """The bad rows of one table (or other `Rows`), for one error: the first SHOWN_PROBLEMS as
    (row, what is wrong with it), and how many there are."""

    table: Rows
    first: list[tuple[int, str]] = field(default_factory=list)
    count: int = 0

    def add(self, rows: Sequence[int], problem: Callable[[int], str]) -> None:
        """Bad `rows`, ascending and after those added before; `problem` words what is wrong with
        a row, asked only of the first few."""
        self.first += [(row, problem(row)) for row in rows[: SHOWN_PROBLEMS - len(self.first)]]
        self.count += len(rows)

    def check(self, hint: str, hint_for_many: str | None = None) -> None:
        """Raise the ZooError naming the problems (`zoo.errors.bad_rows`), if there are any."""
        if self.count:
            places = self.table.places_of([row for row, _ in self.first])
            lines = [f"{place}: {problem}" for place, (_, problem) in zip(places, self.first)]
            raise bad_rows(self.table.source, lines, self.count, hint, hint_for_many)


class RowPlaces(Sequence[str]):
    """The places of a table's rows, for code that walks rows one by one (image paths, boxes)."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, row: int) -> str:  # type: ignore[override]
        return self.table.place(row)

    def __iter__(self) -> Iterator[str]:
        places = self.table.places
        if places.kind == "csv":
            yield from (f"{places.path}:{line}" for line, _ in _records(Path(places.path), places.delimiter))
        elif places.kind == "jsonl":
            with _open_binary(Path(places.path)) as stream:
                yield from (f"{places.path}:{number}" for number, line in enumerate(stream, start=1) if line.strip())
        else:
            yield from (places.of(row) for row in range(len(self)))


def table_suffix(path: Path) -> str:
    """The format suffix of a table file, looking through `.gz` (`train.tsv.gz` -> `.tsv`)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def read_table(path: Path, cells: CellCheck | None = None) -> Table:
    """One table file (blank rows are skipped), from the cache when it was read before.

    `cells` is what a task asks of the cells it will read (numbers, say): given a CSV or TSV
    header, the check of one row's cells. It runs only when Arrow cannot read the file, over the
    rows of the right length, so a file's bad cells are named in the same error as its rows of
    the wrong length, in file order; a file Arrow reads is left to the task's own checks."""
    suffix = table_suffix(path)
    if suffix not in TABLE_SUFFIXES:
        raise ZooError(f"cannot tell the format of {path}", f"use one of {', '.join(TABLE_SUFFIXES)} (optionally .gz)")
    if not path.is_file():
        raise ZooError(f"{path} does not exist" if not path.exists() else f"{path} is a folder", "pass a table file")
    delimiter = _delimiter(path, suffix) if suffix in (".csv", ".tsv") else ","
    return _cached(path, lambda target: _convert(path, suffix, delimiter, target, cells), _places(path, suffix, delimiter), suffix, delimiter)


def _cached(path: Path, convert: Callable[[Path], None], places: Places, *settings: Any) -> Table:
    """The Arrow table that `convert` writes from `path`, in the cache: converted only when the
    cache has no entry for this content and `settings`. Its columns and size are kept beside it
    (shape.json), so a table is mapped only when its data is read."""
    with reading(path, "a readable file"):
        digest = cache.key("table", cache.file_digest(path), *settings)
    folder = cache.entry("tables", digest)
    if not (folder / "shape.json").is_file():
        with cache.writing("tables", digest) as partial:
            convert(partial / "table.arrow")
            data, _ = _mapped(partial / "table.arrow", str(path))
            (partial / "shape.json").write_text(json.dumps({"columns": data.column_names, "rows": data.num_rows}))
    hint = f"run `zoo cache clear` and read {path} again"
    shape = read_json(folder / "shape.json", "a data cache file", hint=hint)
    if not isinstance(shape.get("columns"), list) or not isinstance(shape.get("rows"), int):
        raise ZooError(f"{folder / 'shape.json'} is not a data cache file (no columns and rows)", hint)
    return Table(str(path), digest, places, shape["columns"], shape["rows"], folder / "table.arrow")


def _places(path: Path, suffix: str, delimiter: str) -> Places:
    if suffix in (".csv", ".tsv"):
        return Places(str(path), "csv", delimiter)
    if suffix == ".jsonl" or suffix == ".json" and not _array_text(path):
        return Places(str(path), "jsonl")
    return Places(str(path), "row", label="item" if suffix == ".json" else "row")


def _mapped(file: Path, source: str) -> tuple[Any, mmap.mmap]:
    """(the Arrow table in `file`, the memory map its buffers point into)."""
    import pyarrow as pa

    with reading(file, "a data cache file", f"run `zoo cache clear` and read {source} again"):
        mapping = cache.mapped(file)
        return pa.ipc.open_file(pa.BufferReader(pa.py_buffer(mapping))).read_all(), mapping


def _convert(path: Path, suffix: str, delimiter: str, target: Path, cells: CellCheck | None = None) -> None:
    """Read the table file at `path` into the Arrow file `target`, batch by batch."""
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        with reading(path, "a readable parquet file"):
            parquet = pq.ParquetFile(path)
            _write_batches(target, parquet.schema_arrow, parquet.iter_batches(batch_size=65_536))
        return
    if suffix in (".csv", ".tsv"):
        _convert_csv(path, delimiter, target, cells)
        return
    if suffix == ".json" and _array_text(path):
        _convert_json_array(path, target)
        return
    _convert_json_lines(path, target)


def _write_batches(target: Path, schema: Any, batches: Iterator[Any]) -> int:
    """Write the batches as one Arrow file; the number of rows written."""
    import pyarrow as pa

    rows = 0
    with pa.OSFile(str(target), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def in_memory(source: str, columns: dict[str, list[Any]]) -> Table:
    """A table made on the spot (a task's demo data), keyed by its content; row i is `source #i+1`."""
    import pyarrow as pa

    return Table.of(source, pa.table(columns), cache.key("in memory", source, columns), Places(source, "number"))


def read_lines(path: Path) -> Table:
    """A text file as a table of one column, `line`: every line, blank ones included (as ""),
    so line i of one file stays beside line i of another."""
    if not path.is_file():
        raise ZooError(f"{path} does not exist" if not path.exists() else f"{path} is a folder", "pass a text file with one sentence per line")
    _head(path)
    return _cached(path, lambda target: _convert_lines(path, target), Places(str(path), "line"), "lines")


def _convert_lines(path: Path, target: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    if not _head(path):
        _write_batches(target, pa.schema([("line", pa.string())]), iter(()))
        return
    try:
        reader = pcsv.open_csv(
            pa.input_stream(str(path), compression="gzip" if path.suffix.lower() == ".gz" else None),
            read_options=pcsv.ReadOptions(block_size=BLOCK, column_names=["line"]),
            parse_options=pcsv.ParseOptions(delimiter="\x1f", quote_char=False, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(column_types={"line": pa.string()}, strings_can_be_null=False),
        )
        _write_batches(target, reader.schema, iter(reader))
    except (pa.ArrowInvalid, OSError, EOFError) as error:
        read_text(path)
        raise ZooError(f"{path}: cannot be read as lines of text ({first_line(error)})", "keep one sentence per line") from None


# CSV and TSV ---------------------------------------------------------------------------------


def _delimiter(path: Path, suffix: str) -> str:
    """Tab for .tsv; for .csv whichever of , ; and tab the header holds most (comma when none)."""
    if suffix == ".tsv":
        return "\t"
    header = _head(path).split("\n", 1)[0]
    return max((",", ";", "\t"), key=header.count) if any(c in header for c in ",;\t") else ","


def _head(path: Path, size: int = 1 << 16) -> str:
    """The first bytes of a text file as text; a file that is not UTF-8 text is named (with
    read_text's own message)."""
    try:
        with _open_binary(path) as stream:
            data = stream.read(size)
    except (OSError, EOFError, gzip.BadGzipFile):
        read_text(path)  # names what is wrong with the file
        raise
    if data.startswith(UTF16_BOMS) or b"\0" in data[:8192]:
        read_text(path)
    cut = data.rfind(b"\n") + 1 if len(data) == size else len(data)
    try:
        return data[: cut or len(data)].decode("utf-8-sig")
    except UnicodeDecodeError:
        read_text(path)
        raise


def _open_binary(path: Path) -> Any:
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")


def header(path: Path, delimiter: str | None = None) -> list[str]:
    """The column names of a CSV or TSV file, from its first row alone (before its rows are read)."""
    names = next(csv.reader(io.StringIO(_head(path)), delimiter=delimiter or _delimiter(path, table_suffix(path))), None)
    if not names:
        raise ZooError(f"{path} is empty", "it needs a header row naming the columns")
    return [name.strip() for name in names]


def check_header(path: Path, named: Mapping[str, Sequence[str]], usual: Mapping[str, Sequence[str]] | None = None) -> None:
    """Before a table file is read: it holds the columns `named` by the config key naming them,
    and for each key in `usual` (a null one) a column of one of its usual names. CSV and TSV:
    its header (readable text); JSON lines: the keys of the lines in its first block, when they
    all have the same; parquet: its schema. Other files pass."""
    suffix = table_suffix(path)
    if not path.is_file():
        return
    if suffix in (".csv", ".tsv"):
        columns = header(path)
    elif suffix == ".jsonl" or suffix == ".json" and not _array_text(path):
        columns = _json_keys(path)
        if columns is None:
            return
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        with reading(path, "a readable parquet file"):
            columns = pq.read_schema(path).names
    else:
        return
    for key, names in named.items():
        for name in names:
            if name not in columns:
                raise absent_column(str(path), name, key, columns)
    for key, names in (usual or {}).items():
        if not any(column.strip().lower() in names for column in columns):
            raise no_usual_column(str(path), names, key.rpartition(".")[2].removesuffix("_column"), key, columns)


def _json_keys(path: Path) -> list[str] | None:
    """The keys of the JSON objects on the lines of a file's first block, in order of appearance
    (a line that is not an object is left for the full read to name); None when those lines differ
    in their keys, so a key may first appear further on."""
    keys: dict[str, None] = {}
    kinds: set[frozenset[str]] = set()
    for line in _head(path).splitlines():
        try:
            row = json.loads(line) if line.strip() else None
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            keys.update(dict.fromkeys(row))
            kinds.add(frozenset(row))
    return list(keys) if len(kinds) <= 1 else None


def _convert_csv(path: Path, delimiter: str, target: Path, cells: CellCheck | None = None) -> None:
    """Every column as text; rows whose cells are all blank are left out. When Arrow cannot read
    the file, `_csv_problem` names why (with what `cells` finds in the other rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    names = header(path, delimiter)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ZooError(f"{path}:1: the header repeats column {repeated[0]!r}", "give each column its own name")
    try:
        reader = pcsv.open_csv(
            pa.input_stream(str(path), compression="gzip" if path.suffix.lower() == ".gz" else None),
            read_options=pcsv.ReadOptions(block_size=BLOCK, column_names=names, skip_rows=1),
            parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(column_types={name: pa.string() for name in names}, strings_can_be_null=False),
        )

        def kept(batch: Any) -> Any:
            blank = None
            for column in batch.columns:
                empty = pc.equal(pc.utf8_trim_whitespace(column), "")
                blank = empty if blank is None else pc.and_(blank, empty)
                if not pc.any(blank).as_py():  # no row left that could be blank
                    return batch
            return batch if blank is None else batch.filter(pc.invert(blank))

        _write_batches(target, reader.schema, (kept(batch) for batch in reader))
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError, EOFError) as error:
        _csv_problem(path, delimiter, names, cells(names) if cells else None)
        raise ZooError(f"{path}: malformed {'TSV' if delimiter == chr(9) else 'CSV'} ({first_line(error)})", "fix the file") from None


def _records(path: Path, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(the line a record starts on, its cells) for each non-blank record after the header."""
    with _open_binary(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as stream:
        reader = csv.reader(stream, delimiter=delimiter)
        next(reader, None)
        start = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield start, cells
            start = reader.line_num + 1


def _csv_line(path: Path, delimiter: str, row: int) -> int:
    """The line that data row `row` (from 0, blank rows not counted) starts on."""
    for number, (line, _) in enumerate(_records(path, delimiter)):
        if number == row:
            return line
    raise IndexError(row)


def _csv_problem(path: Path, delimiter: str, names: list[str], check: RowCheck | None = None) -> None:
    """Raise the ZooError that names what Arrow could not read: bytes that are not UTF-8, rows
    of the wrong length (the first few, and a count), a malformed quote. Rows of the wrong
    length are named with what `check` finds wrong in the other rows, in file order, in one
    error. Reads the file with Python, so only after Arrow failed."""
    read_text(path)
    kind = "TSV" if delimiter == "\t" else "CSV"
    columns = len(names)
    lines: list[str] = []
    count = wrong_length = 0
    with _open_binary(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as stream:
        reader = csv.reader(stream, delimiter=delimiter)
        try:
            next(reader, None)
            start = reader.line_num + 1
            for cells in reader:
                problem = None
                if not any(cell.strip() for cell in cells):
                    pass
                elif len(cells) != columns:
                    through = f" (read through line {reader.line_num}: an unclosed quote?)" if reader.line_num > start else ""
                    problem = f"{counted(len(cells), 'cell')}, but the header has {counted(columns, 'column')}{through}"
                    wrong_length += 1
                elif check is not None:
                    problem = check(cells)
                if problem:
                    count += 1
                    if len(lines) < SHOWN_PROBLEMS:
                        lines.append(f"{path}:{start}: {problem}")
                start = reader.line_num + 1
        except csv.Error as error:
            if not wrong_length:
                raise ZooError(f"{path}:{reader.line_num}: malformed {kind} ({error})", "fix the quoting on that line") from None
    if not wrong_length:  # Arrow failed for another reason: the caller names it
        return
    if count > wrong_length:  # two or more rows, some with bad cells
        raise bad_rows(str(path), lines, count, "fix or remove those rows (a wrong number of cells: a stray separator or quote?)")
    raise bad_rows(str(path), lines, count, "fix the row: a stray separator or quote", "fix the rows: a stray separator or quote")


# JSON ----------------------------------------------------------------------------------------


def _array_text(path: Path) -> bool:
    """Whether a .json file holds one array (text starting with `[`) rather than JSON lines."""
    return table_suffix(path) == ".json" and _head(path, 4096).lstrip().startswith("[")


def _convert_json_lines(path: Path, target: Path) -> None:
    """JSON lines through Arrow; when Arrow cannot (a bad line, values of differing kinds), through
    Python, which names the bad line or reads the differing columns as text."""
    import pyarrow as pa
    import pyarrow.json as pjson

    _head(path)
    try:
        reader = pjson.open_json(
            pa.input_stream(str(path), compression="gzip" if path.suffix.lower() == ".gz" else None),
            read_options=pjson.ReadOptions(block_size=BLOCK * 4),
        )
        rows = _write_batches(target, reader.schema, iter(reader))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, EOFError):
        _json_lines_through_python(path, target)
        return
    if not rows:
        raise ZooError(f"{path} is empty", "it needs one JSON object per line (or one array of objects)")
    if rows == 1 and len(reader.schema) and all(pa.types.is_struct(field.type) for field in reader.schema):
        raise ZooError(f"{path} holds columns of values (pandas' default to_json)", "write one record per line: df.to_json(path, orient='records', lines=True)")


def _json_objects(path: Path) -> Iterator[tuple[dict[str, Any], str]]:
    """(object, place) of each non-blank line; a line that is not a JSON object is named."""
    with _open_binary(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig") as stream:
        number = 0
        for number, line in enumerate(stream, start=1):
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise ZooError(f"{path}:{number}:{error.colno}: invalid JSON ({error.msg})", "write one JSON object per line") from None
                if not isinstance(row, dict):
                    raise ZooError(f"{path}:{number}: expected a JSON object, got {json_kind(row)}", "each row is one object of column: value")
                yield row, f"{path}:{number}"


def _json_lines_through_python(path: Path, target: Path) -> None:
    read_text(path)  # names bytes that are not UTF-8
    columns: dict[str, None] = {}
    count, first = 0, {}
    for row, _ in _json_objects(path):
        columns.update(dict.fromkeys(row))
        count, first = count + 1, first or row
    if not count:
        raise ZooError(f"{path} is empty", "it needs one JSON object per line (or one array of objects)")
    if count == 1 and all(isinstance(v, dict) for v in first.values()):
        raise ZooError(f"{path} holds columns of values (pandas' default to_json)", "write one record per line: df.to_json(path, orient='records', lines=True)")
    _write_text_columns(target, list(columns), (row for row, _ in _json_objects(path)))


def _text_cell(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else json.dumps(value)


def _write_text_columns(target: Path, columns: list[str], rows: Iterator[dict[str, Any]]) -> None:
    """Rows of JSON values as text columns (a string as it is, anything else as JSON)."""
    import pyarrow as pa

    schema = pa.schema([(name, pa.string()) for name in columns])

    def batches() -> Iterator[Any]:
        chunk: list[dict[str, Any]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == FALLBACK_ROWS:
                yield _batch(schema, chunk)
                chunk = []
        if chunk:
            yield _batch(schema, chunk)

    _write_batches(target, schema, batches())


def _batch(schema: Any, rows: Sequence[dict[str, Any]]) -> Any:
    import pyarrow as pa

    return pa.record_batch([pa.array([_text_cell(row.get(name)) for row in rows], pa.string()) for name in schema.names], schema=schema)


def _convert_json_array(path: Path, target: Path) -> None:
    """A .json file holding one array of objects (read whole: such files are small)."""
    import pyarrow as pa

    try:
        items = json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise ZooError(f"{path}:{error.lineno}:{error.colno}: invalid JSON ({error.msg})") from None
    columns: dict[str, None] = {}
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ZooError(f"{path} item {number}: expected a JSON object, got {json_kind(item)}", "each row is one object of column: value")
        columns.update(dict.fromkeys(item))
    try:
        data = pa.Table.from_pylist(items)
        _write_batches(target, data.schema, iter(data.to_batches()))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        _write_text_columns(target, list(columns), iter(items))


def _jsonl_line(path: Path, row: int) -> int:
    """The line of the `row`-th (from 0) non-blank line of a JSON-lines file."""
    with _open_binary(path) as stream:
        count = -1
        for number, line in enumerate(stream, start=1):
            if line.strip():
                count += 1
                if count == row:
                    return number
    raise IndexError(row)


# Folders -------------------------------------------------------------------------------------


def read_table_splits(path: Path) -> dict[str, Table]:
    """The tables at `path` by split: a file is "train"; a `datasets` folder and a folder of
    split files (train.*, dev.* or validation.*, test.*) give the splits they have."""
    if not path.exists():
        raise ZooError(f"data path {path} does not exist", "pass --data a CSV/TSV/JSONL/parquet file, a folder of them, or a datasets folder")
    if path.is_file():
        return {"train": read_table(path)}
    if is_datasets_folder(path):
        return read_datasets_folder(path)
    files = [f for f in sorted(path.iterdir()) if f.is_file() and table_suffix(f) in TABLE_SUFFIXES]
    named: dict[str, list[Path]] = {}
    for file in files:
        split = splits.split_named(file.name.split(".")[0])
        if split:
            named.setdefault(split, []).append(file)
    for split, found in named.items():
        if len(found) > 1:
            raise ZooError(f"{path} has {len(found)} {split} tables: {', '.join(f.name for f in found)}", "keep one, or pass --data the file to use")
    if "train" not in named:
        listed = ", ".join(f.name for f in files) or "no table files"
        raise ZooError(f"{path} has no train file (it has {listed})", "name the training table train.csv, train.tsv(.gz), train.jsonl or train.parquet")
    return {split: read_table(named[split][0]) for split in splits.SPLITS if split in named}


def is_datasets_folder(path: Path) -> bool:
    return (path / "dataset_dict.json").is_file() or (path / "state.json").is_file()


def read_datasets_folder(path: Path) -> dict[str, Table]:
    """A folder written by `datasets.save_to_disk` (a Dataset, or a DatasetDict with splits),
    its Arrow files mapped as they are. Class-label columns read as their names."""
    import datasets

    loaded = load_datasets_folder(path)
    parts = dict(loaded) if isinstance(loaded, datasets.DatasetDict) else {"train": loaded}
    found = splits.by_split(parts, str(path))
    if "train" not in found:
        raise ZooError(f"{path} has no 'train' split (it has {', '.join(parts)})")
    names = {id(dataset): name for name, dataset in parts.items()}
    state = folder_digest(path)
    tables = {}
    for split, dataset in found.items():
        origin = f"{path} [{names[id(dataset)]}]"
        tables[split] = Table.of(origin, _named_labels(dataset), cache.key("datasets", state, names[id(dataset)]), Places(origin, "row"))
    return tables


def folder_digest(path: Path) -> str:
    """A key of a datasets folder's content: its JSON files' bytes and its Arrow files' sizes and
    modification times (hashing gigabytes of Arrow on every run would cost more than it saves)."""
    parts: list[Any] = []
    for file in sorted(path.rglob("*")):
        if file.suffix == ".json":
            parts.append([str(file.relative_to(path)), file.read_text(errors="replace")])
        elif file.is_file():
            stat = file.stat()
            parts.append([str(file.relative_to(path)), stat.st_size, stat.st_mtime_ns])
    return cache.key(*parts)


def _named_labels(dataset: Any) -> Any:
    """The dataset's Arrow table, class-label columns (ids) replaced by their names."""
    import datasets
    import pyarrow as pa
    import pyarrow.compute as pc

    if dataset._indices is not None:
        dataset = dataset.flatten_indices()
    data = dataset.data.table
    for column, feature in dataset.features.items():
        if isinstance(feature, datasets.ClassLabel):
            ids = data.column(column)
            known = pc.if_else(pc.less(ids, 0), pa.scalar(None, ids.type), ids)
            data = data.set_column(data.column_names.index(column), column, pc.take(pa.array(feature.names, pa.string()), known))
    return data


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


# Columns -------------------------------------------------------------------------------------


def pick_column(table: Table, chosen: str | None, usual: Sequence[str], role: str, key: str) -> str:
    """The column named by `key` (checked), else the first whose name is one of `usual`."""
    if chosen is not None:
        if chosen not in table.columns:
            raise absent_column(table.source, chosen, key, table.columns)
        return chosen
    for name in table.columns:
        if name.strip().lower() in usual:
            return name
    raise no_usual_column(table.source, usual, role, key, table.columns)


def no_usual_column(source: str, usual: Sequence[str], role: str, key: str, columns: Sequence[str]) -> ZooError:
    """The error for a table without a column of any of the `usual` names of a `role`, which config `key` may name."""
    return ZooError(f"{source} has no {role} column (looked for {', '.join(usual)})", f"its columns are {', '.join(columns)}; name one with {key}=COLUMN")


def absent_column(source: str, name: str, key: str, columns: Sequence[str]) -> ZooError:
    """The error for column `name`, named by config key `key`, that `source` (a table of
    `columns`) lacks. The key says the column's role: data.text_column a text column,
    data.features a feature column."""
    role = key.rpartition(".")[2].removesuffix("_column").removesuffix("s")
    hint = did_you_mean(name, columns) or f"its columns are: {', '.join(columns)}"
    return ZooError(f"{source} has no {role} column {name!r} ({key})", hint)


def texts(column: Any) -> Any:
    """A column as stripped text (null where it is null; a number as its text)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        column = pc.cast(column, pa.string())
    return pc.utf8_trim_whitespace(column)


def label_texts(column: Any) -> Any:
    """A label column as text, null where a label is missing (empty, null or NaN); integral
    numbers (3.0, or "3.0" as pandas writes integer labels beside a NaN) read as "3"."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_floating(column.type):
        column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
        whole = pc.equal(pc.floor(column), column)
        column = pc.if_else(whole, pc.cast(pc.cast(column, pa.int64(), safe=False), pa.string()), pc.cast(column, pa.string()))
    elif pa.types.is_boolean(column.type):
        column = pc.if_else(column, "True", "False")
    column = texts(column)
    column = pc.replace_substring_regex(column, r"^(-?\d+)\.0$", r"\1")
    missing = pc.or_kleene(pc.equal(column, ""), pc.equal(pc.utf8_lower(column), "nan"))
    return pc.if_else(missing, pa.scalar(None, pa.string()), column)

