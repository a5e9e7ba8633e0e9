"""`zoo tune` on real data: does 20 trials' search beat the default config, and how many epochs
does the pruner save? On the SST-2 sentence-level subset of the shared data (Kim 2014's split:
6,920 training and 872 dev sentences, `<data-root>/sst2/stsa.binary.*`), sentiment/textcnn:

    uv run python benchmarks/tune.py [--data-root ../shared/data] [--trials 20] [--epochs 5]

First `zoo train sentiment/textcnn` with the defaults (lr 1e-3, dropout 0.5, batch 64) and
--epochs; then `zoo tune sentiment/textcnn --trials 20` over optim.lr, model.dropout and
data.batch_size, the same epochs per trial, pruning on. Both select on the dev sentences (the
monitored val/acc). Printed: the default's dev accuracy, the best trial's, the epochs the trials
trained against those they would have trained unpruned, and the times. Targets: the best trial
at least as good as the default; the pruner saving at least 30% of the epochs.
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
import time
from pathlib import Path

import zoo
from zoo.tuning import tune

SEARCH = ["optim.lr=loguniform(1e-4,1e-2)", "model.dropout=uniform(0.1,0.7)", "data.batch_size=choice(16,32,64,128)"]


def sentence_split(data_root: Path, folder: Path) -> Path:
    """train.tsv and dev.tsv (sentence, label) in `folder`, from the `label sentence` lines of Kim's files."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = {"train.tsv": gzip.open(data_root / "sst2" / "stsa.binary.train.gz", "rt", encoding="utf-8"),
               "dev.tsv": open(data_root / "sst2" / "stsa.binary.dev", encoding="utf-8")}
    for name, source in sources.items():
        with source, open(folder / name, "w", encoding="utf-8") as target:
            target.write("sentence\tlabel\n")
            for line in source:
                label, _, sentence = line.strip().partition(" ")
                if sentence:
                    target.write(f"{sentence}\t{label}\n")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--output", type=Path, default=None, help="where the runs and the study go (default: a temp folder)")
    args = parser.parse_args()
    output = args.output or Path(tempfile.mkdtemp(prefix="zoo-tune-"))
    data = sentence_split(args.data_root.resolve(), output / "data")

    started = time.perf_counter()
    default = zoo.train("sentiment/textcnn", data=data, max_epochs=args.epochs, output=output / "default", progress=False)
    default_seconds = time.perf_counter() - started
    default_acc = default.metrics["val"]["acc"]
    print(f"default config: dev accuracy {default_acc:.2%} after {default.epochs} epochs ({default_seconds:.0f} s)", flush=True)

    started = time.perf_counter()
    result = tune("sentiment/textcnn", trials=args.trials, search=SEARCH, data=data, max_epochs=args.epochs, output=output / "tune")
    tune_seconds = time.perf_counter() - started
    best, epochs = result["best"], result["epochs"]
    saved = 1 - epochs["trained"] / epochs["unpruned"]
    states = [row["state"] for row in result["trials"]]
    print(f"\nzoo tune, {len(states)} trials ({states.count('complete')} complete, {states.count('pruned')} pruned, {states.count('fail')} failed), {tune_seconds / 60:.1f} min")
    print(f"best trial {best['trial']}: dev accuracy {best['value']:.2%} with " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in best["params"].items()))
    print(f"epochs: {epochs['trained']} trained of {epochs['unpruned']} unpruned: the pruner saved {saved:.0%}")
    print(f"\n| | dev accuracy | epochs | time |\n|---|---|---|---|\n| default config | {default_acc:.2%} | {default.epochs} | {default_seconds / 60:.1f} min |")
    print(f"| zoo tune, best of {len(states)} trials | {best['value']:.2%} | {epochs['trained']} in all ({saved:.0%} pruned away) | {tune_seconds / 60:.1f} min |")
    print(f"\ntargets: best >= default {'met' if best['value'] >= default_acc else 'NOT met'}; pruning saves >= 30% {'met' if saved >= 0.3 else 'NOT met'}")
    print(f"study: {result['storage']}; best config: {best['config']}; plot: {result['plot']}")


if __name__ == "__main__":
    main()
