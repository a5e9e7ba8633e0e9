"""Small data: each task trained with its defaults on a few hundred rows of the shared data,
against the same run in the task's usual batch size (data.max_batch_size), which is what the
defaults were before batch sizes followed the data's size:

    uv run python benchmarks/small_data.py [--data-root ../shared/data] [--tasks classification ...] [--seeds 0 1 2]

The samples (written to a temp folder, the shared data read in place):
- classification: 300 MNIST images (the first 300 of `mnist`), validated on 500 others;
- sentiment: 500 SST-2 training phrases drawn with seed 0, validated on its 872 dev sentences;
- translation: the first 3,000 Multi30k de-en training pairs, validated on 300 of its validation pairs;
- summarization: the first 500 SAMSum training dialogues, validated on 200 of its validation dialogues.
Each run is `zoo.train(TASK, data=SAMPLE, max_epochs=10)`; the other arm adds
`data.batch_size=<data.max_batch_size>`. It prints the batch size, steps, the validation metric
of the kept checkpoint per seed, their median, and the fit time.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

import zoo
from zoo.config import defaults
from zoo.plugins import find_task

EPOCHS = 10


def mnist(root: Path, out: Path) -> Path:
    images = np.frombuffer(gzip.open(root / "mnist" / "t10k-images-idx3-ubyte.gz").read(), np.uint8, offset=16).reshape(-1, 28, 28)
    labels = np.frombuffer(gzip.open(root / "mnist" / "t10k-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
    for split, rows in (("train", range(300)), ("val", range(8000, 8500))):
        for row in rows:
            folder = out / split / str(labels[row])
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(images[row]).save(folder / f"{row}.png")
    return out


def sst2(root: Path, out: Path) -> Path:
    lines = gzip.open(root / "sst2" / "train.tsv.gz", "rt", encoding="utf-8").read().splitlines()
    out.mkdir(parents=True)
    (out / "train.tsv").write_text("\n".join([lines[0], *random.Random(0).sample(lines[1:], 500)]) + "\n", encoding="utf-8")
    (out / "validation.tsv").write_text((root / "sst2" / "dev.tsv").read_text(encoding="utf-8"), encoding="utf-8")
    return out


def multi30k(root: Path, out: Path) -> Path:
    out = out / "de-en"
    out.mkdir(parents=True)
    for split, count in (("train", 3000), ("val", 300)):
        for lang in ("de", "en"):
            lines = gzip.open(root / "multi30k_de_en" / f"{split}.{lang}.gz", "rt", encoding="utf-8").read().splitlines()
            (out / f"{split}.{lang}").write_text("\n".join(lines[:count]) + "\n", encoding="utf-8")
    return out


def samsum(root: Path, out: Path) -> Path:
    out.mkdir(parents=True)
    for split, name, count in (("train", "train", 500), ("val", "validation", 200)):
        lines = gzip.open(root / "samsum" / f"{split}.jsonl.gz", "rt", encoding="utf-8").read().splitlines()
        rows = [line for line in lines if json.loads(line)["document"].strip()][:count]
        (out / f"{name}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return out


SAMPLES: dict[str, tuple[Callable[[Path, Path], Path], str]] = {
    "classification": (mnist, "acc"),
    "sentiment": (sst2, "acc"),
    "translation": (multi30k, "bleu"),
    "summarization": (samsum, "rouge1"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--tasks", nargs="+", default=list(SAMPLES), choices=list(SAMPLES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="zoo-small-"))
    for name in args.tasks:
        write, metric = SAMPLES[name]
        data = write(args.data_root.resolve(), work / name)
        task = find_task(name)
        usual = defaults(task, task.default_model)["data"]["max_batch_size"]
        for arm, overrides in (("defaults", {}), (f"batch {usual}", {"data.batch_size": usual})):
            scores, seconds = [], []
            for seed in args.seeds:
                run = zoo.train(name, data=data, max_epochs=EPOCHS, seed=seed, output=work / "runs", progress=False, overrides=overrides)
                scores.append(run.metrics["val"][metric])
                seconds.append(run.seconds)
                batch = yaml.safe_load((run.path / "config.yaml").read_text())["data"]["batch_size"]
                print(f"{name} ({arm}) seed {seed}: batch {batch}, val/{metric} {scores[-1]:.4f}, {run.seconds:.0f} s", flush=True)
            print(f"== {name} ({arm}): median val/{metric} {statistics.median(scores):.4f} over seeds {args.seeds} "
                  f"({', '.join(f'{s:.4f}' for s in scores)}); median fit {statistics.median(seconds):.0f} s", flush=True)


if __name__ == "__main__":
    main()
