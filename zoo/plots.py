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


def curve_plots(metrics_csv: Path, folder: Path, title: str, monitor: str | None, label_smoothing: float = 0.0,
                monitor_note: str | None = None) -> list[Path]:
    """plots/loss.png (training and validation loss per epoch) and, when the best checkpoint
    is picked by another metric, a plot of that metric (plots/acc.png for val/acc), titled
    with `monitor_note` when the final metrics measure it otherwise. With `label_smoothing`
    the training loss is the smoothed one and validation's is not: the legend and title say
    so, since the two then differ by more than over-fitting."""
    curves = epoch_curves(metrics_csv)
    written = []
    losses = {_loss_label(name, label_smoothing): points for name, points in curves.items() if name.endswith("loss")}
    if losses:
        smoothed = f"{title}\ntrain/loss is label-smoothed ({label_smoothing:g}); val/loss is not"
        written.append(line_plot(losses, folder / "loss.png", smoothed if label_smoothing else title, "loss"))
    if monitor and not monitor.endswith("loss") and monitor in curves:
        name = monitor.rpartition("/")[2]
        written.append(line_plot({monitor: curves[monitor]}, folder / f"{name}.png", f"{title}\n{monitor_note}" if monitor_note else title, name))
    return written


def _loss_label(name: str, label_smoothing: float) -> str:
    """A loss curve's legend entry: `train/loss (label-smoothed 0.1)` where smoothing applies."""
    if not label_smoothing:
        return name
    return f"{name} (label-smoothed {label_smoothing:g})" if name.startswith("train/") else f"{name} (no smoothing)"


def log_scale(values: list[float], label: str) -> bool:
    """Whether curves of `values` read better on a log axis: they span decades and are not
    shares in [0, 1] (accuracy, mAP, a share of samples), whose gains near the top a log axis flattens."""
    share = label != "loss" and max(values) <= 1
    return not share and min(values) > 0 and max(values) / min(values) > 100


def line_plot(curves: dict[str, list[tuple[int, float]]], target: Path, title: str, label: str) -> Path:
    """Curves per epoch on one axis (log scale when they span decades, unless they are shares
    in [0, 1]). The figure is drawn
    without pyplot, so the caller's matplotlib backend and open figures are left alone."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(6, 4), dpi=120)
    axes = figure.subplots()
    for name, points in sorted(curves.items()):
        epochs, values = zip(*points)
        axes.plot([e + 1 for e in epochs], values, label=name, marker="o" if len(points) < 30 else None)
    if log_scale([v for points in curves.values() for _, v in points], label):
        axes.set_yscale("log")
    axes.set(xlabel="epoch", ylabel=label, title=title)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole: no tick at 2.5
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target)
    return target
