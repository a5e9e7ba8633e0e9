"""Prediction throughput of the sentiment `transformer`: zoo's `predict` against a Hugging Face
`pipeline("text-classification")` on the same weights, tokenizer and texts, in one process.

    uv run python benchmarks/sentiment_throughput.py [--data-root ../shared/data] [--run RUN] [--repeats 3]

Without --run, the model is `zoo.create("sentiment/transformer")` on SST-2 (its tokenizer
trained on the training phrases, weights random: speed does not depend on them). The weights
and tokenizer are saved as a transformers model folder for the pipeline; the texts are the 872
SST-2 dev sentences. Each side predicts them once to warm up, then `--repeats` times; the
median decides. The pipeline runs with its default batch size (1) and with zoo's (128); both
give the same probabilities as zoo (checked).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

import zoo
from zoo.tables import read_table
from zoo.tables import texts as texts_of
from zoo.text import CLS, MASK, PAD, SEP, UNK

BATCH = 128


def timed(predict, texts: list[str], repeats: int) -> tuple[float, list]:
    """(median seconds, outputs) of `predict(texts)`, after one warm-up call."""
    outputs = predict(texts)
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        predict(texts)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--run", type=Path, default=None, help="a trained sentiment/transformer run (default: random weights)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from transformers import PreTrainedTokenizerFast, pipeline
    from transformers.utils import logging

    logging.disable_progress_bar()

    data = args.data_root.resolve() / "sst2"
    module = zoo.load(args.run) if args.run else zoo.create("sentiment/transformer", data=data).eval()
    texts = [t for t in texts_of(read_table(data / "dev.tsv").column("sentence")).to_pylist() if t]
    folder = Path(tempfile.mkdtemp(prefix="zoo-hf-"))
    network = module.net.model  # a transformers BertForSequenceClassification
    network.config.id2label = dict(enumerate(module.classes))
    network.config.label2id = {label: i for i, label in enumerate(module.classes)}
    network.save_pretrained(folder)
    special = {"pad_token": PAD, "unk_token": UNK, "cls_token": CLS, "sep_token": SEP, "mask_token": MASK}
    PreTrainedTokenizerFast(tokenizer_object=module.tokenizer, model_max_length=module.max_length, **special).save_pretrained(folder)

    print(f"{len(texts)} SST-2 dev sentences, {sum(p.numel() for p in module.parameters()):,} parameters, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    zoo_seconds, zoo_records = timed(lambda t: module.predict(t, batch_size=BATCH), texts, args.repeats)
    rates = {"zoo predict (batch 128)": len(texts) / zoo_seconds}
    for batch_size in (1, BATCH):
        classifier = pipeline("text-classification", model=str(folder), tokenizer=str(folder), device="cpu", top_k=None)
        seconds, outputs = timed(lambda t: classifier(t, batch_size=batch_size, truncation=True), texts, args.repeats)
        for record, scores in zip(zoo_records, outputs):
            theirs = {s["label"]: s["score"] for s in scores}
            assert all(abs(theirs[label] - p) < 1e-4 for label, p in record["scores"].items()), (record, theirs)
        rates[f"HF pipeline (batch {batch_size})"] = len(texts) / seconds
    best_peer = max(v for k, v in rates.items() if k.startswith("HF"))
    for name, rate in rates.items():
        print(f"  {name:26s} {rate:8.1f} texts/s")
    print(f"zoo / best pipeline: {rates['zoo predict (batch 128)'] / best_peer:.2f}")


if __name__ == "__main__":
    main()
