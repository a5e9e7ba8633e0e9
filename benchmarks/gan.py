"""GAN results: mode coverage on the ring of 8 Gaussians, and DCGAN on MNIST with FID in a zoo
MNIST classifier's feature space beside the real-data floor.

    uv run python benchmarks/gan.py ring  [--seeds 0 1 2]
    uv run python benchmarks/gan.py mnist [--data-root ../shared/data] [--epochs 10] [--classifier-epochs 3]

ring:  `zoo train gan` (gan/mlp-gan on the embedded ring, defaults) once per seed; prints modes
       covered (of 8), the share of high-quality samples (within 3 standard deviations of a
       mode) of the kept checkpoint, per seed, and the fit time. Target: 8/8 modes and >= 90%
       high-quality samples within 2 minutes.
mnist: the MNIST test images of `<data-root>/mnist` (the training images are not in the shared
       data): first `zoo train classification` on them (first 8,000 train, last 2,000 validate),
       then `zoo train gan/dcgan` on the same split with metrics.features=<that run>; prints FID
       and KID per epoch beside the floor (real training images against the validation images)
       and the times. Target: within 20 minutes.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from pathlib import Path

import torch

import zoo

OUTPUT = Path(tempfile.mkdtemp(prefix="zoo-bench-gan-"))


def ring(args: argparse.Namespace) -> None:
    print(f"gan/mlp-gan on the ring of 8 Gaussians, defaults, torch {torch.__version__}, {torch.get_num_threads()} threads")
    seconds = []
    for seed in args.seeds:
        run = zoo.train("gan", output=OUTPUT, seed=seed, progress=False)
        val = run.metrics["val"]
        seconds.append(run.seconds)
        print(f"  seed {seed}: {val['modes']:.0f}/8 modes, {val['hq']:.2%} high-quality (balanced {val['balanced_hq']:.2%}); fit {run.seconds:.1f} s, {run.epochs} epochs; {run.path}")
    print(f"  median fit {statistics.median(seconds):.1f} s")


def mnist(args: argparse.Namespace) -> None:
    data = (args.data_root / "mnist").resolve()
    split = {"data.val_split": "last", "data.val_fraction": 0.2}
    started = time.perf_counter()
    classifier = zoo.train("classification", data=data, output=OUTPUT, max_epochs=args.classifier_epochs, progress=False, overrides=split)
    print(f"feature space: classification/cnn on MNIST, {classifier.epochs} epochs, val acc {classifier.metrics['val']['acc']:.2%}, fit {classifier.seconds:.1f} s")
    gan = zoo.train("gan/dcgan", data=data, output=OUTPUT, max_epochs=args.epochs, progress=False,
                    overrides={**split, "metrics.features": str(classifier.path)})
    total = time.perf_counter() - started
    rows = list(csv.DictReader((gan.path / "logs" / "metrics.csv").open()))
    print(f"gan/dcgan on MNIST (8,000 train, 2,000 validate), {gan.epochs} epochs:")
    for row in (r for r in rows if r.get("val/fid")):
        print(f"  epoch {int(float(row['epoch'])) + 1:3d}: FID {float(row['val/fid']):.3f}  KID {float(row['val/kid']):.5f}"
              f"  (floor: FID {float(row['val/fid_floor']):.3f}, KID {float(row['val/kid_floor']):.5f})")
    val = gan.metrics["val"]
    print(f"  kept checkpoint: FID {val['fid']:.3f} (floor {val['fid_floor']:.3f}), KID {val['kid']:.5f} ± {val['kid_std']:.5f} (floor {val['kid_floor']:.5f})")
    print(f"  DCGAN fit {gan.seconds:.1f} s; classifier and DCGAN together {total:.1f} s")
    print(f"  sample grid: {gan.path / 'plots' / 'samples.png'}; interpolation: {gan.path / 'plots' / 'interpolation.png'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    ring_parser = commands.add_parser("ring")
    ring_parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    mnist_parser = commands.add_parser("mnist")
    mnist_parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    mnist_parser.add_argument("--epochs", type=int, default=10)
    mnist_parser.add_argument("--classifier-epochs", type=int, default=3)
    args = parser.parse_args()
    {"ring": ring, "mnist": mnist}[args.command](args)


if __name__ == "__main__":
    main()
