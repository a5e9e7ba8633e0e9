"""Reading the files zoo is handed: one home for turning a damaged, truncated, binary or
foreign file into one ZooError that names it (and the line, where there is one), never a
traceback. Nothing here imports torch.
"""

from __future__ import annotations

import codecs
import gzip
import json
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zoo.errors import ZooError

JSON_KINDS = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number", bool: "true or false", type(None): "null"}
YAML_KINDS = {**JSON_KINDS, dict: "a mapping", list: "a list", type(None): "nothing"}
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def read_text(path: Path) -> str:
    """A text file (gzipped when it ends in .gz) decoded as UTF-8; bad bytes are named by line,
    and a UTF-16 or binary file is called what it is."""
    data = read_bytes(path)
    if data.startswith(UTF16_BOMS):
        raise ZooError(f"{path} is UTF-16 text, not UTF-8", "save the file as UTF-8")
    if b"\0" in data[:8192]:
        raise ZooError(f"{path} is a binary file, not text", "pass the text file itself")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _not_utf8(path, data, error) from None


def _not_utf8(path: Path, data: bytes, error: UnicodeDecodeError) -> ZooError:
    """One line naming the first line of `data` that is not UTF-8 text (where `error` arose)
    and counting the others: a file in another encoding is one mistake, however many lines show it."""
    start = error.start
    begin = data.rfind(b"\n", 0, start) + 1
    first = data.count(b"\n", 0, begin) + 1
    others = 0
    for line in data[data.find(b"\n", start) + 1 or len(data):].split(b"\n"):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            others += 1
    more = f"; {others} more line{'s' if others > 1 else ''} like it" if others else ""
    return ZooError(f"{path}:{first}: bytes that are not UTF-8 text ({data[start:error.end]!r}){more}", "save the file as UTF-8")


def read_bytes(path: Path) -> bytes:
    """A file's bytes, gunzipped when it ends in .gz; a missing, unreadable or damaged gzip
    file is one ZooError."""
    if not path.is_file():
        raise ZooError(f"{path} does not exist" if not path.exists() else f"{path} is not a file")
    try:
        return gzip.decompress(path.read_bytes()) if path.suffix.lower() == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        raise ZooError(f"{path} cannot be read ({error})", "check that the file is whole") from None


def read_json(path: Path, what: str, shape: type = dict, hint: str | None = None) -> Any:
    """The JSON document in `path`, which must be `what` (a JSON `shape`: an object, by default)."""
    text = read_text(path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        problem = f"{path} is empty" if not text.strip() else f"{path}:{error.lineno}:{error.colno}: invalid JSON ({error.msg})"
        raise ZooError(f"{problem}; it should be {what}", hint) from None
    if not isinstance(document, shape):
        raise ZooError(f"{path} holds {json_kind(document)}, not {what} (a JSON {JSON_KINDS[shape].split()[-1]})", hint)
    return document


def read_yaml(path: Path, what: str, hint: str | None = None) -> Any:
    """The YAML document in `path` (None when it holds none), which should be `what`; a
    syntax error is named by line and column."""
    import yaml

    text = read_text(path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ZooError(f"{where}: invalid YAML ({getattr(error, 'problem', None) or first_line(error)}); it should be {what}", hint) from None


def json_kind(value: Any) -> str:
    """What a JSON value is, in words ("an array", "a number")."""
    return JSON_KINDS.get(type(value), "a value")


def yaml_kind(value: Any) -> str:
    """What a YAML value is, in words ("a list", "a mapping")."""
    return YAML_KINDS.get(type(value), "a value")


@contextmanager
def reading(path: Path | str, what: str, hint: str | None = None) -> Iterator[None]:
    """Inside, any error while parsing `path` is the file's fault: it becomes one ZooError
    saying the file is empty, or is not `what` (with the parser's first line; `--debug` keeps
    the cause)."""
    try:
        yield
    except ZooError:
        raise
    except Exception as error:  # parsers raise many types (ValueError, OSError, struct.error, their own)
        empty = Path(path).is_file() and not Path(path).stat().st_size
        problem = f"is empty; it should be {what}" if empty else f"is not {what}: {first_line(error)}"
        raise ZooError(f"{path} {problem}", hint or "check that the file is whole and of that kind") from error


@contextmanager
def written_whole(path: Path) -> Iterator[Path]:
    """A path beside `path` to write; it replaces `path` once the block ends without error, so
    readers, and a run killed meanwhile, never see half a file."""
    partial = path.with_name(path.name + ".partial")
    yield partial
    partial.replace(path)


def first_line(error: BaseException) -> str:
    """The first line of an error's message, or its type when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
