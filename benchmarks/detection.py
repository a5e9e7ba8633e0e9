"""Object detection: quality and speed of `detection/yolo`, and its training loop against a hand-written one.

    uv run python benchmarks/detection.py shapes   [--epochs 20]
    uv run python benchmarks/detection.py raccoon  [--data-root ../shared/data] [--epochs 60] [--image-size 320]
    uv run python benchmarks/detection.py throughput [--epochs 2] [--repeat 3] [--accelerator gpu --precision bf16-mixed]

shapes:     `zoo train detection/yolo` on the embedded demo (480 drawn pictures, 10% validated);
            prints COCO mAP@.5 and mAP@[.5:.95] per epoch, the first epoch reaching mAP@.5 >= 0.9
            and the time it took (fit seconds x epochs / all epochs: epochs take equal time).
raccoon:    the raccoon set (`<data-root>/raccoon_voc`), the author's split: train_labels.csv
            (160 images) trains, test_labels.csv (40 images) validates; from scratch (no
            pretrained weights); prints the best validation mAP@.5 and mAP and the fit time.
throughput: training images per second of `zoo train detection/yolo` on the demo against a
            hand-written loop with the same network, datasets, batch size, optimizer (AdamW, no
            schedule) and a COCO evaluation of the validation split after every epoch;
            alternating in one process after a warm-up; medians and the ratio zoo/loop.
            --accelerator and --precision pick the device and precision of both sides (the
            loop under bf16 autocast with bf16-mixed).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

import zoo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from devices import add_arguments, autocast, torch_device, trainer_overrides  # noqa: E402  (benchmarks/devices.py)

OUTPUT = Path(tempfile.mkdtemp(prefix="zoo-bench-detection-"))


def per_epoch(run_path: Path) -> list[dict[str, float]]:
    """The validation metrics of each epoch, from the run's CSV log."""
    rows = list(csv.DictReader((run_path / "logs" / "metrics.csv").open()))
    return [
        {"epoch": int(float(r["epoch"])) + 1, "map": float(r["val/map"]), "map50": float(r["val/map50"])}
        for r in rows
        if r.get("val/map")
    ]


def shapes(args: argparse.Namespace) -> None:
    run = zoo.train("detection/yolo", output=OUTPUT, max_epochs=args.epochs, progress=False)
    epochs = per_epoch(run.path)
    print(f"detection/yolo on the demo shapes, {args.epochs} epochs, torch {torch.__version__}, {torch.get_num_threads()} threads")
    for e in epochs:
        print(f"  epoch {e['epoch']:3d}: mAP@.5 {e['map50']:.4f}  mAP {e['map']:.4f}")
    reached = next((e["epoch"] for e in epochs if e["map50"] >= 0.9), None)
    if reached:
        print(f"  mAP@.5 >= 0.9 after epoch {reached}: {run.seconds * reached / len(epochs):.1f} s of {run.seconds:.1f} s")
    final = run.metrics["val"]
    print(f"  best checkpoint: mAP@.5 {final['map50']:.4f}, mAP {final['map']:.4f}, mAP@.75 {final['map75']:.4f}; fit {run.seconds:.1f} s")


def raccoon(args: argparse.Namespace) -> None:
    root = args.data_root / "raccoon_voc"
    overrides = {"data.val_path": str(root / "test_labels.csv"), "data.image_size": args.image_size, "data.batch_size": args.batch_size,
                 "data.augment": args.augment, "optim.lr": args.lr}
    run = zoo.train(f"detection/{args.model}", data=root / "train_labels.csv", output=OUTPUT, max_epochs=args.epochs, progress=False,
                    overrides=overrides)
    epochs = per_epoch(run.path)
    best = max(epochs, key=lambda e: e["map"])
    final = run.metrics["val"]
    print(f"detection/{args.model} on raccoon (160 train / 40 val images), from scratch, image size {args.image_size}, "
          f"augment {args.augment}, batch {args.batch_size}, lr {args.lr}, {args.epochs} epochs; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    for e in epochs[:: max(1, len(epochs) // 12)]:
        print(f"  epoch {e['epoch']:3d}: mAP@.5 {e['map50']:.4f}  mAP {e['map']:.4f}")
    print(f"  best epoch {best['epoch']}: mAP@.5 {final['map50']:.4f}, mAP {final['map']:.4f}, mAP@.75 {final['map75']:.4f}; "
          f"fit {run.seconds:.1f} s ({run.seconds / 60:.1f} min)")


def hand_loop(bundle: Any, classes: int, image_size: int, epochs: int, batch: int, device: str = "cpu", precision: str | None = None) -> float:
    """Seconds for a plain loop over the same datasets, with a COCO evaluation every epoch."""
    from torch.utils.data import DataLoader
    from torchmetrics.detection import MeanAveragePrecision

    from zoo.plugins import find_task
    from zoo_tasks.detection.models import yolo

    torch.manual_seed(0)
    started = time.perf_counter()
    collate = bundle.train.collate
    train = DataLoader(bundle.train, batch_size=batch, shuffle=True, collate_fn=collate)
    val = DataLoader(bundle.val, batch_size=batch, collate_fn=collate)
    net = yolo(3, classes, image_size, **find_task("detection").models["yolo"].defaults).to(device)
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.05)
    mixed = autocast(device, precision)

    def pixels(images: list[torch.Tensor]) -> list[torch.Tensor]:
        return [i.to(device, non_blocking=True).float() / 255 for i in images]

    for _ in range(epochs):
        net.train()
        for images, targets in train:
            with mixed:
                losses = net(pixels(images), [{k: v.to(device) for k, v in t.items()} for t in targets])
                loss = sum(losses.values())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        net.eval()
        metric = MeanAveragePrecision(box_format="xyxy", iou_type="bbox", class_metrics=True, backend="faster_coco_eval")
        with torch.no_grad(), mixed:
            for images, targets in val:
                found = [{k: v.cpu().float() if v.is_floating_point() else v.cpu() for k, v in boxes.items()} for boxes in net(pixels(images))]
                metric.update(found, targets)
        metric.compute()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def throughput(args: argparse.Namespace) -> None:
    from zoo.training import choose_batch_size, resolve_config
    from zoo_tasks.detection.data import build_data

    _, config = resolve_config("detection/yolo", overrides={"optim.scheduler": "none"})
    bundle = build_data(config)
    choose_batch_size(config, bundle)  # data.batch_size null: the batch zoo train picks for these images
    batch, classes, size = config["data"]["batch_size"], len(bundle.info["classes"]), bundle.info["image_size"]
    overrides = {"optim.scheduler": "none", "data.batch_size": batch, **trainer_overrides(args.accelerator, args.precision)}
    device = torch_device(args.accelerator)
    hand_loop(bundle, classes, size, 1, batch, device, args.precision)  # warm-up both
    zoo.train("detection/yolo", output=OUTPUT, max_epochs=1, progress=False, overrides=overrides)
    zoo_seconds, loop_seconds = [], []
    for _ in range(args.repeat):
        zoo_seconds.append(zoo.train("detection/yolo", output=OUTPUT, max_epochs=args.epochs, progress=False, overrides=overrides).seconds)
        loop_seconds.append(hand_loop(bundle, classes, size, args.epochs, batch, device, args.precision))
    seen = len(bundle.train) * args.epochs
    zoo_rate, loop_rate = seen / statistics.median(zoo_seconds), seen / statistics.median(loop_seconds)
    print(f"detection/yolo on the demo shapes ({len(bundle.train)} train / {len(bundle.val)} val images, {size} px), batch {batch}, "
          f"{args.epochs} epochs, {device}, precision {args.precision or '32'}; torch {torch.__version__}, {torch.get_num_threads()} threads; median of {args.repeat}")
    print(f"  zoo train:    {zoo_rate:8.1f} images/s  (fits: {', '.join(f'{s:.1f}' for s in zoo_seconds)} s)")
    print(f"  hand loop:    {loop_rate:8.1f} images/s  (fits: {', '.join(f'{s:.1f}' for s in loop_seconds)} s)")
    print(f"  zoo / loop:   {zoo_rate / loop_rate:8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=["shapes", "raccoon", "throughput"])
    add_arguments(parser, epochs=None)  # --data-root, --repeat, --epochs, and throughput's --accelerator and --precision
    parser.add_argument("--model", default="yolo", help="raccoon: the detection model")
    parser.add_argument("--image-size", type=int, default=320, help="raccoon: longer image side")
    parser.add_argument("--batch-size", type=int, default=8, help="raccoon")
    parser.add_argument("--augment", default="standard", help="raccoon: none, light or standard")
    parser.add_argument("--lr", type=float, default=2e-3, help="raccoon: AdamW learning rate")
    args = parser.parse_args()
    args.epochs = args.epochs or {"shapes": 20, "raccoon": 60, "throughput": 2}[args.workload]
    {"shapes": shapes, "raccoon": raccoon, "throughput": throughput}[args.workload](args)


if __name__ == "__main__":
    main()
