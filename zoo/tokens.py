"""Texts read from tables and their token ids, kept in the data cache and memory-mapped.

Up to BLOCK_TEXTS texts are encoded at once: in batches, by the tokenizer's Rust encoder on all
cores, into one flat array of ids and the offsets where each text's ids start. More texts than
that are not waited for. Training starts at once and encodes what the cache lacks as it reads it,
while a background process at the lowest CPU priority fills the cache, a block of BLOCK_TEXTS
texts at a time; finished blocks are kept, so each later run reads more from the cache. Such texts
are batched by their size in bytes, known without encoding, so the batches are the same
whether the cache is full, partly filled or empty.

Torch-free: the background process (`python -c ... fill_from_stdin()`) imports this module alone.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo import cache

BLOCK_TEXTS = 1 << 17  # texts a cache entry holds; up to this many are encoded before training
BATCH_TEXTS = 2_000  # texts encoded in one call (their ids are Python lists a moment: a small batch keeps that small)
RECHECK_S = 2.0  # how often a reader looks for blocks the background process has finished


class RowTexts:
    """The texts of a column of a `zoo.tables.Table` at some of its rows (sorted numpy indices),
    stripped, read from the Arrow column when indexed: millions of texts that cost no memory.
    A pickled copy carries the table's place, not its data."""

    def __init__(self, table: Any, name: str, rows: Any) -> None:
        self.table, self.name, self.rows = table, name, rows
        self._column: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"table": self.table, "name": self.name, "rows": self.rows}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    @property
    def column(self) -> Any:
        """The column as a pyarrow ChunkedArray of strings."""
        if self._column is None:
            from zoo.tables import texts

            column = self.table.column(self.name)
            self._column = column if _is_text(column) else texts(column)
        return self._column

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> str:
        value = self.column[int(self.rows[index])].as_py()
        return "" if value is None else value.strip()

    def __iter__(self) -> Iterator[str]:
        for batch in self.batches():
            yield from batch

    def take(self, positions: Iterable[int]) -> list[str]:
        """The texts at `positions`, read at random; the table's pages are unmapped after
        (`zoo.tables.Table.release`), so reading texts here and there costs no memory."""
        texts = [self[position] for position in positions]
        self.table.release()
        return texts

    def batches(self, size: int = BATCH_TEXTS) -> Iterator[list[str]]:
        """The texts in lists of `size`, in one pass over the table's batches (read from its
        cache file: a pass over millions of texts holds a batch at a time, not the mapped file)."""
        import pyarrow as pa

        from zoo.tables import texts

        pending: list[str] = []
        rows = np.asarray(self.rows)
        start, stop = (int(rows[0]), int(rows[-1]) + 1) if len(rows) else (0, 0)
        for first, batch in self.table.batches([self.name], start, stop):
            low, high = np.searchsorted(rows, [first, first + batch.num_rows])
            if high > low:
                pending += texts(batch.column(0).take(pa.array(rows[low:high] - first))).to_pylist()
            while len(pending) >= size:
                yield pending[:size]
                pending = pending[size:]
        if pending:
            yield pending

    def at(self, positions: Any) -> RowTexts:
        """The texts at `positions` of this sequence."""
        return RowTexts(self.table, self.name, self.rows[positions])

    def key(self) -> list[str]:
        """What names these texts in cache keys: the table's content, the column and the rows."""
        return [self.table.digest, self.name, hashlib.sha256(self.rows.tobytes()).hexdigest()]

    def sizes(self) -> Any:
        """The size of each text's cell in bytes (int64), from the Arrow column's offsets alone:
        the texts themselves are not read."""
        import pyarrow as pa
        import pyarrow.compute as pc

        sizes = pc.fill_null(pc.binary_length(self.column), 0)
        sizes = pc.take(sizes, pa.array(self.rows)).to_numpy(zero_copy_only=False).astype(np.int64)
        self.table.release()
        return sizes


def _is_text(column: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_string(column.type) or pa.types.is_large_string(column.type)


def filled_rows(*columns: tuple[Any, str]) -> tuple[Any, int | None]:
    """(the rows where every (table, column) holds text other than whitespace, as sorted numpy
    indices; the first row where one does not, or None), in one pass over each table's batches."""
    import pyarrow.compute as pc

    from zoo.tables import texts

    mask = None
    for table, name in columns:
        parts = [pc.fill_null(pc.not_equal(texts(batch.column(0)), ""), False).to_numpy(zero_copy_only=False) for _, batch in table.batches([name])]
        filled = np.concatenate(parts) if parts else np.zeros(0, bool)
        mask = filled if mask is None else mask & filled
    assert mask is not None
    rows = np.flatnonzero(mask)
    blank = np.flatnonzero(~mask)
    return rows, int(blank[0]) if len(blank) else None


def encode(tokenizer: Any, texts: Sequence[str], max_length: int | None = None, special_tokens: bool = False) -> tuple[list[list[int]], int]:
    """(token ids of each text, how many texts were cut): at most `max_length` ids each,
    special tokens included (a tokenizer's post-processor adds them, such as [CLS] ... [SEP]).
    The tokenizer given is not changed, so threads may encode with it at once (`zoo serve`)."""
    if max_length:
        tokenizer = _truncating(tokenizer, tokenizer.get_vocab_size(with_added_tokens=True), max_length)
    encodings = tokenizer.encode_batch_fast(list(texts), add_special_tokens=special_tokens)
    return [e.ids for e in encodings], sum(1 for e in encodings if e.overflowing)


@functools.lru_cache(maxsize=4)
def _truncating(tokenizer: Any, vocab_size: int, max_length: int) -> Any:
    """A copy of `tokenizer` that cuts texts at `max_length` ids, made once (`vocab_size` in the
    key: a tokenizer given tokens since is copied again)."""
    from tokenizers import Tokenizer

    copy = Tokenizer.from_str(tokenizer.to_str())
    copy.enable_truncation(max_length)
    return copy


class TokenIds:
    """The token ids of one block of texts: one flat int32 array and the offsets where each
    text's ids start, memory-mapped from the data cache, so DataLoader workers share them (a
    pickled copy maps the files again rather than copying the arrays)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._map()

    def _map(self) -> None:
        ids = self.folder / "ids.int32"
        self.mapping = cache.mapped(ids) if ids.stat().st_size else None
        self.ids = np.frombuffer(self.mapping, np.int32) if self.mapping is not None else np.zeros(0, np.int32)
        self.offsets, self.offsets_mapping = cache.mapped_array(self.folder / "offsets.npy")
        self.cut = json.loads((self.folder / "cut.json").read_text())

    def __getstate__(self) -> dict[str, Any]:
        return {"folder": self.folder}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.folder = state["folder"]
        self._map()

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index: int) -> Any:
        return self.ids[self.offsets[index] : self.offsets[index + 1]]

    def lengths(self) -> Any:
        return np.diff(self.offsets)

    def release(self) -> None:
        """Unmap the pages read so far (`zoo.cache.release`)."""
        cache.release(self.mapping)
        cache.release(self.offsets_mapping)


class Stopped(Exception):
    """The background process was told to stop (its parent ended) before a block was done."""


def write_block(texts: RowTexts, tokenizer: Any, max_length: int | None, special_tokens: bool, name: str, stop: threading.Event | None = None) -> TokenIds:
    """Encode `texts` into the cache entry `name`, BATCH_TEXTS at a time (checking `stop`
    between batches); an entry left unfinished is removed."""
    with cache.writing("tokens", name) as partial:
        lengths, cut = [], 0
        with open(partial / "ids.int32", "wb") as ids:
            for texts_batch in texts.batches():
                if stop is not None and stop.is_set():
                    raise Stopped
                encoded, batch_cut = encode(tokenizer, texts_batch, max_length, special_tokens)
                cut += batch_cut
                lengths.append(np.fromiter(map(len, encoded), np.int64, len(encoded)))
                ids.write(np.fromiter(itertools.chain.from_iterable(encoded), np.int32).tobytes())
        np.save(partial / "offsets.npy", np.concatenate([[0], np.cumsum(np.concatenate(lengths or [np.zeros(0, np.int64)]))]))
        (partial / "cut.json").write_text(json.dumps(cut))
    return TokenIds(cache.entry("tokens", name))


def _finished(name: str) -> TokenIds | None:
    folder = cache.entry("tokens", name)
    return TokenIds(folder) if (folder / "cut.json").is_file() else None


class Tokens:
    """The token ids of `texts` (`tokens[i]`: a numpy int32 array), from the cache block by
    block, or encoded when read while a block is not there yet (see the module's docstring).
    `lengths()` is what batches are formed by."""

    def __init__(self, texts: RowTexts, tokenizer: Any, max_length: int | None, special_tokens: bool) -> None:
        self.texts, self.max_length, self.special_tokens = texts, max_length, special_tokens
        self.tokenizer_json = tokenizer.to_str()
        tokenizer_key = hashlib.sha256(self.tokenizer_json.encode()).hexdigest()
        self.block = BLOCK_TEXTS
        count = -(-len(texts) // self.block)
        self.names = [cache.key("tokens", texts.key(), tokenizer_key, max_length, special_tokens, index, self.block) for index in range(count)]
        self.blocks: list[TokenIds | None] = [_finished(name) for name in self.names]
        self.by_size = count > 1
        self._tokenizer: Any = None
        self._home = os.getpid()
        self._checked = time.monotonic()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_tokenizer": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _home=os.getpid())  # a process started afresh may use the encoder's threads

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def missing(self) -> list[int]:
        return [index for index, block in enumerate(self.blocks) if block is None]

    @property
    def cut(self) -> int:
        """Texts cut to max_length, in the blocks the cache holds."""
        return sum(block.cut for block in self.blocks if block is not None)

    def lengths(self) -> Any:
        """Token counts of texts that fit one block (encoded before training); the size in bytes
        of more texts, the same whatever the cache holds."""
        if self.by_size:
            return self.texts.sizes()
        block = self.blocks[0] if self.blocks else None
        return block.lengths() if block is not None else np.zeros(0, np.int64)

    def __getitem__(self, index: int) -> Any:
        return self.many([index])[0]

    def many(self, indices: Sequence[int]) -> list[Any]:
        """The ids of the texts at `indices`: those in finished blocks from the cache, the others
        encoded now, together."""
        if self.missing and time.monotonic() - self._checked > RECHECK_S:
            self._checked = time.monotonic()
            self.blocks = [block or _finished(name) for block, name in zip(self.blocks, self.names)]
        found: list[Any] = [None] * len(indices)
        absent, read = [], set()
        for place, index in enumerate(indices):
            block = self.blocks[index // self.block]
            if block is None:
                absent.append(place)
            else:
                found[place] = np.array(block[index % self.block])
                read.add(index // self.block)
        for number in read:
            self.blocks[number].release()  # type: ignore[union-attr]
        if absent:
            encoded, _ = encode(self.tokenizer(), self.texts.take(indices[place] for place in absent), self.max_length, self.special_tokens)
            for place, ids in zip(absent, encoded):
                found[place] = np.array(ids, np.int32)
        return found

    def tokenizer(self) -> Any:
        """This process's own copy of the tokenizer. A DataLoader worker forked after the parent
        used the Rust encoder's thread pool encodes on its own thread (the pool is not there)."""
        if self._tokenizer is None or self._tokenizer[0] != os.getpid():
            from tokenizers import Tokenizer

            if os.getpid() != self._home:
                os.environ["TOKENIZERS_PARALLELISM"] = "false"
            self._tokenizer = (os.getpid(), Tokenizer.from_str(self.tokenizer_json))
        return self._tokenizer[1]

    def fill(self) -> None:
        """Encode the missing blocks: in the background when there are several and the texts
        are in a cache file that process can read (on the first process of each machine), else now."""
        if self.by_size and self.texts.table.file is not None:
            if self.missing and _local_rank_zero():
                _fill_in_background(self)
            return
        self.write_missing()

    def write_missing(self, stop: threading.Event | None = None) -> None:
        """Encode the blocks the cache lacks, in order (see `write_block`)."""
        for index in self.missing:
            texts = self.texts.at(slice(index * self.block, (index + 1) * self.block))
            self.blocks[index] = _finished(self.names[index]) or write_block(texts, self.tokenizer(), self.max_length, self.special_tokens, self.names[index], stop)


def _local_rank_zero() -> bool:
    """Whether this is the first process on its machine (launchers name the others)."""
    return all(os.environ.get(name, "0") == "0" for name in ("LOCAL_RANK", "SLURM_LOCALID"))


# The background process ---------------------------------------------------------------------

_filler: dict[str, Any] = {}  # this process's filler: {"process": Popen, "folder": Path of job files}


def _fill_in_background(tokens: Tokens) -> None:
    """Hand `tokens`' missing blocks to this process's filler (started on first use, at the
    lowest CPU priority; stopped when this process ends)."""
    import pickle

    if not _filler:
        folder = Path(tempfile.mkdtemp(prefix="zoo-tokens-"))
        command = [sys.executable, "-c", "import sys, json; sys.path[:] = json.loads(sys.argv[1]); from zoo.tokens import fill_from_stdin; fill_from_stdin()", json.dumps(sys.path)]
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        _filler.update(process=process, folder=folder, jobs=itertools.count())
    job = _filler["folder"] / f"{next(_filler['jobs'])}.pickle"
    job.write_bytes(pickle.dumps(tokens))
    try:
        _filler["process"].stdin.write(f"{job}\n")
        _filler["process"].stdin.flush()
    except OSError:  # the filler is gone: what is missing stays encoded when read
        pass


@atexit.register
def _stop_filling() -> None:
    """End the filler: it drops the block it was writing and leaves the finished ones."""
    import shutil

    if not _filler:
        return
    process = _filler.pop("process")
    try:
        process.stdin.close()
        process.wait(timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        process.kill()
        process.wait()
    shutil.rmtree(_filler.pop("folder"), ignore_errors=True)
    _filler.clear()


def fill_from_stdin() -> None:
    """The filler's loop: each line of stdin names a job file (see `_fill_in_background`); the
    blocks are written in order until stdin ends, which stops the block being written."""
    import pickle
    import queue

    if hasattr(os, "nice"):
        os.nice(19)  # before the encoder's threads start, so they inherit it
    jobs: queue.Queue[str | None] = queue.Queue()
    stop = threading.Event()

    def read() -> None:
        for line in sys.stdin:
            jobs.put(line.strip())
        stop.set()
        jobs.put(None)

    threading.Thread(target=read, daemon=True).start()
    while (job := jobs.get()) is not None:
        tokens: Tokens = pickle.loads(Path(job).read_bytes())
        try:
            tokens.write_missing(stop=stop)
        except Stopped:
            return
        except Exception as error:  # noqa: BLE001 (the run goes on: what is missing is encoded when read)
            print(f"zoo: the token cache was not filled ({type(error).__name__}: {error})", file=sys.stderr)
            return


def token_ids(texts: RowTexts, tokenizer: Any, max_length: int | None, special_tokens: bool) -> Tokens:
    """The token ids of `texts`, at most `max_length` each (special tokens included when
    `special_tokens`): read from the cache, encoded now (one block), or encoded when read while
    the cache fills in the background (more)."""
    tokens = Tokens(texts, tokenizer, max_length, special_tokens)
    tokens.fill()
    return tokens


def cache_notes(encoded: Iterable[Tokens]) -> list[str]:
    """A note for the run when some token ids were not in the cache."""
    encoded = list(encoded)
    blocks, missing = sum(len(t.names) for t in encoded), sum(len(t.missing) for t in encoded)
    if not missing:
        return []
    return [
        f"token ids: {blocks - missing} of {blocks} blocks ({BLOCK_TEXTS:,} texts each) were in the data cache; the rest are encoded as batches"
        " are read while a background process at the lowest priority fills the cache for later runs (texts cut to the length limit are counted once it is full)"
    ]
