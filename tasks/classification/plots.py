"""The confusion matrix as a picture."""

from __future__ import annotations

from pathlib import Path

import torch

MAX_LABELLED_CLASSES = 30  # beyond this, tick labels would overlap


def confusion_plot(confusion: torch.Tensor, classes: list[str], target: Path) -> Path:
    """Rows are true classes, columns predicted ones; cells show counts, colored by the share
    of their row, so rare classes read as clearly as common ones."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = confusion.long()
    shares = counts.float() / counts.sum(dim=1, keepdim=True).clamp_min(1)
    n = len(classes)
    side = min(12.0, max(4.0, 0.45 * n + 2))
    figure, axes = plt.subplots(figsize=(side + 1, side), dpi=120)
    image = axes.imshow(shares.numpy(), cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the true class")
    if n <= MAX_LABELLED_CLASSES:
        axes.set_xticks(range(n), classes, rotation=45 if max(map(len, classes)) > 2 else 0, ha="right" if max(map(len, classes)) > 2 else "center")
        axes.set_yticks(range(n), classes)
        if n <= 15:
            for row in range(n):
                for column in range(n):
                    color = "white" if shares[row, column] > 0.5 else "black"
                    axes.text(column, row, str(int(counts[row, column])), ha="center", va="center", color=color, fontsize=8)
    accuracy = counts.diag().sum().item() / max(1, counts.sum().item())
    axes.set(xlabel="predicted", ylabel="true", title=f"Confusion matrix ({counts.sum().item()} images, accuracy {accuracy:.2%})")
    figure.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target)
    plt.close(figure)
    return target
