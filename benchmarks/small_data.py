"""Small data: each task trained with its defaults on a few hundred rows of real data, against
the same run in the task's usual batch size (data.max_batch_size), which is what the defaults
were before batch sizes followed the data's size:

    uv run --with scikit-learn python benchmarks/small_data.py [--data-root ../shared/data] [--tasks classification ...]
        [--seeds 0 1 2] [--arms defaults usual]

The samples (written to a temp folder, the shared data read in place):
- classification: 300 MNIST images (the first 300 of `mnist`), validated on 500 others;
- sentiment: 500 SST-2 training phrases drawn with seed 0, validated on its 872 dev sentences;
- translation: the first 3,000 Multi30k de-en training pairs, validated on 300 of its validation pairs;
- summarization: the first 500 SAMSum training dialogues, validated on 200 of its validation
  dialogues; the lead-3 baseline (`summarization/lead`) is scored on them too;
- gan: the same 300 MNIST images, and 500 others as FID's reference, FID taken in the feature
  space of a `classification/cnn` trained for 3 epochs on MNIST images 1,000-7,999 (none of
  the sample's);
- linear-regression: the diabetes table (Efron et al. 2004: 442 patients, 10 measurements, a
  disease score a year on), which scikit-learn ships (the shared data holds no regression
  table; `--with scikit-learn` brings it), with the task's 20% validation split.
Each run is `zoo.train(TASK, data=SAMPLE)` with the task's default model and epochs; the other
arm adds `data.batch_size=<data.max_batch_size>`. It prints the batch size, the validation
metric of the kept checkpoint per seed, their median, and the fit time.
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

FEATURE_ROWS = range(1000, 8000)  # MNIST images the GAN's feature classifier trains on


def mnist_folders(root: Path, out: Path, splits: dict[str, range]) -> Path:
    """MNIST test-set images as folders `out/<split>/<digit>/<row>.png`."""
    images = np.frombuffer(gzip.open(root / "mnist" / "t10k-images-idx3-ubyte.gz").read(), np.uint8, offset=16).reshape(-1, 28, 28)
    labels = np.frombuffer(gzip.open(root / "mnist" / "t10k-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
    for split, rows in splits.items():
        for row in rows:
            folder = out / split / str(labels[row])
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(images[row]).save(folder / f"{row}.png")
    return out


def mnist(root: Path, out: Path) -> Path:
    return mnist_folders(root, out, {"train": range(300), "val": range(8000, 8500)})


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


def diabetes(root: Path, out: Path) -> Path:
    from sklearn.datasets import load_diabetes

    out.mkdir(parents=True)
    load_diabetes(as_frame=True, scaled=False).frame.to_csv(out / "diabetes.csv", index=False)
    return out / "diabetes.csv"


def feature_space(root: Path, work: Path) -> dict[str, str]:
    """The GAN's FID space: a classification/cnn run on MNIST images none of the sample's."""
    data = mnist_folders(root, work / "features", {"train": FEATURE_ROWS[:-1000], "val": FEATURE_ROWS[-1000:]})
    run = zoo.train("classification", data=data, max_epochs=3, output=work / "runs", progress=False)
    print(f"gan feature space: classification/cnn, 3 epochs on MNIST images {FEATURE_ROWS.start}-{FEATURE_ROWS.stop - 1}, "
          f"val acc {run.metrics['val']['acc']:.2%}", flush=True)
    return {"metrics.features": str(run.path)}


BASELINES = {"summarization": "summarization/lead"}  # scored once on the sample, for scale

SAMPLES: dict[str, tuple[Callable[[Path, Path], Path], str]] = {
    "classification": (mnist, "acc"),
    "sentiment": (sst2, "acc"),
    "translation": (multi30k, "bleu"),
    "summarization": (samsum, "rouge1"),
    "gan": (mnist, "fid"),
    "linear-regression": (diabetes, "mse"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--tasks", nargs="+", default=list(SAMPLES), choices=list(SAMPLES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", default=["defaults", "usual"], choices=["defaults", "usual"])
    args = parser.parse_args()
    root = args.data_root.resolve()
    work = Path(tempfile.mkdtemp(prefix="zoo-small-"))
    for name in args.tasks:
        write, metric = SAMPLES[name]
        data = write(root, work / name)
        task = find_task(name)
        usual = defaults(task, task.default_model)["data"]["max_batch_size"]
        common = feature_space(root, work) if name == "gan" else {}
        if name in BASELINES:
            baseline = zoo.train(BASELINES[name], data=data, output=work / "runs", progress=False)
            print(f"{name}: baseline {BASELINES[name]} val/{metric} {baseline.metrics['val'][metric]:.4f}", flush=True)
        arms = {"defaults": ("defaults", {}), "usual": (f"batch {usual}", {"data.batch_size": usual})}
        for arm, overrides in (arms[chosen] for chosen in args.arms):
            scores, seconds = [], []
            for seed in args.seeds:
                run = zoo.train(name, data=data, seed=seed, output=work / "runs", progress=False, overrides={**common, **overrides})
                scores.append(run.metrics["val"][metric])
                seconds.append(run.seconds)
                batch = yaml.safe_load((run.path / "config.yaml").read_text())["data"]["batch_size"]
                print(f"{name} ({arm}) seed {seed}: batch {batch}, val/{metric} {scores[-1]:.4f}, {run.seconds:.0f} s", flush=True)
            print(f"== {name} ({arm}): median val/{metric} {statistics.median(scores):.4f} over seeds {args.seeds} "
                  f"({', '.join(f'{s:.4f}' for s in scores)}); median fit {statistics.median(seconds):.0f} s", flush=True)


if __name__ == "__main__":
    main()
