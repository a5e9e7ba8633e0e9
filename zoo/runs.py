"""`zoo runs`: the run folders under an output folder as a table, and several runs compared
(their validation curves in one plot, the config keys on which they differ). Reads run folders
only: config.yaml, metrics.json and logs/metrics.csv; imports no torch.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from zoo.config import flatten
from zoo.errors import ZooError
from zoo.files import read_json
from zoo.run import run_state

LOWER_IS_BETTER = ("loss", "mse", "mae", "rmse", "error", "fid", "kid", "perplexity", "ppl")  # words in a metric's name that say so


@dataclass
class RunRow:
    """One run folder, as `zoo runs` lists it."""

    name: str  # task/model
    time: str  # the folder's name: when it started
    epochs: int
    monitor: str | None  # the metric that picks the best checkpoint
    best: float | None  # its best value so far
    state: str  # zoo.run.STATES
    path: str
    metrics: dict[str, float]  # each validation metric's best value (by its own direction)


def find_runs(output: Path, pattern: str | None = None) -> list[RunRow]:
    """The run folders OUTPUT/TASK/MODEL/TIME (those with a config.yaml) whose task/model
    matches `pattern` (a task, task/model, or a shell wildcard), oldest first."""
    if not output.is_dir():
        raise ZooError(f"{output} is not a folder of runs", "pass --output, the folder zoo train wrote to (default: runs)")
    rows = []
    for config in sorted(output.glob("*/*/*/config.yaml")):
        run = config.parent
        name = f"{run.parent.parent.name}/{run.parent.name}"
        if pattern is None or fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(name, f"{pattern}/*"):
            rows.append(describe(run))
    return sorted(rows, key=lambda row: row.time)


def describe(run: Path) -> RunRow:
    """A run folder's row: its epochs and best validation metrics from logs/metrics.csv."""
    from zoo.plots import epoch_curves

    task, model = run.parent.parent.name, run.parent.name
    log = run / "logs" / "metrics.csv"
    curves = epoch_curves(log) if log.is_file() else {}
    monitor, mode = _monitor(task, model)
    metrics = {name: best_of(name, [v for _, v in points]) for name, points in curves.items() if name.startswith("val/")}
    epochs = len({epoch for name, points in curves.items() if name.startswith("val/") for epoch, _ in points})
    summary = run / "metrics.json"
    if summary.is_file():
        epochs = read_json(summary, "a run's metrics").get("epochs", epochs)
    best = None
    if monitor in curves:
        values = [v for _, v in curves[monitor]]
        best = min(values) if mode == "min" else max(values)
    return RunRow(f"{task}/{model}", run.name, epochs, monitor, best, run_state(run), str(run), metrics)


def best_of(name: str, values: list[float]) -> float:
    """The best of a metric's values: the least for a loss or an error, else the greatest."""
    finite = [v for v in values if math.isfinite(v)] or values
    return min(finite) if lower_is_better(name) else max(finite)


def lower_is_better(name: str) -> bool:
    words = name.rpartition("/")[2].lower().replace("-", "_").split("_")
    return any(word in LOWER_IS_BETTER for word in words)


def _monitor(task: str, model: str) -> tuple[str | None, str]:
    """The metric (and its direction) that picks the best checkpoint of task/model; (None, "min")
    for a task not installed here."""
    from zoo.plugins import tasks

    found = tasks().get(task)
    if found is None:
        return None, "min"
    return found.monitor_of({"name": model})


def sorted_by(rows: list[RunRow], metric: str) -> list[RunRow]:
    """Best first by `metric` (val/acc, or acc for short); runs without it last."""
    name = metric if "/" in metric else f"val/{metric}"
    if not any(name in row.metrics for row in rows):
        known = sorted({m for row in rows for m in row.metrics})
        raise ZooError(f"no run here has the metric {name}", f"sort by one of {', '.join(known)}" if known else "no run has finished an epoch")
    sign = 1 if lower_is_better(name) else -1
    return sorted(rows, key=lambda row: (name not in row.metrics, sign * row.metrics.get(name, 0.0)))


def table(rows: list[RunRow]) -> str:
    """The rows as an aligned text table."""
    header = ["run", "time", "epochs", "best", "state", "path"]
    return aligned([header, *([row.name, row.time, str(row.epochs), "-" if row.best is None else f"{row.monitor}={row.best:.4g}", row.state, row.path] for row in rows)])


def as_json(rows: list[RunRow]) -> list[dict[str, Any]]:
    return [asdict(row) for row in rows]


# Comparing runs ---------------------------------------------------------------------------------


def compare(runs: list[Path], plot: Path) -> dict[str, Any]:
    """`runs`' validation curves of a metric they share (the first run's monitored metric, else
    val/loss) in one plot at `plot`, and the config keys whose values differ between them."""
    import yaml

    from zoo.plots import epoch_curves, line_plot

    if len(runs) < 2:
        raise ZooError("--compare needs two runs or more", "name their run folders: zoo runs --compare RUN RUN")
    configs, curves, labels = [], [], []
    for run in runs:
        if not (run / "config.yaml").is_file():
            raise ZooError(f"{run} is not a run folder (it has no config.yaml)", "name folders that zoo train wrote: runs/TASK/MODEL/TIME")
        try:
            configs.append(flatten(yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8")) or {}))
        except yaml.YAMLError as error:
            raise ZooError(f"{run / 'config.yaml'} is not readable YAML: {str(error).splitlines()[0]}") from None
        log = run / "logs" / "metrics.csv"
        curves.append(epoch_curves(log) if log.is_file() else {})
        labels.append(f"{run.parent.parent.name}/{run.parent.name} {run.name}")
    if len(set(labels)) < len(labels):
        labels = [str(run) for run in runs]
    monitor, _ = _monitor(runs[0].parent.parent.name, runs[0].parent.name)
    shared = [name for name in (monitor, "val/loss") if name and all(name in found for found in curves)]
    if not shared:
        raise ZooError("these runs share no validation metric to plot", "compare runs of one task that finished an epoch or more")
    metric = shared[0]
    line_plot({label: found[metric] for label, found in zip(labels, curves)}, plot, f"{metric} by epoch", metric.rpartition("/")[2])
    keys = sorted(set().union(*configs))
    differ = {key: [config.get(key) for config in configs] for key in keys if len({repr(config.get(key)) for config in configs}) > 1}
    return {"plot": str(plot), "metric": metric, "runs": labels, "differ": differ}


def differ_table(labels: list[str], differ: dict[str, list[Any]]) -> str:
    """The differing config keys as a text table, a column per run."""
    if not differ:
        return "their configs are the same"
    return aligned([["key", *labels], *([key, *("-" if v is None else str(v) for v in values)] for key, values in differ.items())])


def aligned(lines: list[list[str]]) -> str:
    """Rows of cells as text in aligned columns, the first row the header."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines)
