"""The Multi30k German-to-English result: the default translation transformer from random
init, trained on `<data-root>/multi30k_de_en` (29,000 pairs) and selected and reported on its
validation pairs (1,014), the way a user would run it:

    uv run python benchmarks/multi30k.py [--data-root ../shared/data] [--epochs 8] [--model transformer]

It runs `zoo train translation/<model> --data <data-root>/multi30k_de_en --max-epochs N` with
the model's defaults, then prints the validation sacreBLEU (greedy decoding) after each epoch
with the time it took to get there, and the final scores of the kept checkpoint decoded with
the default beam. The target: at least 25 BLEU within 45 minutes on two CPU cores.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import zoo

TARGET_BLEU, TARGET_SECONDS = 25.0, 45 * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--model", default="transformer", choices=["transformer", "gru-attention"])
    parser.add_argument("--output", type=Path, default=None, help="where the run folder goes (default: a temp folder)")
    parser.add_argument("overrides", nargs="*", help="key=value config overrides, as for zoo train")
    args = parser.parse_args()
    output = args.output or Path(tempfile.mkdtemp(prefix="zoo-multi30k-"))
    data = args.data_root.resolve() / "multi30k_de_en"
    print(f"$ zoo train translation/{args.model} --data {data} --max-epochs {args.epochs} {' '.join(args.overrides)}", flush=True)
    run = zoo.train(f"translation/{args.model}", data=data, max_epochs=args.epochs, output=output, overrides=args.overrides, progress=False)
    with open(run.path / "logs" / "metrics.csv", newline="") as file:
        curve = [(float(row["val/bleu"]), float(row["val/chrf"])) for row in csv.DictReader(file) if row.get("val/bleu")]
    per_epoch = run.seconds / len(curve)  # epochs take about equal time
    print("\n| epoch | time | val BLEU (greedy) | val chrF |\n|---|---|---|---|")
    for epoch, (bleu, chrf) in enumerate(curve, start=1):
        print(f"| {epoch} | {epoch * per_epoch / 60:.1f} min | {bleu:.2f} | {chrf:.2f} |")
    reached = next((epoch for epoch, (bleu, _) in enumerate(curve, start=1) if bleu >= TARGET_BLEU), None)
    final = run.metrics["val"]
    print(f"\nkept checkpoint, beam {zoo.load(run.path).config['model']['beam']}: BLEU {final['bleu']:.2f}, chrF {final['chrf']:.2f}; fit {run.seconds / 60:.1f} min")
    if reached is None:
        print(f"target (>= {TARGET_BLEU:.0f} BLEU within {TARGET_SECONDS // 60} min): NOT met")
    else:
        minutes = reached * per_epoch / 60
        print(f"target (>= {TARGET_BLEU:.0f} BLEU within {TARGET_SECONDS // 60} min): {'met' if minutes * 60 <= TARGET_SECONDS else 'NOT met'} (epoch {reached}, {minutes:.1f} min)")
    print(f"run folder: {run.path}")


if __name__ == "__main__":
    main()
