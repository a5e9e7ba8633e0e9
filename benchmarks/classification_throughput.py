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

--peer torchvision compares with torchvision's reference training script instead
(references/classification/train.py: `train_one_epoch` and `evaluate` as written there, each step
logging its loss, learning rate, top-1 and top-5 accuracy and images/s through its MetricLogger,
which reads each value back from the device; the log lines every 10 steps go to a buffer). It
differs from the script in what the comparison needs: the same in-memory data, optimizer and
precision as zoo (bf16 autocast where its --amp is float16 with a GradScaler), no scheduler, no
checkpoints.
"""

from __future__ import annotations

import argparse
import datetime
import io
import statistics
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

import zoo
from zoo.images import read_idx
from zoo.plugins import find_task, load_ref
from zoo.training import resolve_config
from zoo_tasks.classification.models import input_size

sys.path.insert(0, str(Path(__file__).resolve().parent))
from devices import add_arguments, autocast, torch_device, trainer_overrides  # noqa: E402  (benchmarks/devices.py)

TRAIN, VAL = 8000, 2000


def mnist(root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    images = read_idx(root / "mnist" / "t10k-images-idx3-ubyte.gz").unsqueeze(1)
    labels = read_idx(root / "mnist" / "t10k-labels-idx1-ubyte.gz").long()
    return images[: TRAIN + VAL], labels[: TRAIN + VAL]


def training_mean_std(images: torch.Tensor) -> tuple[float, float]:
    """The training images' pixel mean and standard deviation in [0, 1], as zoo's data builder finds them."""
    scaled = images[:TRAIN].float() / 255
    return scaled.mean().item(), scaled.std().item()


def network(model: str, images: torch.Tensor, optim: dict, device: str) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    """The model as its builder makes it for these images (random init), and AdamW at zoo's settings."""
    spec = find_task("classification").models[model]
    net = load_ref(spec.builder)(1, 10, list(images.shape[-2:]), **spec.defaults).to(device)
    return net, torch.optim.AdamW(net.parameters(), lr=optim["lr"], weight_decay=optim["weight_decay"])


def hand_loop(images: torch.Tensor, labels: torch.Tensor, model: str, optim: dict, epochs: int, batch: int, device: str, precision: str | None) -> float:
    """Seconds for a plain training loop with per-epoch validation, as a person would write it."""
    torch.manual_seed(0)
    started = time.perf_counter()
    train = DataLoader(TensorDataset(images[:TRAIN], labels[:TRAIN]), batch_size=batch, shuffle=True)
    val = DataLoader(TensorDataset(images[TRAIN:], labels[TRAIN:]), batch_size=batch)
    mean, std = training_mean_std(images)
    net, optimizer = network(model, images, optim, device)
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


class SmoothedValue:
    """torchvision's references/classification/utils.py SmoothedValue: a window and a global average."""

    def __init__(self, window_size: int = 20) -> None:
        self.deque: deque[float] = deque(maxlen=window_size)
        self.total, self.count = 0.0, 0

    def update(self, value: float, n: int = 1) -> None:
        self.deque.append(value)
        self.count += n
        self.total += value * n

    def __str__(self) -> str:
        values = torch.tensor(list(self.deque))
        return f"{values.median().item():.4f} ({self.total / self.count:.4f})"


class MetricLogger:
    """The reference's MetricLogger: meters updated each step, a line every `print_freq` steps."""

    def __init__(self, out: io.StringIO) -> None:
        self.meters: dict[str, SmoothedValue] = {}
        self.out = out

    def update(self, **values: float | torch.Tensor) -> None:
        for name, value in values.items():
            self.meters.setdefault(name, SmoothedValue()).update(value.item() if isinstance(value, torch.Tensor) else value)

    def log_every(self, iterable: DataLoader, print_freq: int, header: str):
        start = end = time.time()
        for i, item in enumerate(iterable):
            yield item
            if i % print_freq == 0 or i == len(iterable) - 1:
                eta = datetime.timedelta(seconds=int((time.time() - end) * (len(iterable) - i)))
                memory = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else 0
                print(header, f"[{i}/{len(iterable)}]", f"eta: {eta}", "  ".join(f"{k}: {v}" for k, v in self.meters.items()),
                      f"max mem: {memory:.0f}", file=self.out)
            end = time.time()
        print(f"{header} Total time: {datetime.timedelta(seconds=int(time.time() - start))}", file=self.out)


def accuracy(output: torch.Tensor, target: torch.Tensor, topk: tuple[int, ...] = (1,)) -> list[torch.Tensor]:
    """The reference's utils.accuracy: top-k accuracies in percent, as tensors on the device."""
    with torch.inference_mode():
        batch_size = target.size(0)
        _, pred = output.topk(max(topk), 1, True, True)
        correct = pred.t().eq(target[None])
        return [correct[:k].flatten().sum(dtype=torch.float32) * (100.0 / batch_size) for k in topk]


def reference_loop(images: torch.Tensor, labels: torch.Tensor, model: str, optim: dict, epochs: int, batch: int, device: str, precision: str | None) -> float:
    """Seconds for torchvision's reference train_one_epoch and evaluate on the same data."""
    torch.manual_seed(0)
    started = time.perf_counter()
    mean, std = training_mean_std(images)
    normalized = (images.float() / 255 - mean) / std  # the reference normalizes in its dataset's transforms
    train = DataLoader(TensorDataset(normalized[:TRAIN], labels[:TRAIN]), batch_size=batch, shuffle=True, pin_memory=device == "cuda")
    val = DataLoader(TensorDataset(normalized[TRAIN:], labels[TRAIN:]), batch_size=batch, pin_memory=device == "cuda")
    net, optimizer = network(model, images, optim, device)
    criterion = torch.nn.CrossEntropyLoss()
    mixed = autocast(device, precision)
    out = io.StringIO()
    for epoch in range(epochs):
        net.train()  # train_one_epoch
        logger = MetricLogger(out)
        for image, target in logger.log_every(train, 10, f"Epoch: [{epoch}]"):
            start_time = time.time()
            image, target = image.to(device), target.to(device)
            with mixed:
                output = net(image)
                loss = criterion(output, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            acc1, acc5 = accuracy(output, target, topk=(1, 5))
            logger.update(loss=loss.item(), lr=optimizer.param_groups[0]["lr"])
            logger.meters.setdefault("acc1", SmoothedValue()).update(acc1.item(), n=image.shape[0])
            logger.meters.setdefault("acc5", SmoothedValue()).update(acc5.item(), n=image.shape[0])
            logger.meters.setdefault("img/s", SmoothedValue(10)).update(image.shape[0] / (time.time() - start_time))
        net.eval()  # evaluate
        logger = MetricLogger(out)
        with torch.inference_mode():
            for image, target in logger.log_every(val, 100, "Test:"):
                image, target = image.to(device, non_blocking=True), target.to(device, non_blocking=True)
                with mixed:
                    output = net(image)
                    loss = criterion(output, target)
                acc1, acc5 = accuracy(output, target, topk=(1, 5))
                logger.update(loss=loss.item())
                logger.meters.setdefault("acc1", SmoothedValue()).update(acc1.item(), n=image.shape[0])
                logger.meters.setdefault("acc5", SmoothedValue()).update(acc5.item(), n=image.shape[0])
        print(f"Test: Acc@1 {logger.meters['acc1'].total / logger.meters['acc1'].count:.3f}", file=out)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


PEERS = {"loop": hand_loop, "torchvision": reference_loop}


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
    parser.add_argument("--peer", choices=PEERS, default="loop", help="a hand-written loop, or torchvision's reference training script")
    add_arguments(parser, epochs=2)
    args = parser.parse_args()
    device = torch_device(args.accelerator)
    images, labels = mnist(args.data_root)
    size = input_size(args.model, [28, 28])
    if size != [28, 28]:  # torchvision's networks take 32 px or more: the peers get the digits scaled as zoo train scales them
        images = F.interpolate(images.float(), size=size, mode="bilinear", antialias=True).round().clamp(0, 255).to(torch.uint8)
    output = Path(tempfile.mkdtemp(prefix="zoo-bench-"))
    _, config = resolve_config(f"classification/{args.model}", data=args.data_root / "mnist", overrides=zoo_overrides(args.batch_size, args.accelerator, args.precision))
    if config["optim"]["name"] != "adamw":
        raise SystemExit(f"classification/{args.model} trains with {config['optim']['name']}; the loop here is written for adamw")

    peer = PEERS[args.peer]
    peer(images, labels, args.model, config["optim"], 1, args.batch_size, device, args.precision)  # warm-up both
    zoo_fit(args.data_root, output, args.model, 1, args.batch_size, args.accelerator, args.precision)
    zoo_seconds, loop_seconds = [], []
    for _ in range(args.repeat):
        zoo_seconds.append(zoo_fit(args.data_root, output, args.model, args.epochs, args.batch_size, args.accelerator, args.precision))
        loop_seconds.append(peer(images, labels, args.model, config["optim"], args.epochs, args.batch_size, device, args.precision))

    seen = TRAIN * args.epochs
    zoo_rate, loop_rate = seen / statistics.median(zoo_seconds), seen / statistics.median(loop_seconds)
    print(f"MNIST {TRAIN:,} train / {VAL:,} val images, {args.model}, batch {args.batch_size}, {args.epochs} epochs, "
          f"{device}, precision {args.precision or '32'}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"median of {args.repeat}")
    print(f"  {'zoo train:':<22}{zoo_rate:8.0f} images/s  (fits: {', '.join(f'{s:.1f}' for s in zoo_seconds)} s)")
    name = {"loop": "hand loop", "torchvision": "torchvision reference"}[args.peer]
    print(f"  {name + ':':<22}{loop_rate:8.0f} images/s  (fits: {', '.join(f'{s:.1f}' for s in loop_seconds)} s)")
    print(f"  zoo / {args.peer}:{zoo_rate / loop_rate:8.3f}")


if __name__ == "__main__":
    main()
