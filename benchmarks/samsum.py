"""The SAMSum result: the lead baseline, and the summarization transformer and pointer-generator
from random init, trained on `<data-root>/samsum` (train.jsonl.gz, 14,732 dialogues) and selected
and reported on its validation dialogues (val.jsonl.gz, 818), the way a user would run them:

    uv run python benchmarks/samsum.py [--data-root ../shared/data] [--models lead transformer pointer-generator]
                                       [--epochs N] [--run MODEL=RUN_FOLDER ...]

For each model: `zoo train summarization/<model> --data <data-root>/samsum` with the model's
defaults (`--epochs N`: that many epochs instead), or a run folder trained so already (`--run`);
then ROUGE-1/2/L/Lsum on val (rouge-score, stemmed, F x100) of the kept checkpoint decoded with the
default beam (4), the validation ROUGE-1 after each epoch (greedy decoding) with the time taken,
and the share of summaries that name a person who is not in their dialogue (`invented_names`).
For comparison, Gliwa et al. (2019) report about 37 ROUGE-1 for a pointer-generator and about 32
for longest-3 sentences.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import re
import tempfile
from pathlib import Path
from types import SimpleNamespace

import zoo
from zoo.seq2seq.metrics import summary_scores

WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def read_pairs(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8") as file:
        return [json.loads(line) for line in file]


def speaker_names(documents: list[str]) -> set[str]:
    """Every capitalized word of a speaker's name ("Anna: ...", "Mary Ann: ...") in the documents:
    SAMSum's people. Words that are also common English (Will, May, Bill) are counted as names."""
    names = set()
    for document in documents:
        for line in document.splitlines():
            speaker, colon, _ = line.partition(":")
            if colon and 0 < len(speaker) <= 30:
                names.update(word for word in WORD.findall(speaker) if word[0].isupper() and len(word) > 1)
    return names


def invented_names(summaries: list[str], documents: list[str], names: set[str]) -> float:
    """The share (%) of summaries naming a person (a word of `names`) that their document never
    mentions, as a word anywhere in it, in any case ("tracey" is Tracey)."""
    invented = 0
    for summary, document in zip(summaries, documents):
        mentioned = {word.lower() for word in WORD.findall(document)}
        invented += any(word in names and word.lower() not in mentioned for word in WORD.findall(summary))
    return 100 * invented / len(summaries)


def finished_run(folder: str) -> SimpleNamespace:
    """A run folder's path, final metrics, epochs and seconds, as `zoo.train` returns them."""
    path = Path(folder)
    metrics = json.loads((path / "metrics.json").read_text())
    return SimpleNamespace(path=path, metrics={"val": metrics["val"]}, epochs=metrics["epochs"], seconds=metrics["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--models", nargs="+", default=["lead", "transformer", "pointer-generator"], choices=["lead", "transformer", "gru-attention", "pointer-generator"])
    parser.add_argument("--epochs", type=int, default=None, help="for the trained models (default: each model's own)")
    parser.add_argument("--run", nargs="*", default=[], metavar="MODEL=RUN_FOLDER", help="score a run folder of this benchmark's training instead of training")
    parser.add_argument("--output", type=Path, default=None, help="where the run folders go (default: a temp folder)")
    args = parser.parse_args()
    output = args.output or Path(tempfile.mkdtemp(prefix="zoo-samsum-"))
    data = args.data_root.resolve() / "samsum"
    done = dict(item.split("=", 1) for item in args.run)
    val = read_pairs(data / "val.jsonl.gz")
    documents, references = [pair["document"] for pair in val], [pair["summary"] for pair in val]
    names = speaker_names([pair["document"] for pair in read_pairs(data / "train.jsonl.gz")] + documents)
    rows = [("references", summary_scores(references, references), invented_names(references, documents, names), 0.0)]
    for name in args.models:
        if name in done:
            run = finished_run(done[name])
            print(f"summarization/{name}: {run.path}", flush=True)
        else:
            epochs = {} if name == "lead" or args.epochs is None else {"max_epochs": args.epochs}
            print(f"$ zoo train summarization/{name} --data {data}" + (f" --max-epochs {args.epochs}" if epochs else ""), flush=True)
            run = zoo.train(f"summarization/{name}", data=data, output=output, progress=False, **epochs)
        if run.epochs:
            with open(run.path / "logs" / "metrics.csv", newline="") as file:
                curve = [float(row["val/rouge1"]) for row in csv.DictReader(file) if row.get("val/rouge1")]
            per_epoch = run.seconds / len(curve)  # epochs take about equal time
            print("  val ROUGE-1 (greedy) by epoch: " + ", ".join(f"{i}: {r:.2f} ({i * per_epoch / 60:.0f} min)" for i, r in enumerate(curve, start=1)))
        outputs = [record["output"] for record in zoo.load(run.path).predict(documents)]
        scores = summary_scores(outputs, references)
        assert abs(scores["rouge1"] - run.metrics["val"]["rouge1"]) < 0.05, (scores, run.metrics["val"])  # the run's own final scores
        invented = invented_names(outputs, documents, names)
        print("  val: " + "  ".join(f"{key}={scores[key]:.2f}" for key in ("rouge1", "rouge2", "rougeL", "rougeLsum"))
              + f"  invented names {invented:.1f}%; fit {run.seconds / 60:.1f} min", flush=True)
        rows.append((name, scores, invented, run.seconds))
    print(f"\n{len(names):,} speaker names; a summary invents one when it names a person its dialogue never mentions")
    print("\n| model | ROUGE-1 | ROUGE-2 | ROUGE-L | ROUGE-Lsum | invented names | training time |\n|---|---|---|---|---|---|---|")
    for name, scores, invented, seconds in rows:
        print(f"| {name} | {scores['rouge1']:.2f} | {scores['rouge2']:.2f} | {scores['rougeL']:.2f} | {scores['rougeLsum']:.2f} | {invented:.1f}% | {seconds / 60:.0f} min |")


if __name__ == "__main__":
    main()
