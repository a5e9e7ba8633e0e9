"""`zoo tune`: a search over config keys with Optuna, every trial a normal run folder.

TPE samples each trial's values from the `--search` spaces; a median pruner, fed each
validation epoch by zoo's own callback (`zoo.trainer.EpochReport`), stops trials that fall behind; the
study lives in an Optuna RDB storage (SQLite in the output folder by default), so a second
`zoo tune` with the same study continues it, and processes on one machine (`--workers`) or on
several sharing a database run trials of one study at once. The end: the best trial's config as
best.yaml (`zoo train --config` trains it), a table of the trials, and plots/tune.png.
"""

from __future__ import annotations

import math
import multiprocessing
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo import config as configs
from zoo.errors import ZooError, did_you_mean
from zoo.files import first_line

SPACE = re.compile(r"^\s*(?P<key>[\w.]+)\s*=\s*(?P<kind>loguniform|uniform|int|choice)\((?P<args>.*)\)\s*$")
KINDS = "loguniform(a,b), uniform(a,b), int(a,b) or choice(a,b,...)"
TUNE_FOLDER = "tune"  # OUTPUT/tune/STUDY/: best.yaml, trials.csv, plots/tune.png
STORAGE_FILE = "tune.db"  # OUTPUT/tune.db: the default storage, every study of that output folder


@dataclass(frozen=True)
class Space:
    """One `--search KEY=SPACE`: the values a trial may give `key`."""

    key: str
    kind: str  # loguniform, uniform, int, choice
    values: tuple[Any, ...]  # (low, high), or the choices

    def sample(self, trial: Any) -> Any:
        if self.kind == "choice":
            return trial.suggest_categorical(self.key, list(self.values))
        if self.kind == "int":
            return trial.suggest_int(self.key, *self.values)
        return trial.suggest_float(self.key, *self.values, log=self.kind == "loguniform")


def parse_space(text: str) -> Space:
    """`optim.lr=loguniform(1e-5,1e-2)` -> a Space; a malformed one is a ZooError."""
    match = SPACE.match(text)
    if not match:
        raise ZooError(f"--search {text!r} is not KEY=SPACE", f"write it as 'optim.lr=loguniform(1e-5,1e-2)', quoted for the shell; spaces: {KINDS}")
    key, kind = match["key"], match["kind"]
    values = tuple(configs.typed_text(part) for part in match["args"].split(","))
    if kind != "choice":
        if len(values) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise ZooError(f"--search {key}: {kind}(a,b) takes two numbers, not {match['args']!r}")
        low, high = values
        if not low < high or (kind == "loguniform" and low <= 0) or (kind == "int" and not (float(low).is_integer() and float(high).is_integer())):
            rule = {"loguniform": "0 < a < b", "uniform": "a < b", "int": "whole numbers a < b"}[kind]
            raise ZooError(f"--search {key}: {kind}({low}, {high}) needs {rule}")
        values = (int(low), int(high)) if kind == "int" else (float(low), float(high))
    elif len(values) < 2 or len(set(map(repr, values))) < len(values):
        raise ZooError(f"--search {key}: choice(...) takes two different values or more, not {match['args']!r}")
    return Space(key, kind, values)


def check_spaces(task: Any, config: dict[str, Any], spaces: Sequence[Space]) -> None:
    """Each space's key is one the run takes, of a type the space gives (a whole-number key
    refuses uniform), and each bound or choice passes that key's check."""
    declared = configs.settings_of(task, config)
    keys = [space.key for space in spaces]
    if len(set(keys)) < len(keys):
        raise ZooError(f"--search names {next(k for k in keys if keys.count(k) > 1)} twice")
    for space in spaces:
        setting = declared.get(space.key)
        if setting is None:
            passthrough = space.key.startswith("trainer.") and space.key.split(".", 1)[1] in configs.TRAINER_KEYS
            if passthrough:
                continue
            name = did_you_mean(space.key, list(declared))
            raise ZooError(f"--search: {space.key} is not a key of {task.name}/{config['model']['name']}", name or f"`zoo info {task.name}` lists its keys")
        if space.kind in ("uniform", "loguniform") and float not in setting.types:
            raise ZooError(f"--search {space.key}={space.kind}(...): {space.key} takes {setting.described()}", "search it with int(a,b) or choice(...)")
        for value in space.values:
            try:
                configs.check(space.key, value, setting)
            except ZooError as error:
                raise ZooError(f"--search {space.key}={space.kind}(...): {error.message}", error.hint) from None


@dataclass
class Study:
    """Where a study lives and what it optimizes."""

    name: str
    storage: str
    direction: str  # minimize or maximize
    monitor: str  # val/acc
    folder: Path  # OUTPUT/tune/STUDY
    max_epochs: int  # what each trial would train unpruned


def open_study(study: Study, seed: int) -> Any:
    """The Optuna study, created or loaded: TPE (seeded), a median pruner."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = study.storage
    if storage.startswith("sqlite:"):  # wait for another worker's write instead of failing on "database is locked"
        storage = optuna.storages.RDBStorage(storage, engine_kwargs={"connect_args": {"timeout": 120}})
    try:
        return optuna.create_study(storage=storage, study_name=study.name, direction=study.direction, load_if_exists=True,
                                   sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=5),
                                   pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1))
    except ValueError as error:  # another direction for a study of that name
        raise ZooError(f"study {study.name}: {first_line(error)}", "name another --study") from None


def run_trials(name: str, options: dict[str, Any], spaces: Sequence[Space], study: Study, trials: int, timeout: float | None, seed: int) -> int:
    """Up to `trials` trials of `study` in this process, within `timeout` seconds; the number run.
    Ctrl-C stops after the current trial (a second one stops it too, and it counts as failed)."""
    import time

    import optuna

    from zoo.trainer import EpochReport
    from zoo.training import train

    optuna_study = open_study(study, seed)
    started, done = time.monotonic(), 0
    with _stop_after_trial() as stopping:
        while done < trials and not stopping.is_set() and (timeout is None or time.monotonic() - started < timeout):
            trial = optuna_study.ask()
            values = {space.key: space.sample(trial) for space in spaces}
            report = EpochReport(study.monitor, _pruner_of(trial))
            overrides = {**options.get("overrides", {}), **values}
            try:
                run = train(name, **{**options, "overrides": overrides}, progress=False, callbacks=[report])
            except KeyboardInterrupt as interrupt:
                trial.set_user_attr("error", f"interrupted: {interrupt}")
                optuna_study.tell(trial, state=optuna.trial.TrialState.FAIL)
                raise
            except Exception as error:  # a NaN loss, a setting that fails: recorded, and the study goes on
                trial.set_user_attr("error", first_line(error))
                optuna_study.tell(trial, state=optuna.trial.TrialState.FAIL)
                print(f"trial {trial.number} failed: {first_line(error)}", file=sys.stderr)
            else:
                trial.set_user_attr("run", str(run.path))
                trial.set_user_attr("epochs", run.epochs)
                trial.set_user_attr("max_epochs", int(values.get("trainer.max_epochs", study.max_epochs)))
                if report.stopped:
                    optuna_study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                else:
                    optuna_study.tell(trial, run.metrics["val"][study.monitor.removeprefix("val/")])
                print(_trial_line(optuna_study.trials[trial.number]), file=sys.stderr)
            done += 1
    return done


def _pruner_of(trial: Any) -> Callable[[int, float], bool]:
    """What EpochReport calls each epoch: the value goes to the trial; True when the pruner stops it."""

    def report(epoch: int, value: float) -> bool:
        trial.report(value, epoch)
        return trial.should_prune()

    return report


@contextmanager
def _stop_after_trial() -> Iterator[threading.Event]:
    """While the block runs, the first Ctrl-C sets the event (stop after this trial), and puts
    back Python's own handler, so that a second Ctrl-C interrupts the trial."""
    stopping = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stopping
        return

    def first(signum: int, frame: Any) -> None:
        stopping.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print("zoo tune: stopping after this trial (Ctrl-C again stops it now)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, first)
    try:
        yield stopping
    finally:
        signal.signal(signal.SIGINT, previous)


def tune(name: str | None, *, trials: int, search: Sequence[str], timeout: float | None = None, storage: str | None = None,
         study: str | None = None, workers: int = 1, **options: Any) -> dict[str, Any]:
    """Run `trials` trials (over `workers` processes) of the study `study` (default TASK-MODEL)
    in `storage` (default SQLite OUTPUT/tune.db), sampling the `search` spaces; `options` are
    zoo.train's, the base of every trial. Returns the summary (`summarize`), with "stopped"
    "interrupted" when Ctrl-C stopped it."""
    from zoo.training import check_inputs, resolve_config

    if not isinstance(trials, int) or trials < 1:
        raise ZooError(f"--trials must be a whole number of at least 1, not {trials!r}")
    if not isinstance(workers, int) or workers < 1:
        raise ZooError(f"--workers must be a whole number of at least 1, not {workers!r}")
    if timeout is not None and not 0 < timeout < math.inf:
        raise ZooError(f"--timeout must be a number of seconds above 0, not {timeout!r}")
    spaces = [parse_space(text) for text in search]
    if not spaces:
        raise ZooError("zoo tune needs something to search", "add --search KEY=SPACE, such as --search 'optim.lr=loguniform(1e-4,1e-2)' (quoted for the shell)")
    overrides = {"trainer.devices": 1, **options.pop("overrides", {})}  # one device a trial: trials spread over processes instead
    task, config = resolve_config(name, **options, overrides=overrides)
    if config["trainer"]["devices"] not in (1, [0], "1"):
        raise ZooError(f"zoo tune trains each trial on one device, not trainer.devices={config['trainer']['devices']}", "spread trials with --workers")
    check_inputs(task, config)
    check_spaces(task, config, spaces)
    for space in spaces:  # each space's extremes in a whole config: a conflict with another key shows now, not at trial 7
        for value in space.values:
            resolve_config(name, **options, overrides={**overrides, space.key: value})
    monitor, mode = task.monitor_of(config["model"])
    name = f"{task.name}/{config['model']['name']}"
    study_name = study or name.replace("/", "-")
    output = Path(config["output"])
    output.mkdir(parents=True, exist_ok=True)
    chosen = Study(study_name, storage or f"sqlite:///{output / STORAGE_FILE}", "minimize" if mode == "min" else "maximize", monitor,
                   output / TUNE_FOLDER / study_name, int(config["trainer"]["max_epochs"]))
    options = {**options, "overrides": overrides}
    stopped = None
    try:
        run_workers(name, options, spaces, chosen, trials, timeout, config["seed"], workers)
    except KeyboardInterrupt:
        stopped = "interrupted"
    return {**summarize(chosen), "stopped": stopped}


def run_workers(name: str, options: dict[str, Any], spaces: Sequence[Space], study: Study, trials: int, timeout: float | None, seed: int, workers: int) -> None:
    """`trials` trials shared among `workers` processes (this one and workers - 1 started here),
    each its share, so the count is exact; each process seeds its sampler apart."""
    shares = [trials // workers + (k < trials % workers) for k in range(workers)]
    open_study(study, seed)  # the storage's tables and the study made once, before processes race to make them
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no fork of Lightning's threads
    others = [context.Process(target=run_trials, args=(name, options, spaces, study, share, timeout, seed + k), daemon=False)
              for k, share in enumerate(shares[1:], start=1) if share]
    for process in others:
        process.start()
    try:
        run_trials(name, options, spaces, study, shares[0], timeout, seed)
    finally:
        for process in others:
            process.join()
    failed = [process.exitcode for process in others if process.exitcode not in (0, None)]
    if failed:
        raise ZooError(f"{len(failed)} of the {len(others)} other worker processes stopped with an error (exit code {failed[0]})",
                       "the table below holds every trial that ended")


def summarize(study: Study) -> dict[str, Any]:
    """The study's trials (a table), the best trial's config as best.yaml, plots/tune.png."""
    import shutil

    import optuna

    optuna_study = open_study(study, 0)
    trials = optuna_study.trials
    rows = [_trial_row(trial) for trial in trials if trial.state != optuna.trial.TrialState.RUNNING]
    complete = [trial for trial in trials if trial.state == optuna.trial.TrialState.COMPLETE]
    study.folder.mkdir(parents=True, exist_ok=True)
    best = None
    if complete:
        chosen = min(complete, key=lambda t: t.value) if study.direction == "minimize" else max(complete, key=lambda t: t.value)
        source = Path(chosen.user_attrs["run"]) / "config.yaml"
        if source.is_file():
            shutil.copyfile(source, study.folder / "best.yaml")
            best = {"trial": chosen.number, "value": chosen.value, "params": chosen.params, "run": chosen.user_attrs["run"], "config": str(study.folder / "best.yaml")}
    plot = tune_plot(study, optuna_study, complete)
    return {"study": study.name, "storage": study.storage, "monitor": study.monitor, "direction": study.direction,
            "trials": rows, "best": best, "plot": str(plot) if plot else None, "epochs": _epochs(trials)}


def _epochs(trials: Sequence[Any]) -> dict[str, int]:
    """Epochs the trials trained, and those they would have trained unpruned."""
    ran = [trial for trial in trials if "epochs" in trial.user_attrs]
    return {"trained": sum(int(t.user_attrs["epochs"]) for t in ran),
            "unpruned": sum(max(int(t.user_attrs["epochs"]), int(t.user_attrs.get("max_epochs", 0))) for t in ran)}


def _trial_row(trial: Any) -> dict[str, Any]:
    return {"trial": trial.number, "state": trial.state.name.lower(), "value": trial.value, "params": trial.params,
            "epochs": trial.user_attrs.get("epochs"), "run": trial.user_attrs.get("run"), "error": trial.user_attrs.get("error")}


def _trial_line(trial: Any) -> str:
    row = _trial_row(trial)
    value = "" if row["value"] is None else f" {row['value']:.4g}"
    return f"trial {row['trial']} {row['state']}{value} after {row['epochs']} epochs: " + ", ".join(f"{k}={_short(v)}" for k, v in row["params"].items())


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def trials_table(rows: list[dict[str, Any]]) -> str:
    from zoo.runs import aligned

    keys = sorted({key for row in rows for key in row["params"]})
    header = ["trial", "state", "value", "epochs", *keys, "run"]
    lines = [[str(row["trial"]), row["state"], "-" if row["value"] is None else f"{row['value']:.4g}", str(row["epochs"] or "-"),
              *(_short(row["params"][k]) if k in row["params"] else "-" for k in keys), row["run"] or row["error"] or "-"] for row in rows]
    return aligned([header, *lines])


def tune_plot(study: Study, optuna_study: Any, complete: Sequence[Any]) -> Path | None:
    """plots/tune.png: the objective of each trial (and the best so far), and how much each
    key mattered (Optuna's fANOVA importances, with 2 finished trials or more)."""
    import optuna
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    if not complete:
        return None
    figure = Figure(figsize=(11, 4), dpi=120)
    by_trial, importance = figure.subplots(1, 2)
    numbers = [t.number for t in complete]
    values = [t.value for t in complete]
    by_trial.scatter(numbers, values, label="finished trial", zorder=3)
    pruned = [t for t in optuna_study.trials if t.state == optuna.trial.TrialState.PRUNED and t.intermediate_values]
    if pruned:
        by_trial.scatter([t.number for t in pruned], [t.intermediate_values[max(t.intermediate_values)] for t in pruned], marker="x", color="gray", label="pruned (last epoch)")
    best, running = [], None
    for value in values:
        running = value if running is None else (min(running, value) if study.direction == "minimize" else max(running, value))
        best.append(running)
    by_trial.step(numbers, best, where="post", color="C1", label="best so far")
    by_trial.set(xlabel="trial", ylabel=study.monitor, title=f"study {study.name}")
    by_trial.xaxis.set_major_locator(MaxNLocator(integer=True))
    by_trial.grid(alpha=0.3)
    by_trial.legend()
    try:
        importances = optuna.importance.get_param_importances(optuna_study) if len(complete) >= 2 else {}
    except (RuntimeError, ValueError):  # too few trials with varying values
        importances = {}
    if importances:
        names = list(importances)[::-1]
        importance.barh(names, [importances[n] for n in names])
        importance.set(xlabel="importance (fANOVA)", title="what mattered")
    else:
        importance.text(0.5, 0.5, "importances need 2 finished trials\nwith different values", ha="center", va="center")
        importance.set_axis_off()
    figure.tight_layout()
    target = study.folder / "plots" / "tune.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target)
    return target
