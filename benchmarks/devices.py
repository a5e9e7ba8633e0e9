"""What the training benchmarks against a hand-written loop share: their arguments, and the
device both sides train on, named as `zoo train` takes it (--accelerator, --precision) and used
so by the loop."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch


def add_arguments(parser: argparse.ArgumentParser, epochs: int) -> None:
    """The arguments every such benchmark takes: the data, the repeats and epochs, the device."""
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--repeat", type=int, default=3, help="fits of each side; the medians are compared")
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--accelerator", default="cpu", help="cpu, gpu or auto, as Lightning takes it")
    parser.add_argument("--precision", default=None, help="bf16-mixed: both sides under bf16 autocast (the loop as a hand-written AMP loop)")


def torch_device(accelerator: str) -> str:
    """The torch device Lightning picks for `accelerator`."""
    return "cuda" if accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available()) else "cpu"


def trainer_overrides(accelerator: str, precision: str | None) -> dict[str, Any]:
    """The `zoo train` overrides for the same device and precision."""
    return {"trainer.accelerator": accelerator, **({"trainer.precision": precision} if precision else {})}


def autocast(device: str, precision: str | None) -> torch.autocast:
    """The loop's autocast: bf16 under bf16-mixed (no gradient scaler needed), else off."""
    return torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=precision == "bf16-mixed")
