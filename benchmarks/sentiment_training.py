"""Sentiment training throughput: `zoo train sentiment/transformer` against a hand-written PyTorch loop.

    uv run python benchmarks/sentiment_training.py [--data-root ../shared/data] [--repeat 3] [--texts 8000] [--accelerator gpu] [--precision bf16-mixed]

Same data (the first --texts SST-2 training phrases and the first --val-texts dev sentences,
copied to a temp folder), same network (zoo's `transformer`, a BERT-style encoder, at its
defaults), batches of 64 texts of like length (zoo's `LengthBatches`), optimizer (AdamW at the
model's learning rate and weight decay, no schedule) and epochs. Both validate after every epoch
(loss and accuracy). The loop trains on the datasets zoo's data builder makes (one tokenizer);
`zoo train` builds its own the same way. Timed in one process after a warm-up, alternating zoo
and the loop: training texts and tokens (padding not counted) per second over the whole fit
(zoo's includes Lightning's loop, metrics, checkpoints and CSV logs). Prints medians and zoo/loop.

--accelerator picks the device as Lightning would (cpu, gpu, auto); --precision bf16-mixed runs
both sides under bf16 autocast, the loop as a hand-written AMP loop would (bf16 needs no scaler).
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler

import zoo
from zoo.plugins import find_task, load_ref
from zoo.text import LengthBatches
from zoo.training import resolve_config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from devices import add_arguments, autocast, torch_device, trainer_overrides  # noqa: E402  (benchmarks/devices.py)

BATCH = 64
OVERRIDES = {"optim.scheduler": "none", "optim.warmup_epochs": 0.0, "data.batch_size": BATCH}


def subset(root: Path, texts: int, val_texts: int) -> Path:
    """A folder `sst2_subset` with the first rows of SST-2's train and dev tables."""
    folder = Path(tempfile.mkdtemp(prefix="zoo-bench-")) / "sst2_subset"
    folder.mkdir()
    train = gzip.open(root / "sst2" / "train.tsv.gz", "rt", encoding="utf-8").read().splitlines()
    dev = (root / "sst2" / "dev.tsv").read_text(encoding="utf-8").splitlines()
    (folder / "train.tsv").write_text("\n".join(train[: texts + 1]) + "\n", encoding="utf-8")  # the header and the rows
    (folder / "dev.tsv").write_text("\n".join(dev[: val_texts + 1]) + "\n", encoding="utf-8")
    return folder


def hand_loop(bundle, config: dict, epochs: int, device: str, precision: str | None) -> float:
    """Seconds for a plain training loop with per-epoch validation, as a person would write it."""
    torch.manual_seed(0)
    started = time.perf_counter()
    mixed = autocast(device, precision)
    model = find_task("sentiment").models["transformer"]
    sizes = {key: config["model"][key] for key in model.defaults if key != "pretrained"}  # the module's key, not the network's
    net = load_ref(model.builder)(bundle.info["vocab_size"], len(bundle.info["classes"]), bundle.info["pad_id"], **sizes).to(device)
    optimizer = torch.optim.AdamW(net.parameters(), lr=config["optim"]["lr"], weight_decay=config["optim"]["weight_decay"])
    train = DataLoader(bundle.train, batch_sampler=LengthBatches(RandomSampler(bundle.train), BATCH), collate_fn=bundle.train.collate)
    val = DataLoader(bundle.val, batch_sampler=LengthBatches(SequentialSampler(bundle.val), BATCH), collate_fn=bundle.val.collate)
    for _ in range(epochs):
        net.train()
        for batch in train:
            ids, lengths, targets = (t.to(device, non_blocking=True) for t in batch)
            with mixed:
                loss = F.cross_entropy(net(ids, lengths), targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        net.eval()
        correct, total_loss = 0, 0.0
        with torch.no_grad():
            for batch in val:
                ids, lengths, targets = (t.to(device, non_blocking=True) for t in batch)
                with mixed:
                    logits = net(ids, lengths)
                total_loss += F.cross_entropy(logits.float(), targets, reduction="sum").item()
                correct += (logits.argmax(1) == targets).sum().item()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def zoo_fit(folder: Path, output: Path, epochs: int, accelerator: str, precision: str | None) -> float:
    """Fit seconds of the same training through `zoo.train`."""
    overrides = {**OVERRIDES, **trainer_overrides(accelerator, precision)}
    return zoo.train("sentiment/transformer", data=folder, output=output, max_epochs=epochs, progress=False, overrides=overrides).seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=8000)
    parser.add_argument("--val-texts", type=int, default=872)
    add_arguments(parser, epochs=1)
    args = parser.parse_args()
    device = torch_device(args.accelerator)
    folder = subset(args.data_root.resolve(), args.texts, args.val_texts)
    output = folder.parent / "runs"
    task, config = resolve_config("sentiment/transformer", data=folder, overrides=OVERRIDES)
    bundle = load_ref(task.data)(config)

    hand_loop(bundle, config, 1, device, args.precision)  # warm-up both
    zoo_fit(folder, output, 1, args.accelerator, args.precision)
    zoo_seconds, loop_seconds = [], []
    for _ in range(args.repeat):
        zoo_seconds.append(zoo_fit(folder, output, args.epochs, args.accelerator, args.precision))
        loop_seconds.append(hand_loop(bundle, config, args.epochs, device, args.precision))

    lengths = DataLoader(bundle.train, batch_size=1024, collate_fn=bundle.train.collate)
    texts, tokens = len(bundle.train) * args.epochs, sum(int(batch[1].sum()) for batch in lengths) * args.epochs
    zoo_median, loop_median = statistics.median(zoo_seconds), statistics.median(loop_seconds)
    print(f"SST-2, first {len(bundle.train):,} train / {len(bundle.val):,} val texts, transformer, batch {BATCH}, "
          f"{args.epochs} epoch(s), {device}, precision {args.precision or '32'}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; median of {args.repeat}")
    print(f"  zoo train:    {texts / zoo_median:8.1f} texts/s  {tokens / zoo_median:9.0f} tokens/s  (fits: {', '.join(f'{s:.1f}' for s in zoo_seconds)} s)")
    print(f"  hand loop:    {texts / loop_median:8.1f} texts/s  {tokens / loop_median:9.0f} tokens/s  (fits: {', '.join(f'{s:.1f}' for s in loop_seconds)} s)")
    print(f"  zoo / loop:   {loop_median / zoo_median:8.3f}")


if __name__ == "__main__":
    main()
