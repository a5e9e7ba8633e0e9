"""Data at real size: `zoo train` against a plain `datasets` pipeline, from 10 k to 10 M rows.

    uv run python benchmarks/scale.py [--work DIR] [--tasks sentiment,translation,summarization,regression]
                                      [--sizes 10000,100000,1000000,10000000] [--no-peer] [--workers 0,2,4]

Makes the data itself under --work (kept there and reused): review CSVs (two labels, 20-80
words a row), parallel translation files (train.de, train.en), a CSV of documents and summaries,
and regression CSVs of 8 features and a target. For each task and size it runs, each as its own
process with its own data cache under --work:

    zoo     `zoo train TASK --data FILE --max-epochs 1 trainer.limit_train_batches=20
             trainer.limit_val_batches=20`, first with an empty cache, then again on the same file;
    plain   `datasets.load_dataset` + a tokenizer trained as zoo trains it (tokenizers, on the same
             200,000-text sample) + `tokenizer(..., batched=True)` through `Dataset.map`, then 20
             steps of a small model on a DataLoader; cold (empty datasets cache), then warm.

and prints rows, peak memory (of the process and its children, each page counted once: their
summed PSS, sampled every 0.2 s from /proc), the time from the process's start to its first training step (zoo: when the
training progress bar is drawn, just before the first step; plain: after the first step), and the
whole time (zoo's includes validation: greedy decoding for the sequence tasks). Translation and
--workers runs zoo again on the warm cache with each number of DataLoader workers (their memory,
each page counted once, should not grow with their number). Translation and
summarization run up to 1 M pairs (`--sizes` above that are skipped for them), sentiment and
regression up to 10 M rows. Images: see benchmarks/scale_images.py.

Targets (issue 17, on the 2-core development machine): 1 M reviews within 2.5 GB, the first step
within 2 minutes, a second run within 30 s; 10 M reviews within 6 GB; 1 M pairs likewise; 10 M
regression rows x 8 features within 3x the float32 array; zoo no slower than the plain pipeline.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TASKS = ("sentiment", "translation", "summarization", "regression")
LIMITS = ("--max-epochs", "1", "trainer.limit_train_batches=20", "trainer.limit_val_batches=20")
PAIR_TASKS_UP_TO = 1_000_000
FIRST_STEP = re.compile(r"Training:")  # the progress bar, drawn as the first training step starts
PEER_STEP = "plain: first step done"


# Data ----------------------------------------------------------------------------------------


def _words() -> list[str]:
    syllables = ["ka", "lo", "mi", "ra", "ten", "sor", "vi", "du", "pel", "an", "or", "is", "ul", "ge", "ba", "no"]
    return sorted(set(syllables) | {a + b for a in syllables for b in syllables} | {a + b + c for a in syllables[:8] for b in syllables[:5] for c in syllables[:5]})


POSITIVE = "gripping wonderful superb moving delightful brilliant charming funny beautiful clever".split()
NEGATIVE = "dull boring clumsy tedious awful bland predictable lifeless messy forgettable".split()


def _sentences(rng, rows: int, shortest: int, longest: int, vocabulary, marks=None):
    """`rows` texts of shortest..longest words drawn from `vocabulary` (a pyarrow array), made
    with Arrow compute; `marks` (row -> word index) puts one chosen word at three places."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    lengths = rng.integers(shortest, longest + 1, rows)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    picks = rng.integers(0, len(vocabulary) - (20 if marks is not None else 0), int(offsets[-1]))
    if marks is not None:
        for _ in range(3):
            picks[offsets[:-1] + rng.integers(0, lengths)] = marks()
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), vocabulary.take(pa.array(picks))), " ")


def make_data(task: str, rows: int, folder: Path) -> str:
    """The --data argument for `rows` rows of `task`, written under `folder` unless there."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv

    folder.mkdir(parents=True, exist_ok=True)
    names = {"sentiment": ["reviews.csv"], "translation": ["train.de", "train.en"], "summarization": ["dialogues.csv"], "regression": ["rows.csv"]}[task]
    files = [folder / f"{rows}-{name}" for name in names]
    if all(f.is_file() for f in files):
        return ",".join(map(str, files))
    rng = np.random.default_rng(rows)
    words = pa.array(_words() + POSITIVE + NEGATIVE)
    block = 200_000
    writers = []
    try:
        if task == "regression":
            schema = pa.schema([(f"x{i}", pa.float32()) for i in range(8)] + [("y", pa.float32())])
            weights = rng.normal(size=8)
        elif task == "sentiment":
            schema = pa.schema([("text", pa.string()), ("label", pa.string())])
        elif task == "summarization":
            schema = pa.schema([("dialogue", pa.string()), ("summary", pa.string())])
        if task == "translation":
            writers = [open(f, "w", encoding="utf-8") for f in files]
        else:
            writers = [pcsv.CSVWriter(str(files[0]), schema)]
        for start in range(0, rows, block):
            n = min(block, rows - start)
            if task == "regression":
                x = rng.normal(size=(n, 8)).astype(np.float32)
                y = (x @ weights + rng.normal(scale=0.1, size=n)).astype(np.float32)
                writers[0].write_table(pa.table([*x.T, y], schema=schema))
            elif task == "sentiment":
                labels = rng.integers(0, 2, n)
                marked = lambda: np.where(labels == 1, len(words) - 20, len(words) - 10) + rng.integers(0, 10, n)  # noqa: E731
                texts = _sentences(rng, n, 20, 80, words, marked)
                writers[0].write_table(pa.table({"text": texts, "label": pa.array(np.where(labels == 1, "positive", "negative"))}))
            elif task == "summarization":
                writers[0].write_table(pa.table({"dialogue": _sentences(rng, n, 60, 160, words), "summary": _sentences(rng, n, 8, 20, words)}))
            else:
                german, english = _sentences(rng, n, 6, 24, words), _sentences(rng, n, 6, 24, words)
                writers[0].write("\n".join(german.to_pylist()) + "\n")
                writers[1].write("\n".join(english.to_pylist()) + "\n")
    finally:
        for writer in writers:
            writer.close()
    return ",".join(map(str, files))


# Measuring a process -------------------------------------------------------------------------


def tree_memory(pid: int) -> int:
    """The memory (bytes) of process `pid` and its descendants, each page counted once: the sum
    of their proportional set sizes (PSS). Summed RSS would count the pages a DataLoader worker
    shares with the process that forked it once per worker."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        stack += children.get(current, [])
        try:
            with open(f"/proc/{current}/smaps_rollup") as rollup:
                total += next(int(line.split()[1]) * 1024 for line in rollup if line.startswith("Pss:"))
        except (OSError, StopIteration):
            continue
    return total


@dataclass
class Measured:
    code: int
    peak_bytes: int
    first_step_s: float | None
    total_s: float
    tail: str


def measure(command: list[str], env: dict[str, str], marker: re.Pattern[str] | str) -> Measured:
    """Run `command`, sampling its tree's RSS, and note when `marker` first shows in its output."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO)
    seen: list[float] = []
    output: list[str] = []

    def read() -> None:
        text = ""
        assert process.stdout is not None
        while chunk := process.stdout.read1(65536):  # type: ignore[attr-defined]
            text = (text + chunk.decode(errors="replace"))[-4000:]
            output.append(chunk.decode(errors="replace"))
            if not seen and (marker.search(text) if isinstance(marker, re.Pattern) else marker in text):
                seen.append(time.perf_counter() - started)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_memory(process.pid))
        time.sleep(0.2)
    reader.join()
    return Measured(process.returncode, peak, seen[0] if seen else None, time.perf_counter() - started, "".join(output)[-1500:])


def zoo_command(task: str, data: str, output: Path) -> list[str]:
    name = "linear-regression" if task == "regression" else task
    return [str(Path(sys.executable).with_name("zoo")), "train", name, "--data", data, *LIMITS, "--output", str(output)]


def peer_command(task: str, data: str, cache: Path) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--plain", task, data, "--hf-cache", str(cache)]


# The plain pipeline --------------------------------------------------------------------------


def plain(task: str, data: str, hf_cache: Path) -> None:
    """`datasets` + `tokenizers` + a DataLoader, as a user without zoo would write it: 20 steps."""
    import datasets
    import torch
    from torch import nn

    datasets.disable_progress_bars()
    files = data.split(",")
    if task == "regression":
        loaded = datasets.load_dataset("csv", data_files=files[0], split="train", cache_dir=str(hf_cache))
        split = loaded.train_test_split(test_size=0.2, seed=0)
        train = split["train"].with_format("torch")
        columns = [c for c in train.column_names if c != "y"]
        model = nn.Linear(len(columns), 1)
        batches = torch.utils.data.DataLoader(train, batch_size=32, shuffle=True)
        loss = lambda batch: nn.functional.mse_loss(model(torch.stack([batch[c] for c in columns], 1)).squeeze(1), batch["y"])  # noqa: E731
        _twenty_steps(batches, loss, torch.optim.SGD(model.parameters(), lr=0.01))
        return
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import DataCollatorWithPadding, PreTrainedTokenizerFast

    if task == "translation":
        sides = [datasets.load_dataset("text", data_files=f, split="train", cache_dir=str(hf_cache)) for f in files]
        loaded = datasets.concatenate_datasets([sides[0].rename_column("text", "source"), sides[1].rename_column("text", "target")], axis=1)
        source, target = "source", "target"
    else:
        loaded = datasets.load_dataset("csv", data_files=files[0], split="train", cache_dir=str(hf_cache))
        source, target = ("text", "label") if task == "sentiment" else ("dialogue", "summary")
    split = loaded.train_test_split(test_size=0.1, seed=0)
    train = split["train"]
    sample = train.select(range(0, len(train), max(1, len(train) // 200_000)))
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[BOS]", "[EOS]"]
    texts = (batch[source] for batch in sample.iter(batch_size=10_000))
    tokenizer.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=16000 if task == "sentiment" else 8000, special_tokens=special, show_progress=False))
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]")
    if task == "sentiment":
        train = train.class_encode_column("label")
        encoded = train.map(lambda b: fast(b[source], truncation=True, max_length=256), batched=True, remove_columns=[source])
        encoded = encoded.rename_column("label", "labels")
    else:
        def both(batch):
            inputs = fast(batch[source], truncation=True, max_length=512 if task == "summarization" else 128)
            inputs["labels"] = fast(batch[target], truncation=True, max_length=128)["input_ids"]
            return inputs

        encoded = train.map(both, batched=True, remove_columns=[source, target])
    encoded = encoded.remove_columns([c for c in encoded.column_names if c not in ("input_ids", "attention_mask", "labels")])
    collate = DataCollatorWithPadding(fast)

    def batch_of(items):
        labels = [item.pop("labels") for item in items]
        batch = collate(items)
        if task == "sentiment":
            batch["labels"] = torch.tensor(labels)
        return batch

    batches = torch.utils.data.DataLoader(encoded, batch_size=64 if task == "sentiment" else 32, shuffle=True, collate_fn=batch_of, num_workers=1)
    embedding, head = nn.EmbeddingBag(fast.vocab_size, 128), nn.Linear(128, 2)

    def loss(batch: dict) -> torch.Tensor:
        logits = head(embedding(batch["input_ids"]))
        target_ids = batch["labels"] if task == "sentiment" else torch.zeros(len(logits), dtype=torch.int64)
        return nn.functional.cross_entropy(logits, target_ids)

    _twenty_steps(batches, loss, torch.optim.AdamW([*embedding.parameters(), *head.parameters()]))


def _twenty_steps(batches, loss, optimizer) -> None:
    """20 optimizer steps on `loss(batch)`, saying when the first is done."""
    for step, batch in enumerate(batches):
        loss(batch).backward()
        optimizer.step()
        optimizer.zero_grad()
        if step == 0:
            print(PEER_STEP, flush=True)
        if step == 19:
            return


# The report ----------------------------------------------------------------------------------


def row(task: str, rows: int, who: str, measured: Measured) -> str:
    first = f"{measured.first_step_s:.1f}" if measured.first_step_s is not None else "-"
    state = "" if measured.code == 0 else f" (exit {measured.code})"
    return f"| {task} | {rows:,} | {who}{state} | {measured.peak_bytes / 2**30:.2f} | {first} | {measured.total_s:.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("scale-work"))
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--sizes", default="10000,100000,1000000,10000000")
    parser.add_argument("--no-peer", action="store_true", help="measure zoo alone")
    parser.add_argument("--workers", default="", help="also run zoo again (warm cache) with each of these data.num_workers, e.g. 0,2,4")
    parser.add_argument("--plain", nargs=2, metavar=("TASK", "DATA"), help=argparse.SUPPRESS)
    parser.add_argument("--hf-cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain:
        plain(*args.plain, args.hf_cache)
        return
    work = args.work.resolve()
    print(f"machine: {os.cpu_count()} CPUs, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB")
    print("| task | rows | run | peak GiB | first step s | total s |\n|---|---:|---|---:|---:|---:|")
    for task in args.tasks.split(","):
        demo = measure([c for c in zoo_command(task, "", work / "runs") if c not in ("--data", "")], {**os.environ, "ZOO_CACHE": str(work / "cache" / "demo")}, FIRST_STEP)
        print(row(task, 0, "zoo on its demo data: the process's own memory", demo), flush=True)
        for rows in (int(size) for size in args.sizes.split(",")):
            if task in ("translation", "summarization") and rows > PAIR_TASKS_UP_TO:
                continue
            data = make_data(task, rows, work / "data")
            cache, hf_cache = work / "cache" / f"{task}-{rows}", work / "hf-cache" / f"{task}-{rows}"
            shutil.rmtree(cache, ignore_errors=True)
            shutil.rmtree(hf_cache, ignore_errors=True)
            env = {**os.environ, "ZOO_CACHE": str(cache), "HF_DATASETS_CACHE": str(hf_cache), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "true"}
            timings = {}
            for who, command, marker in (
                ("zoo, empty cache", zoo_command(task, data, work / "runs"), FIRST_STEP),
                ("zoo, same file again", zoo_command(task, data, work / "runs"), FIRST_STEP),
                *(() if args.no_peer else (
                    ("plain datasets, cold", peer_command(task, data, hf_cache), PEER_STEP),
                    ("plain datasets, warm", peer_command(task, data, hf_cache), PEER_STEP),
                )),
            ):
                measured = measure(command, env, marker)
                timings[who] = measured
                print(row(task, rows, who, measured), flush=True)
                if measured.code != 0:
                    print(measured.tail, file=sys.stderr)
            for workers in filter(None, args.workers.split(",")):
                measured = measure([*zoo_command(task, data, work / "runs"), f"data.num_workers={workers}"], env, FIRST_STEP)
                print(row(task, rows, f"zoo, same file, data.num_workers={workers}", measured), flush=True)
            cold, peer = timings["zoo, empty cache"], timings.get("plain datasets, cold")
            if peer and cold.first_step_s and peer.first_step_s:
                print(f"|  |  | ratio zoo / plain, cold: first step {cold.first_step_s / peer.first_step_s:.2f}, memory {cold.peak_bytes / peer.peak_bytes:.2f} |  |  |  |", flush=True)


if __name__ == "__main__":
    main()
