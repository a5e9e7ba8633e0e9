"""Start-up at scale: how long `zoo train` takes to reach its first training step on an image
folder of many small files and on a COCO JSON listing as many images, and its peak memory.

    uv run python benchmarks/scale_images.py [--counts 10000,100000] [--work DIR] [--warm] [--zoo COMMAND]

For each count N it writes (once; kept under --work and reused when already there):
    DIR/folder-N/class-K/NNNNNNN.png                   N 32x32 RGB PNGs in 10 class folders
    DIR/coco-N/annotations/instances_train2017.json    N images with one or two boxes each,
    DIR/coco-N/train2017/NNNNNNNNNNNN.jpg               64x64 RGB JPEGs (COCO's own layout)
and runs, as subprocesses (the zoo command of this environment, as `uv run zoo` would):
    zoo train classification --data DIR/folder-N ...
    zoo train detection/yolo --data DIR/coco-N/annotations/instances_train2017.json ...
each with --max-epochs 1 trainer.limit_train_batches=20 trainer.limit_val_batches=5.

Measured per run:
    images       the number of images in the data
    peak RSS     the largest sum of RSS over the process and all its descendants (DataLoader
                 workers included), polled from /proc/PID/smaps_rollup every 0.2 s; forked
                 workers share pages with their parent, which this counts once per process
    peak PSS     the same for PSS, which splits shared pages between the processes sharing
                 them: what the tree holds in memory
    first step   wall seconds from starting the process to the first training batch done:
                 the moment the run's progress bar (stderr, `Training: ... k/20`) first shows
                 k >= 1 (it redraws at most every 0.25 s, so this may be a batch late). It
                 covers Python and torch imports, reading and checking the data, building the
                 model, starting DataLoader workers and Lightning's sanity validation steps.
    total        wall seconds until the process exits (training, the final validation, plots,
                 the model folder)

Unless --warm is given, the image files are dropped from this machine's page cache before
each run (posix_fadvise DONTNEED per file, no root needed), so reading them pays the disk (in a
virtual machine the host may still hold them: figures vary from run to run). `--zoo` times
another command, e.g. `python -m cli` run from another checkout, to compare versions.
`image_rows(work, counts)` returns the rows for other benchmarks (benchmarks/scale.py).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

CLASSES = 10
FOLDER_SIDE = 32
COCO_SIDE = 64
VARIANTS = 64  # distinct encoded images per class (files repeat them; headers are what is read)
LIMITS = ["--max-epochs", "1", "trainer.limit_train_batches=20", "trainer.limit_val_batches=5"]
POLL_SECONDS = 0.2
PROGRESS = re.compile(r"Training:.*?\|\s*(\d+)/")
WRITERS = 8  # file-writing threads: the disk, not the CPU, is the limit


# Data ----------------------------------------------------------------------------------------


def _encoded(pixels: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def _write_all(files: list[tuple[Path, bytes]]) -> None:
    def write(pair: tuple[Path, bytes]) -> None:
        pair[0].write_bytes(pair[1])

    with ThreadPoolExecutor(WRITERS) as pool:
        for _ in pool.map(write, files, chunksize=256):
            pass


def _ready(folder: Path) -> bool:
    return (folder / ".complete").is_file()


def _finish(folder: Path) -> None:
    (folder / ".complete").write_text("", encoding="utf-8")


def image_folder(work: Path, count: int) -> Path:
    """`count` small PNGs in 10 class folders (class k: a tinted square with seeded noise)."""
    root = work / f"folder-{count}"
    if _ready(root):
        return root
    shutil.rmtree(root, ignore_errors=True)
    rng = np.random.default_rng(0)
    variants = []
    for label in range(CLASSES):
        tint = rng.integers(0, 256, 3)
        variants.append([
            _encoded(np.clip(tint + rng.normal(0, 20, (FOLDER_SIDE, FOLDER_SIDE, 3)), 0, 255).astype(np.uint8), "PNG")
            for _ in range(VARIANTS)
        ])
    files = []
    for label in range(CLASSES):
        (root / f"class-{label}").mkdir(parents=True)
    for n in range(count):
        label = n % CLASSES
        files.append((root / f"class-{label}" / f"{n:07d}.png", variants[label][(n // CLASSES) % VARIANTS]))
    _write_all(files)
    _finish(root)
    return root


def coco_file(work: Path, count: int) -> Path:
    """A COCO instances JSON of `count` 64x64 JPEGs in COCO's layout (annotations/ beside
    train2017/), each with one or two boxes of 3 categories."""
    root = work / f"coco-{count}"
    json_path = root / "annotations" / "instances_train2017.json"
    if _ready(root):
        return json_path
    shutil.rmtree(root, ignore_errors=True)
    (root / "annotations").mkdir(parents=True)
    (root / "train2017").mkdir()
    rng = np.random.default_rng(1)
    variants = []  # (jpeg bytes, boxes [(x, y, w, h, category)])
    for _ in range(VARIANTS * 4):
        pixels = np.clip(rng.normal(60, 20, (COCO_SIDE, COCO_SIDE, 3)), 0, 255).astype(np.uint8)
        boxes = []
        for _ in range(int(rng.integers(1, 3))):
            w, h = (int(v) for v in rng.integers(10, 30, 2))
            x, y = int(rng.integers(0, COCO_SIDE - w)), int(rng.integers(0, COCO_SIDE - h))
            category = int(rng.integers(1, 4))
            pixels[y : y + h, x : x + w] = 80 * category
            boxes.append((x, y, w, h, category))
        variants.append((_encoded(pixels, "JPEG"), boxes))
    images, annotations, files = [], [], []
    for n in range(count):
        data, boxes = variants[n % len(variants)]
        name = f"{n + 1:012d}.jpg"
        files.append((root / "train2017" / name, data))
        images.append({"id": n + 1, "file_name": name, "width": COCO_SIDE, "height": COCO_SIDE})
        for x, y, w, h, category in boxes:
            annotations.append({"id": len(annotations) + 1, "image_id": n + 1, "category_id": category,
                                "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})
    _write_all(files)
    categories = [{"id": i, "name": name} for i, name in enumerate(("dim", "mid", "bright"), start=1)]
    json_path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}), encoding="utf-8")
    _finish(root)
    return json_path


def evict(folder: Path) -> None:
    """Drop the files under `folder` from the page cache (clean pages only; no root needed)."""
    def drop(path: str) -> None:
        try:
            descriptor = os.open(path, os.O_RDONLY)
        except OSError:
            return
        try:
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(descriptor)

    paths = [os.path.join(top, name) for top, _, names in os.walk(folder) for name in names]
    with ThreadPoolExecutor(WRITERS) as pool:
        for _ in pool.map(drop, paths, chunksize=512):
            pass


# Measuring -----------------------------------------------------------------------------------


def tree_memory(pid: int) -> tuple[int, int]:
    """Bytes of (RSS, PSS) summed over `pid` and its descendants ((0, 0) once it is gone).
    RSS counts pages that forked DataLoader workers share with their parent once per process;
    PSS splits them between the processes, so its sum is what the tree holds."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as file:
                parent = int(file.read().rpartition(")")[2].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    rss = pss = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            with open(f"/proc/{current}/smaps_rollup", encoding="ascii", errors="replace") as file:
                for line in file:
                    if line.startswith(("Rss:", "Pss:")):
                        kilobytes = int(line.split()[1]) * 1024
                        rss, pss = (rss + kilobytes, pss) if line.startswith("Rss:") else (rss, pss + kilobytes)
        except (OSError, ValueError):
            continue
    return rss, pss


def zoo_command() -> list[str]:
    """This environment's `zoo` script (what `uv run zoo` runs), else `uv run zoo`."""
    script = Path(sys.executable).with_name("zoo")
    return [str(script)] if script.is_file() else ["uv", "run", "zoo"]


def measure(arguments: list[str], output: Path, zoo: list[str] | None = None) -> dict[str, Any]:
    """Run `zoo train ARGUMENTS` (`zoo`: the command, by default `zoo_command()`); peak tree
    RSS, seconds to the first training batch, total."""
    command = [*(zoo or zoo_command()), "train", *arguments, *LIMITS, "--output", str(output)]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment)
    first_step: list[float] = []
    captured: dict[str, list[str]] = {"stdout": [], "stderr": []}

    def watch(stream: Any, name: str) -> None:
        pending = ""
        while chunk := stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536):
            pending += chunk.decode("utf-8", "replace")
            *pieces, pending = re.split(r"[\r\n]", pending)
            for piece in pieces:
                captured[name].append(piece)
                match = PROGRESS.search(piece)
                if not first_step and match and int(match.group(1)) >= 1:
                    first_step.append(time.perf_counter() - started)
        captured[name].append(pending)

    readers = [threading.Thread(target=watch, args=(process.stdout, "stdout"), daemon=True),
               threading.Thread(target=watch, args=(process.stderr, "stderr"), daemon=True)]
    for reader in readers:
        reader.start()
    peak_rss = peak_pss = 0
    while process.poll() is None:
        rss, pss = tree_memory(process.pid)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(POLL_SECONDS)
    total = time.perf_counter() - started
    for reader in readers:
        reader.join()
    if process.returncode != 0:
        tail = "\n".join(line for line in captured["stderr"] + captured["stdout"] if line.strip())[-3000:]
        raise RuntimeError(f"{' '.join(command)} failed with status {process.returncode}:\n{tail}")
    return {
        "peak_rss_mb": peak_rss / 2**20,
        "peak_pss_mb": peak_pss / 2**20,
        "first_step_s": first_step[0] if first_step else float("nan"),
        "total_s": total,
    }


def image_rows(work: Path, counts: list[int], warm: bool = False, zoo: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per (data, count): what ran, the number of images, peak RSS (MB) of the process
    tree, seconds to the first training step and in all. The data is written under `work`
    (kept there for the next call); `warm` leaves it in the page cache."""
    rows = []
    for count in counts:
        cases = [
            ("image folder", "classification", image_folder(work, count), ["classification"]),
            ("COCO JSON", "detection/yolo", coco_file(work, count), ["detection/yolo"]),
        ]
        for data, name, path, arguments in cases:
            if not warm:
                evict(path if path.is_dir() else path.parent.parent)
            with tempfile.TemporaryDirectory(prefix="zoo-scale-images-runs-") as output:
                result = measure([*arguments, "--data", str(path)], Path(output), zoo)
            rows.append({"data": data, "task": name, "images": count, **result})
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| data | task | images | peak RSS (MB) | peak PSS (MB) | first step (s) | total (s) |", "|---|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(
            f"| {row['data']} | {row['task']} | {row['images']:,} | {row['peak_rss_mb']:,.0f} | {row['peak_pss_mb']:,.0f} "
            f"| {row['first_step_s']:.1f} | {row['total_s']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="10000,100000", help="image counts, comma-separated")
    parser.add_argument("--work", type=Path, default=None, help="where the data is written (default: a temporary folder)")
    parser.add_argument("--warm", action="store_true", help="leave the image files in the page cache")
    parser.add_argument("--zoo", type=shlex.split, default=None,
                        help="the zoo command to time (default: this environment's); e.g. 'python -m cli' run from another checkout")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",") if c.strip()]
    if args.work is None:
        with tempfile.TemporaryDirectory(prefix="zoo-scale-images-") as work:
            rows = image_rows(Path(work), counts, args.warm, args.zoo)
    else:
        args.work.mkdir(parents=True, exist_ok=True)
        rows = image_rows(args.work, counts, args.warm, args.zoo)
    print(f"{os.cpu_count()} CPUs; files {'warm in' if args.warm else 'dropped from'} the page cache before each run")
    print(markdown(rows))


if __name__ == "__main__":
    main()
