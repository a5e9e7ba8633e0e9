"""Pictures of a run, drawn from its CSV log: what a person would rather look at than read."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from zoo.run import read_log


def epoch_curves(metrics_csv: Path) -> dict[str, list[tuple[int, float]]]:
    """Each logged epoch-level metric as (epoch, value) points, from Lightning's metrics.csv."""
    curves: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for row in read_log(metrics_csv):
        if not row.get("epoch"):
            continue
        for name, value in row.items():
            if name not in ("epoch", "step") and value not in ("", None):
                curves[name].append((int(float(row["epoch"])), float(value)))
    return dict(curves)


def curve_plots(metrics_csv: Path, folder: Path, title: str, monitor: str | None) -> list[Path]:
    """plots/loss.png (training and validation loss per epoch) and, when the best checkpoint
    is picked by another metric, a plot of that metric (plots/acc.png for val/acc)."""
    curves = epoch_curves(metrics_csv)
    written = []
    losses = {name: points for name, points in curves.items() if name.endswith("loss")}
    if losses:
        written.append(_plot(losses, folder / "loss.png", title, "loss"))
    if monitor and not monitor.endswith("loss") and monitor in curves:
        name = monitor.rpartition("/")[2]
        written.append(_plot({monitor: curves[monitor]}, folder / f"{name}.png", title, name))
    return written


def _plot(curves: dict[str, list[tuple[int, float]]], target: Path, title: str, label: str) -> Path:
    """Curves per epoch on one axis (log scale when they span decades). The figure is drawn
    without pyplot, so the caller's matplotlib backend and open figures are left alone."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4), dpi=120)
    axes = figure.subplots()
    for name, points in sorted(curves.items()):
        epochs, values = zip(*points)
        axes.plot([e + 1 for e in epochs], values, label=name, marker="o" if len(points) < 30 else None)
    values = [v for points in curves.values() for _, v in points]
    if min(values) > 0 and max(values) / min(values) > 100:
        axes.set_yscale("log")
    axes.set(xlabel="epoch", ylabel=label, title=title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target)
    return target
