"""The SST-2 results: each sentiment model from random init, trained on the GLUE training
phrases of `<data-root>/sst2` (train.tsv.gz, 67,349) and selected on its dev sentences (dev.tsv,
872), the way a user would run it:

    uv run python benchmarks/sst2.py [--data-root ../shared/data] [--models textcnn bilstm transformer]

For each model: `zoo train sentiment/<model> --data <data-root>/sst2 --max-epochs N` with the
model's defaults, then the dev accuracy after each epoch, the best
one (the checkpoint kept) with the time it took to get there, and the whole fit time. The
target for textcnn: at least 82.7% dev accuracy (Kim 2014's CNN-rand) within 15 minutes.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import zoo

EPOCHS = {"textcnn": 6, "bilstm": 4, "transformer": 3}
TARGET = {"textcnn": (0.827, 15 * 60)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--models", nargs="+", default=list(EPOCHS), choices=list(EPOCHS))
    parser.add_argument("--output", type=Path, default=None, help="where the run folders go (default: a temp folder)")
    args = parser.parse_args()
    output = args.output or Path(tempfile.mkdtemp(prefix="zoo-sst2-"))
    data = args.data_root.resolve() / "sst2"
    rows = []
    for name in args.models:
        print(f"$ zoo train sentiment/{name} --data {data} --max-epochs {EPOCHS[name]}", flush=True)
        run = zoo.train(f"sentiment/{name}", data=data, max_epochs=EPOCHS[name], output=output, progress=False)
        with open(run.path / "logs" / "metrics.csv", newline="") as file:
            curve = [float(row["val/acc"]) for row in csv.DictReader(file) if row.get("val/acc")]
        best = max(range(len(curve)), key=curve.__getitem__)
        to_best = run.seconds * (best + 1) / len(curve)  # epochs take about equal time
        print("  dev accuracy by epoch: " + ", ".join(f"{i + 1}: {acc:.2%}" for i, acc in enumerate(curve)))
        print(f"  best: {curve[best]:.2%} after epoch {best + 1} ({to_best / 60:.1f} min); fit {run.seconds / 60:.1f} min; macro F1 {run.metrics['val']['f1']:.4f}")
        if name in TARGET:
            least, seconds = TARGET[name]
            print(f"  target (>= {least:.1%} within {seconds / 60:.0f} min): {'met' if curve[best] >= least and to_best <= seconds else 'NOT met'}")
        params = sum(p.numel() for p in zoo.load(run.path).parameters())
        rows.append((name, params, curve[best], best + 1, to_best, run.seconds))
        print(f"  run folder: {run.path}", flush=True)
    print("\n| model | parameters | dev accuracy | best epoch | time to best | fit time |")
    print("|---|---|---|---|---|---|")
    for name, params, accuracy, epoch, to_best, seconds in rows:
        print(f"| {name} | {params:,} | {accuracy:.2%} | {epoch} | {to_best / 60:.1f} min | {seconds / 60:.1f} min |")


if __name__ == "__main__":
    main()
