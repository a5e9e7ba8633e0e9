"""Translation training throughput: `zoo train translation` against a hand-written PyTorch loop.

    uv run python benchmarks/translation_throughput.py [--data-root ../shared/data] [--repeat 3] [--pairs 3200] [--val-pairs 200]

Same data (the first --pairs Multi30k de-en training pairs and the first --val-pairs validation
pairs, copied to a temp folder), same network (zoo's default `transformer`), batches of 64 pairs
of like length (zoo's `LengthBatches`), optimizer (AdamW, lr 5e-4, weight decay 0.01, no
schedule), label smoothing (0.1) and epochs. Both validate after every epoch: the loss, greedy
decoding (zoo's `greedy`, the same limit) and sacreBLEU. The loop trains on the datasets zoo's
data builder makes (one tokenizer); `zoo train` builds its own the same way. Timed in one
process after a warm-up, alternating zoo and the loop: training pairs per second over the whole
fit (zoo's includes Lightning's loop, checkpoints and CSV logs), and tokens per second (source
and target tokens of the training pairs). Prints medians and zoo/loop.

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
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler

import zoo
from zoo.plugins import find_task, load_ref
from zoo.seq2seq.decoding import greedy
from zoo.seq2seq.metrics import translation_scores
from zoo.seq2seq.models import Transformer, sequence_loss
from zoo.text import LengthBatches
from zoo.training import resolve_config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from devices import add_arguments, autocast, torch_device, trainer_overrides  # noqa: E402  (benchmarks/devices.py)

BATCH = 64
OVERRIDES = {"optim.scheduler": "none", "optim.warmup_epochs": 0.0, "data.batch_size": BATCH}


def subset(root: Path, pairs: int, val_pairs: int) -> Path:
    """A folder `subset_de_en` with the first pairs of Multi30k's train and val files."""
    folder = Path(tempfile.mkdtemp(prefix="zoo-bench-")) / "subset_de_en"
    folder.mkdir()
    for split, count in (("train", pairs), ("val", val_pairs)):
        for lang in ("de", "en"):
            lines = gzip.open(root / "multi30k_de_en" / f"{split}.{lang}.gz", "rt", encoding="utf-8").read().splitlines()[:count]
            (folder / f"{split}.{lang}").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def hand_loop(bundle, epochs: int, device: str, precision: str | None) -> float:
    """Seconds for a plain training loop with per-epoch validation, as a person would write it."""
    from tokenizers import Tokenizer

    torch.manual_seed(0)
    started = time.perf_counter()
    mixed = autocast(device, precision)
    target_tokenizer = Tokenizer.from_str(bundle.info["target_tokenizer"])
    vocab = target_tokenizer.get_vocab_size()
    sizes = {k: v for k, v in find_task("translation").models["transformer"].defaults.items() if k != "pretrained"}  # the module's key, not the network's
    net = Transformer(vocab, vocab, pad_id=0, shared_vocab=True, **sizes).to(device)
    optimizer = torch.optim.AdamW(net.parameters(), lr=5e-4, weight_decay=0.01)
    train = DataLoader(bundle.train, batch_sampler=LengthBatches(RandomSampler(bundle.train), BATCH), collate_fn=bundle.train.collate)
    val = DataLoader(bundle.val, batch_sampler=LengthBatches(SequentialSampler(bundle.val), BATCH), collate_fn=bundle.val.collate)
    start, end = bundle.info["start"], bundle.info["end"]
    for _ in range(epochs):
        net.train()
        for batch in train:
            src, lengths, decoder_in, decoder_out = (t.to(device, non_blocking=True) for t in batch[:4])
            with mixed:
                loss = sequence_loss(net(src, lengths, decoder_in), decoder_out, label_smoothing=0.1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        net.eval()
        outputs, total = {}, 0.0
        with torch.no_grad():
            for batch in val:
                src, lengths, decoder_in, decoder_out = (t.to(device, non_blocking=True) for t in batch[:4])
                rows = batch[4]
                with mixed:
                    total += sequence_loss(net(src, lengths, decoder_in), decoder_out).item()
                    ids = greedy(net, src, lengths, start, end, min(128, 2 * int(lengths.max()) + 10))
                outputs.update(zip(rows.tolist(), target_tokenizer.decode_batch(ids)))
        rows = sorted(outputs)
        translation_scores([outputs[r] for r in rows], [bundle.val.references[r] for r in rows])
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def zoo_fit(folder: Path, output: Path, epochs: int, accelerator: str, precision: str | None) -> float:
    """Fit seconds of the same training through `zoo.train`."""
    overrides = {**OVERRIDES, **trainer_overrides(accelerator, precision)}
    return zoo.train("translation", data=folder, output=output, max_epochs=epochs, progress=False, overrides=overrides).seconds


def training_tokens(bundle) -> int:
    """Source and target tokens of one epoch's training pairs (padding not counted)."""
    batches = DataLoader(bundle.train, batch_sampler=LengthBatches(SequentialSampler(bundle.train), BATCH), collate_fn=bundle.train.collate)
    return sum(int(lengths.sum()) + int((decoder_out != 0).sum()) for _, lengths, _, decoder_out, _ in batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3200)
    parser.add_argument("--val-pairs", type=int, default=200)
    add_arguments(parser, epochs=1)
    args = parser.parse_args()
    device = torch_device(args.accelerator)
    folder = subset(args.data_root.resolve(), args.pairs, args.val_pairs)
    output = folder.parent / "runs"
    task, config = resolve_config("translation", data=folder, overrides=OVERRIDES)
    bundle = load_ref(task.data)(config)

    hand_loop(bundle, 1, device, args.precision)  # warm-up both
    zoo_fit(folder, output, 1, args.accelerator, args.precision)
    zoo_seconds, loop_seconds = [], []
    for _ in range(args.repeat):
        zoo_seconds.append(zoo_fit(folder, output, args.epochs, args.accelerator, args.precision))
        loop_seconds.append(hand_loop(bundle, args.epochs, device, args.precision))

    pairs, tokens = len(bundle.train) * args.epochs, training_tokens(bundle) * args.epochs
    zoo_median, loop_median = statistics.median(zoo_seconds), statistics.median(loop_seconds)
    print(f"Multi30k de-en, first {len(bundle.train):,} train / {len(bundle.val):,} val pairs, transformer, batch {BATCH}, "
          f"{args.epochs} epoch(s), {device}, precision {args.precision or '32'}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; median of {args.repeat}")
    print(f"  zoo train:    {pairs / zoo_median:8.1f} pairs/s  {tokens / zoo_median:9.0f} tokens/s  (fits: {', '.join(f'{s:.1f}' for s in zoo_seconds)} s)")
    print(f"  hand loop:    {pairs / loop_median:8.1f} pairs/s  {tokens / loop_median:9.0f} tokens/s  (fits: {', '.join(f'{s:.1f}' for s in loop_seconds)} s)")
    print(f"  zoo / loop:   {loop_median / zoo_median:8.3f}")


if __name__ == "__main__":
    main()
