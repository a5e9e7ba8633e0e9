"""Classification training throughput: `zoo train` against a hand-written PyTorch loop.

    uv run python benchmarks/classification_throughput.py [--data-root ../shared/data] [--repeat 3] [--model cnn]

Same model (zoo's default `cnn`, or --model: any classification model, built by its builder at
its defaults, random init), same data (the first 8,000 MNIST images from `<data-root>/mnist`,
validated on the last 2,000), batch size, optimizer (AdamW at the model's learning rate and
weight decay, 1e-3 and 0.05 for the built-in ones, no schedule) and epochs. Both validate after every epoch (loss and
accuracy). Timed in one process after imports and a warm-up, alternating zoo and the loop:
training images per second over the whole fit (zoo's includes Lightning's loop, metrics,
checkpoints and CSV logs). Prints medians and the ratio zoo/loop (1.0 = as fast).

--precision bf16-mixed (on a GPU) runs both sides under bf16 autocast; --accelerator picks the
device as Lightning would (cpu, gpu, auto).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

import zoo
from zoo.images import read_idx
from zoo.plugins import find_task, load_ref
from zoo.training import resolve_config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from devices import add_arguments, autocast, torch_device, trainer_overrides  # noqa: E402  (benchmarks/devices.py)

TRAIN, VAL = 8000, 2000


def mnist(root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    images = read_idx(root / "mnist" / "t10k-images-idx3-ubyte.gz").unsqueeze(1)
    labels = read_idx(root / "mnist" / "t10k-labels-idx1-ubyte.gz").long()
    return images[: TRAIN + VAL], labels[: TRAIN + VAL]


def hand_loop(images: torch.Tensor, labels: torch.Tensor, model: str, optim: dict, epochs: int, batch: int, device: str, precision: str | None) -> float:
    """Seconds for a plain training loop with per-epoch validation, as a person would write it."""
    torch.manual_seed(0)
    started = time.perf_counter()
    train = DataLoader(TensorDataset(images[:TRAIN], labels[:TRAIN]), batch_size=batch, shuffle=True)
    val = DataLoader(TensorDataset(images[TRAIN:], labels[TRAIN:]), batch_size=batch)
    scaled = images[:TRAIN].float() / 255
    mean, std = scaled.mean().item(), scaled.std().item()
    spec = find_task("classification").models[model]
    net = load_ref(spec.builder)(1, 10, [28, 28], **spec.defaults).to(device)
    optimizer = torch.optim.AdamW(net.parameters(), lr=optim["lr"], weight_decay=optim["weight_decay"])
    mixed = autocast(device, precision)

    def logits(x: torch.Tensor) -> torch.Tensor:
        with mixed:
            return net((x.to(device, non_blocking=True).float() / 255 - mean) / std)

    for _ in range(epochs):
        net.train()
        for x, y in train:
            loss = F.cross_entropy(logits(x), y.to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        net.eval()
        correct, total_loss = 0, 0.0
        with torch.no_grad():
            for x, y in val:
                out = logits(x)
                total_loss += F.cross_entropy(out, y.to(device), reduction="sum").item()
                correct += (out.argmax(1).cpu() == y).sum().item()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def zoo_overrides(batch: int, accelerator: str, precision: str | None) -> dict:
    return {
        "data.val_split": "last",
        "data.val_fraction": VAL / (TRAIN + VAL),
        "data.batch_size": batch,
        "optim.scheduler": "none",
        **trainer_overrides(accelerator, precision),
    }


def zoo_fit(root: Path, output: Path, model: str, epochs: int, batch: int, accelerator: str, precision: str | None) -> float:
    """Fit seconds of the same training through `zoo.train`."""
    overrides = zoo_overrides(batch, accelerator, precision)
    return zoo.train(f"classification/{model}", data=root / "mnist", output=output, max_epochs=epochs, progress=False, overrides=overrides).seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--model", default="cnn", help="a classification model: cnn, resnet18, resnet50, ...")
    add_arguments(parser, epochs=2)
    args = parser.parse_args()
    device = torch_device(args.accelerator)
    images, labels = mnist(args.data_root)
    output = Path(tempfile.mkdtemp(prefix="zoo-bench-"))
    _, config = resolve_config(f"classification/{args.model}", data=args.data_root / "mnist", overrides=zoo_overrides(args.batch_size, args.accelerator, args.precision))
    if config["optim"]["name"] != "adamw":
        raise SystemExit(f"classification/{args.model} trains with {config['optim']['name']}; the loop here is written for adamw")

    hand_loop(images, labels, args.model, config["optim"], 1, args.batch_size, device, args.precision)  # warm-up both
    zoo_fit(args.data_root, output, args.model, 1, args.batch_size, args.accelerator, args.precision)
    zoo_seconds, loop_seconds = [], []
    for _ in range(args.repeat):
        zoo_seconds.append(zoo_fit(args.data_root, output, args.model, args.epochs, args.batch_size, args.accelerator, args.precision))
        loop_seconds.append(hand_loop(images, labels, args.model, config["optim"], args.epochs, args.batch_size, device, args.precision))

    seen = TRAIN * args.epochs
    zoo_rate, loop_rate = seen / statistics.median(zoo_seconds), seen / statistics.median(loop_seconds)
    print(f"MNIST {TRAIN:,} train / {VAL:,} val images, {args.model}, batch {args.batch_size}, {args.epochs} epochs, "
          f"{device}, precision {args.precision or '32'}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"median of {args.repeat}")
    print(f"  zoo train:    {zoo_rate:8.0f} images/s  (fits: {', '.join(f'{s:.1f}' for s in zoo_seconds)} s)")
    print(f"  hand loop:    {loop_rate:8.0f} images/s  (fits: {', '.join(f'{s:.1f}' for s in loop_seconds)} s)")
    print(f"  zoo / loop:   {zoo_rate / loop_rate:8.3f}")


if __name__ == "__main__":
    main()
