"""The run folder: where each part lives, how a new one is named, and what "finished" means.

    runs/<task>/<model>/<timestamp>/
        config.yaml  checkpoints/  model/  metrics.json  logs/  plots/

A run is finished when it has both model/ and metrics.json; they are written last. One that
stopped before (Ctrl-C, an error) says why in stopped.json; one being trained holds its lock.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from itertools import count
from pathlib import Path
from typing import Any

from zoo import sharing
from zoo.errors import ZooError, counted
from zoo.files import read_text, reading, written_whole

# Lightning re-launches `zoo train` once per extra DDP process; they join rank 0's folder.
RUN_DIR_ENV = "ZOO_RUN_DIR"
DATA_INFO = "data_info.json"  # the facts of the run's first data build (classes, tokenizer...)


def new_run_dir(output: Path, task: str, model: str) -> Path:
    """A fresh, empty folder runs/<task>/<model>/<timestamp>[-n]."""
    joined = os.environ.get(RUN_DIR_ENV)
    if joined:
        return Path(joined)
    base = output / task / re.sub(r"[^\w.-]+", "_", model)
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    for n in count():
        path = base / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            path.mkdir(parents=True)
            break
        except FileExistsError:
            continue
    return path


LOCK = "training.lock"  # held, with the holder's process id in it, while a process trains in the folder
STOPPED = "stopped.json"  # {"state": "interrupted" or "failed", "error": its first line}: why a run stopped unfinished
STATES = ("finished", "training", "interrupted", "failed")


def run_state(run: Path) -> str:
    """One of STATES: interrupted also for a process killed without a word (it wrote no stopped.json)."""
    if (run / "model").is_dir() and (run / "metrics.json").is_file():
        return "finished"
    if is_training(run):
        return "training"
    try:
        stopped = json.loads((run / STOPPED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "interrupted"
    return "failed" if isinstance(stopped, dict) and stopped.get("state") == "failed" else "interrupted"


def is_training(run: Path) -> bool:
    """Whether a process holds `run`'s training lock now."""
    try:
        descriptor = os.open(run / LOCK, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # and with it the shared lock, if taken
    return False


@contextmanager
def training_lock(run: Path) -> Iterator[None]:
    """Hold `run`'s lock while this process trains in it, so that a second `zoo train --resume`
    of the same folder stops with one line instead of writing over the first. The lock is
    the operating system's (flock), so a process that died holds none, whatever file it left."""
    path = run / LOCK
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(descriptor, 32).decode(errors="replace").strip() or "?"
            os.close(descriptor)
            raise ZooError(f"{run} is being trained by another process (pid {holder})", "wait for it to finish, or stop it and resume again") from None
        if path.exists() and path.stat().st_ino == os.fstat(descriptor).st_ino:
            break  # not a file its last holder removed while this process waited for it
        os.close(descriptor)
    try:
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):  # a failed fresh run's folder is gone with it
            path.unlink()
        os.close(descriptor)


def model_dir(path: str | Path) -> Path:
    """The model/ folder of a run folder, or `path` itself when it is a model/ folder; for a
    Hub model (`hf://ORG/NAME[@revision]`), its folder in the Hugging Face cache."""
    if sharing.is_hub(path):
        return sharing.download(str(path))
    path = Path(path)
    if (path / "config.json").is_file():
        return path
    if (path / "model" / "config.json").is_file():
        return path / "model"
    if not path.exists():
        raise ZooError(f"{path} does not exist", "pass a run folder (runs/<task>/<model>/<time>) or its model/ folder")
    if (path / "config.yaml").is_file():
        if (path / "checkpoints" / "last.ckpt").is_file():
            raise ZooError(f"run {path} did not finish: it has no model/", f"finish it with `zoo train --resume {path}`")
        raise ZooError(f"run {path} stopped before its first epoch finished: it has no model/ and no checkpoint", NOTHING_SAVED)
    finished = sorted(run.parent for run in path.glob("*/model/config.json")) if path.is_dir() else []
    if finished:
        raise ZooError(f"{path} is a folder of runs ({counted(len(finished), 'finished run')}), not a run", f"pass one of them, such as the latest: {finished[-1]}")
    raise ZooError(f"{path} is not a zoo run or model folder", "it has no model/config.json")


NOTHING_SAVED = "train again (that folder can be deleted)"


def beside(path: str | Path) -> Path:
    """Where commands write their files for model `path` (exports, pictures): its run folder,
    a lone model/ folder itself, or for a Hub model the working folder, not the Hub's cache."""
    if sharing.is_hub(path):
        return Path.cwd()
    folder = model_dir(path)
    return folder.parent if (folder.parent / "config.yaml").is_file() else folder


def last_checkpoint(run: Path) -> Path:
    """The checkpoint `--resume` continues from."""
    checkpoint = run / "checkpoints" / "last.ckpt"
    if not run.is_dir():
        raise ZooError(f"{run} does not exist", "pass --resume a run folder (runs/<task>/<model>/<time>)")
    if not (run / "config.yaml").is_file():
        raise ZooError(f"{run} is not a run folder", "it has no config.yaml")
    if not checkpoint.is_file():
        raise ZooError(f"{run} has no checkpoints/last.ckpt: it stopped before its first epoch finished", NOTHING_SAVED)
    return checkpoint


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A Lightning checkpoint, read without unpickling anything but tensors and plain data,
    and checked for the parts zoo reads (a damaged or foreign file is one ZooError)."""
    from zoo.weights import load_weights_only

    damaged = "it is damaged (a run killed while writing it?) or not zoo's; resume from a copy, or train again"
    with reading(path, "a zoo training checkpoint", damaged):
        checkpoint = load_weights_only(path, "zoo loads only checkpoints that need no code to read: resume from one zoo wrote, or train again", mmap=True)
    checkpoint = checkpoint if isinstance(checkpoint, dict) else {}
    hparams = checkpoint.get("hyper_parameters")
    if not isinstance(checkpoint.get("state_dict"), dict) or not isinstance(checkpoint.get("epoch"), int) or not (
        isinstance(hparams, dict) and isinstance(hparams.get("config"), dict) and isinstance(hparams.get("info"), dict)
    ):
        raise ZooError(f"{path} is not a zoo training checkpoint: it lacks its weights, epoch, config or data info", damaged)
    return checkpoint


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically: readers never see half a file."""
    with written_whole(path) as partial:
        partial.write_text(json.dumps(data, indent=2, allow_nan=True) + "\n", encoding="utf-8")


def read_log(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV metrics log (none when it does not exist); every value but the
    empty ones a number, or the log is damaged (a ZooError naming it)."""
    if not path.is_file():
        return []
    with reading(path, "a metrics log as zoo writes it", "move the damaged log away; training writes a new one"):
        rows = list(csv.DictReader(io.StringIO(read_text(path), newline="")))
        for row in rows:
            for value in row.values():
                if value not in ("", None):
                    float(value)  # a cut or foreign log fails here, not after training
    return rows


def prepend_log(path: Path, earlier: list[dict[str, str]]) -> None:
    """Put the rows of an earlier session back in front of `path` (Lightning's CSV logger
    starts a fresh file, which would lose them on --resume)."""
    if earlier:
        write_log(path, earlier + read_log(path))


def write_log(path: Path, rows: list[dict[str, str]]) -> None:
    """Write CSV log rows atomically (the columns of every row, in order of appearance)."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with written_whole(path) as partial, partial.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
