"""The SAMSum result: the lead baseline and the default summarization transformer from random
init, trained on `<data-root>/samsum` (train.jsonl.gz, 14,732 dialogues) and selected and
reported on its validation dialogues (val.jsonl.gz, 818), the way a user would run it:

    uv run python benchmarks/samsum.py [--data-root ../shared/data] [--epochs 4] [--models lead transformer]

For each model: `zoo train summarization/<model> --data <data-root>/samsum --max-epochs N`
with the model's defaults, then ROUGE-1/2/L/Lsum on val (rouge-score, stemmed, F x100), the
validation ROUGE-1 after each epoch (greedy decoding) and the time taken; the final scores are
those of the kept checkpoint decoded with the default beam. For comparison, Gliwa et al. (2019)
report about 37 ROUGE-1 for models trained from scratch and about 32 for longest-3 sentences.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import zoo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--epochs", type=int, default=4, help="for the trained models")
    parser.add_argument("--models", nargs="+", default=["lead", "transformer"], choices=["lead", "transformer", "gru-attention"])
    parser.add_argument("--output", type=Path, default=None, help="where the run folders go (default: a temp folder)")
    args = parser.parse_args()
    output = args.output or Path(tempfile.mkdtemp(prefix="zoo-samsum-"))
    data = args.data_root.resolve() / "samsum"
    rows = []
    for name in args.models:
        epochs = 0 if name == "lead" else args.epochs
        print(f"$ zoo train summarization/{name} --data {data}" + (f" --max-epochs {epochs}" if epochs else ""), flush=True)
        run = zoo.train(f"summarization/{name}", data=data, output=output, progress=False, **({"max_epochs": epochs} if epochs else {}))
        if epochs:
            with open(run.path / "logs" / "metrics.csv", newline="") as file:
                curve = [float(row["val/rouge1"]) for row in csv.DictReader(file) if row.get("val/rouge1")]
            per_epoch = run.seconds / len(curve)  # epochs take about equal time
            print("  val ROUGE-1 (greedy) by epoch: " + ", ".join(f"{i}: {r:.2f} ({i * per_epoch / 60:.1f} min)" for i, r in enumerate(curve, start=1)))
        scores = run.metrics["val"]
        print("  val: " + "  ".join(f"{key}={scores[key]:.2f}" for key in ("rouge1", "rouge2", "rougeL", "rougeLsum")) + f"; fit {run.seconds / 60:.1f} min")
        print(f"  run folder: {run.path}", flush=True)
        rows.append((name, scores, run.seconds))
    print("\n| model | ROUGE-1 | ROUGE-2 | ROUGE-L | ROUGE-Lsum | training time |\n|---|---|---|---|---|---|")
    for name, scores, seconds in rows:
        print(f"| {name} | {scores['rouge1']:.2f} | {scores['rouge2']:.2f} | {scores['rougeL']:.2f} | {scores['rougeLsum']:.2f} | {seconds / 60:.1f} min |")


if __name__ == "__main__":
    main()
