"""The data cache: what reading and tokenizing a user's data produced (Arrow tables, token ids as
flat arrays, trained tokenizers), kept on disk and memory-mapped by the next run on the same data.

Entries are keyed by the content of the data and the settings that shape them, so a changed file
is a new entry and an unchanged one is read back in seconds. Each entry is a folder written
whole (beside its final name, then renamed), so processes sharing the cache never see half an
entry. The cache lives in $ZOO_CACHE, else $XDG_CACHE_HOME/zoo, else ~/.cache/zoo; `zoo cache
clear` empties it. Nothing here imports torch.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

VERSION = 2  # raised when what an entry holds changes, so old entries are not misread
KINDS = ("tables", "tokenizers", "tokens", "arrays", "digests")  # its folders; clearing removes only these
CHUNK = 1 << 22


def root() -> Path:
    """The cache folder (it may not exist yet)."""
    if os.environ.get("ZOO_CACHE"):
        return Path(os.environ["ZOO_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "zoo"


def file_digest(path: Path) -> str:
    """The SHA-256 of a file's bytes (about a second a gigabyte), remembered with the file's size,
    modification time and inode: an unchanged file is hashed once, a changed one again."""
    stat = path.stat()
    fingerprint = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
    memo = root() / "digests" / f"{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32]}.json"
    try:
        remembered = json.loads(memo.read_text())
        if remembered["stat"] == fingerprint:
            return str(remembered["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(CHUNK):
            digest.update(block)
    memo.parent.mkdir(parents=True, exist_ok=True)
    partial = memo.with_name(f"{memo.name}.{uuid.uuid4().hex}.partial")
    partial.write_text(json.dumps({"path": str(path.resolve()), "stat": fingerprint, "sha256": digest.hexdigest()}))
    partial.replace(memo)
    return digest.hexdigest()


def key(*parts: Any) -> str:
    """A short key for the JSON-able `parts` (data digests and the settings that shape an entry)."""
    text = json.dumps([VERSION, *parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def entry(kind: str, name: str) -> Path:
    """The folder of one entry (present only once it was written whole)."""
    return root() / kind / name


@contextmanager
def writing(kind: str, name: str) -> Iterator[Path]:
    """A fresh folder to fill; it becomes entry(kind, name) when the block ends without error.
    When another process finished the same entry meanwhile, its copy is kept."""
    final = entry(kind, name)
    partial = final.with_name(f".{name}.{uuid.uuid4().hex}.partial")
    partial.mkdir(parents=True)
    try:
        yield partial
        try:
            partial.rename(final)
        except OSError:
            if not final.is_dir():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def mapped(path: Path) -> mmap.mmap:
    """The whole of a cache file, memory-mapped read-only."""
    with open(path, "rb") as stream:
        return mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)


def mapped_array(path: Path) -> tuple[Any, mmap.mmap]:
    """(the array in a .npy file, read-only over its memory map; the map)."""
    import numpy as np

    with open(path, "rb") as stream:
        version = np.lib.format.read_magic(stream)
        header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = header(stream)
        start = stream.tell()
    mapping = mapped(path)
    count = int(np.prod(shape))
    array = np.frombuffer(mapping, dtype, count, start) if count else np.zeros(0, dtype)
    return array.reshape(shape, order="F" if fortran else "C"), mapping


def release(mapping: mmap.mmap | None) -> None:
    """Unmap the pages of `mapping` this process has read; they stay in the page cache and map
    again when read. The kernel maps a cached file a folio (up to 2 MB) at a time, so reading rows
    here and there would otherwise count megabytes for each in this process."""
    if mapping is not None and hasattr(mmap, "MADV_DONTNEED"):
        mapping.madvise(mmap.MADV_DONTNEED)


def size(folder: Path | None = None) -> int:
    """Bytes held under `folder` (by default, all entries)."""
    folders = [root() / kind for kind in KINDS] if folder is None else [folder]
    return sum(f.stat().st_size for path in folders if path.is_dir() for f in path.rglob("*") if f.is_file())


def clear() -> int:
    """Remove every entry; the bytes freed."""
    freed = 0
    for kind in KINDS:
        folder = root() / kind
        freed += size(folder)
        shutil.rmtree(folder, ignore_errors=True)
    return freed
