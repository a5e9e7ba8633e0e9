"""What tasks with one class per input share (image classification, sentiment): accuracy,
macro F1, per-class precision and recall, and the confusion matrix as numbers and as a picture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torchmetrics import MetricCollection

MAX_LABELLED_CLASSES = 30  # beyond this, tick labels would overlap


def class_metrics(classes: int, split: str, top_k: int | None = None) -> MetricCollection:
    """`{split}/acc`, `/f1` (macro), `/precision` and `/recall` (per class), `/confusion`,
    and `/top{k}` accuracy when `top_k` is below the number of classes."""
    from torchmetrics.classification import (
        MulticlassAccuracy,
        MulticlassConfusionMatrix,
        MulticlassF1Score,
        MulticlassPrecision,
        MulticlassRecall,
    )

    metrics: dict[str, Any] = {
        "acc": MulticlassAccuracy(classes, average="micro"),
        "f1": MulticlassF1Score(classes, average="macro"),
        "precision": MulticlassPrecision(classes, average=None),
        "recall": MulticlassRecall(classes, average=None),
        "confusion": MulticlassConfusionMatrix(classes),
    }
    if top_k is not None and classes > top_k:
        metrics[f"top{top_k}"] = MulticlassAccuracy(classes, top_k=top_k, average="micro")
    # No compute groups: they would merge top-1 and top-k whenever their first batches agree.
    return MetricCollection(metrics, prefix=f"{split}/", compute_groups=False)


def log_class_metrics(module: Any, collection: MetricCollection, split: str, classes: list[str]) -> torch.Tensor:
    """Log the epoch's metrics from `collection` (then reset it) on the LightningModule
    `module`: the headline numbers, and precision/recall per class as
    `{split}/precision/<class>`. Returns the confusion matrix, on the CPU."""
    values = collection.compute()
    collection.reset()
    confusion = values.pop(f"{split}/confusion").cpu()
    logged = {}
    for name, value in values.items():
        if value.ndim == 0:
            logged[name] = value
        else:
            logged.update({f"{name}/{label}": v for label, v in zip(classes, value)})
    module.log(f"{split}/acc", logged.pop(f"{split}/acc"), prog_bar=True)
    module.log_dict(logged)
    return confusion


def confusion_plots(confusions: dict[str, torch.Tensor], classes: list[str], folder: Path, items: str) -> None:
    """`folder`/confusion_matrix.png of the validation split, and confusion_matrix_test.png
    when there was a test split (`confusions` by split, as `log_class_metrics` returned them)."""
    for split, suffix in (("val", ""), ("test", "_test")):
        if split in confusions:
            confusion_plot(confusions[split], classes, folder / f"confusion_matrix{suffix}.png", items)


def confusion_plot(confusion: torch.Tensor, classes: list[str], target: Path, items: str) -> Path:
    """Rows are true classes, columns predicted ones; cells show counts, colored by the share
    of their row, so rare classes read as clearly as common ones. `items` names what was
    classified ("images", "texts"). Drawn without pyplot: the caller's matplotlib backend is left alone."""
    from matplotlib.figure import Figure

    counts = confusion.long()
    shares = counts.float() / counts.sum(dim=1, keepdim=True).clamp_min(1)
    n = len(classes)
    side = min(12.0, max(4.0, 0.45 * n + 2))
    figure = Figure(figsize=(side + 1, side), dpi=120)
    axes = figure.subplots()
    image = axes.imshow(shares.numpy(), cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the true class")
    if n <= MAX_LABELLED_CLASSES:
        slanted = max(map(len, classes)) > 2
        axes.set_xticks(range(n), classes, rotation=45 if slanted else 0, ha="right" if slanted else "center")
        axes.set_yticks(range(n), classes)
        if n <= 15:
            for row in range(n):
                for column in range(n):
                    color = "white" if shares[row, column] > 0.5 else "black"
                    axes.text(column, row, str(int(counts[row, column])), ha="center", va="center", color=color, fontsize=8)
    accuracy = counts.diag().sum().item() / max(1, counts.sum().item())
    axes.set(xlabel="predicted", ylabel="true", title=f"Confusion matrix ({counts.sum().item()} {items}, accuracy {accuracy:.2%})")
    figure.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target)
    return target
