"""The MNIST result: the default CNN, trained on the first 8,000 images of `<data-root>/mnist`
(the MNIST test set; the training images are not in the shared data) and validated on the
last 2,000, through the command line a user would type.

    uv run python benchmarks/mnist.py [--data-root ../shared/data] [--epochs 6]

Runs `zoo train classification --data <data-root>/mnist data.val_split=last
data.val_fraction=0.2 data.augment=light --max-epochs N --json` in a new process and prints
the validation accuracy after each epoch, the best one (the checkpoint kept), the fit time
and the whole process time. The target: at least 98.5% within 3 minutes of training.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--output", type=Path, default=None, help="where the run folder goes (default: a temp folder)")
    args = parser.parse_args()
    output = args.output or Path(tempfile.mkdtemp(prefix="zoo-mnist-"))
    command = [
        str(Path(sys.executable).with_name("zoo")), "train", "classification",
        "--data", str(args.data_root.resolve() / "mnist"),
        "data.val_split=last", "data.val_fraction=0.2", "data.augment=light",
        "--max-epochs", str(args.epochs), "--output", str(output), "--json",
    ]
    print("$ zoo " + " ".join(command[1:]))
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(done.stderr.strip().splitlines()[-1])
    run = json.loads(done.stdout)
    with open(Path(run["path"]) / "logs" / "metrics.csv", newline="") as file:
        curve = [(int(row["epoch"]) + 1, float(row["val/acc"])) for row in csv.DictReader(file) if row.get("val/acc")]
    val = run["metrics"]["val"]
    print("validation accuracy by epoch: " + ", ".join(f"{epoch}: {acc:.2%}" for epoch, acc in curve))
    print(f"best (kept) checkpoint: acc {val['acc']:.2%}, top-5 {val['top5']:.2%}, macro F1 {val['f1']:.4f}")
    print(f"fit time {run['seconds']:.1f} s ({run['epochs']} epochs); whole process {wall:.1f} s")
    print(f"target (>= 98.5% within 180 s of training): {'met' if val['acc'] >= 0.985 and run['seconds'] <= 180 else 'NOT met'}")
    print(f"run folder: {run['path']}")


if __name__ == "__main__":
    main()
