"""`zoo train`: one resolved config in, one run folder out."""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import threading
import time
import traceback
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zoo import config as configs
from zoo import tables
from zoo.errors import ZooError
from zoo.files import first_line, read_json
from zoo.plugins import Setting, Task, find_task, load_ref
from zoo.run import DATA_INFO, RUN_DIR_ENV, STOPPED, last_checkpoint, load_checkpoint, new_run_dir, prepend_log, read_log, training_lock, write_json, write_log

CORE_OPTIONS = ("config", "data", "max_epochs", "output", "seed", "compile", "detect_anomaly", "resume")


@dataclass
class Run:
    """A finished run: its folder, final metrics and what the model learned."""

    path: Path
    task: str
    model: str
    metrics: dict[str, dict[str, float]]
    summary: dict[str, Any]
    epochs: int
    seconds: float
    notes: list[str] = field(default_factory=list)
    rank: int = 0  # DDP processes other than rank 0 return too, but write nothing

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path)}


def resolve_config(
    name: str | None = None,
    *,
    config: str | Path | Mapping[str, Any] | None = None,
    data: str | Path | None = None,
    max_epochs: int | None = None,
    output: str | Path | None = None,
    seed: int | None = None,
    compile: bool | None = None,
    detect_anomaly: bool | None = None,
    overrides: Sequence[str] | Mapping[str, Any] | None = None,
    **flags: Any,
) -> tuple[Task, configs.Config]:
    """The task and validated config a run would use. `name` is a task or `task/model`;
    without it the config file's `task:` decides. `flags` are the task's own options
    (`target="y"` for linear regression)."""
    if isinstance(config, Mapping):
        file_config, base = dict(config), Path.cwd()
    else:
        file_config = configs.read_yaml(Path(config)) if config is not None else {}
        base = Path(config).parent if config is not None else Path.cwd()
    task_name, model = _names(name, file_config)
    task = find_task(task_name)
    file_config = configs.absolute_paths(file_config, base, task)
    if file_config.get("task") and find_task(file_config["task"]) is not task:
        raise ZooError(f"the config is for task {file_config['task']!r}, not {task.name!r}", "drop the task name or the --config")
    options: dict[str, Any] = {
        "data.path": str(data) if data is not None else None,
        "trainer.max_epochs": max_epochs,
        "output": str(output) if output is not None else None,
        "seed": seed,
        "compile": compile,
        "trainer.detect_anomaly": detect_anomaly,
    }
    for flag, value in flags.items():
        options[configs.flag_key(task, flag, [o.replace("_", "-") for o in CORE_OPTIONS])] = value
    if isinstance(overrides, Mapping):
        extra = configs.nest(overrides.items())
    else:
        extra = configs.parse_overrides(overrides or ())
    given = configs.merge(configs.nest((k, v) for k, v in options.items() if v is not None), extra)
    given = configs.absolute_paths(given, Path.cwd(), task)
    try:
        resolved = configs.resolve(task, model, file_config, given)
    except ZooError:
        if config is None or isinstance(config, Mapping):
            raise
        try:
            configs.resolve(task, model, file_config, {})
        except ZooError as mistake:  # the file's own: named with it
            raise ZooError(f"{config}: {mistake.message}", mistake.hint) from None
        raise
    resolved["output"] = str(Path(resolved["output"]).resolve())  # a saved config.yaml must not move it
    return task, resolved


def _names(name: str | None, file_config: Mapping[str, Any]) -> tuple[str, str | None]:
    if name:
        task_name, _, model = name.partition("/")
        return task_name, model or None
    if file_config.get("task"):
        return str(file_config["task"]), None
    raise ZooError("no task given", "name one (`zoo train linear-regression`) or pass --config FILE with a task: key")


def create(name: str, *, data: str | Path | None = None, **hparams: Any) -> Any:
    """An untrained module of `name`, sized for `data` (or the task's demo data)."""
    task, config = resolve_config(name, data=data, overrides={f"model.{k}": v for k, v in hparams.items()})
    bundle = load_ref(task.data_of(config["model"]))(config)
    choose_batch_size(config, bundle)
    return load_ref(task.module_of(config["model"]))(config, bundle.info)


@dataclass
class Resumed:
    """What `--resume` continues from: the run's last checkpoint and the epochs it holds."""

    checkpoint: Path
    epochs: int  # trained already
    info: dict[str, Any]  # the data info the run was first built with
    finishing: bool  # every epoch is trained: only the final evaluation and model/ are left
    seconds: float  # spent training the epochs it holds


def train(name: str | None = None, *, resume: str | Path | None = None, progress: bool = True, callbacks: Sequence[Any] = (), **options: Any) -> Run:
    """Train `name` (a task or `task/model`) and write its run folder; see `resolve_config`
    for the options. `resume` continues a run folder from its last checkpoint; `callbacks`
    are Lightning callbacks of the caller's, added to zoo's."""
    resumed_from = None
    if resume is not None:
        for option in ("config", "output"):
            if options.get(option) is not None:
                raise ZooError("--resume continues in the run's own folder with its own config", f"drop --{option}")
        run_dir: Path | None = Path(resume).resolve()
        resumed_from = last_checkpoint(run_dir)
        options["config"] = run_dir / "config.yaml"
    else:
        run_dir = None
    task, config = resolve_config(name, **options)
    resumed = _resumed(resumed_from, config) if resumed_from is not None else None
    check_inputs(task, config)
    from zoo.trainer import quiet_lightning

    with quiet_lightning():
        return _train(task, config, run_dir, resumed, progress, callbacks)


def check_inputs(task: Task, config: configs.Config) -> None:
    """What can be checked in a moment, before torch and Lightning are imported (seconds): the
    trackers `logger` names are installed, each input path the config names exists, and a
    table file among them (CSV, TSV, JSON lines, parquet) holds the columns the config names
    (the keys declared with `column`); the training table, where such a key is null, a column
    of one of its `usual` names."""
    from zoo.tracking import check_installed

    check_installed(config)
    declared = configs.settings_of(task, config)
    values = {key: configs.value_at(config, key.split(".")) for key in declared}
    named = {key: _column_names(values[key], setting) for key, setting in declared.items() if setting.column and values[key] is not None}
    usual = {key: setting.usual for key, setting in declared.items() if setting.usual and values[key] is None}
    for key, setting in declared.items():
        value = values[key]
        if not setting.path or key == "output" or not isinstance(value, str) or value in setting.choices:  # output: written, not read
            continue
        for part in map(Path, configs.path_parts(value)):
            if not part.exists():
                raise ZooError(f"{key}: {part} does not exist", "check the path (relative ones are taken from a config file's folder, else from the current folder)")
            tables.check_header(part, named, usual if key == "data.path" else None)  # a test table may lack labels


def _column_names(value: Any, setting: Setting) -> list[str]:
    """The columns a column key's value names: a list's items, or comma-separated ones when the key takes a list."""
    if isinstance(value, list):
        return [str(name) for name in value]
    return [name.strip() for name in value.split(",")] if list in setting.types else [str(value)]


def _train(task: Task, config: configs.Config, run_dir: Path | None, resumed: Resumed | None, progress: bool, callbacks: Sequence[Any]) -> Run:
    """`train` once the config is resolved: data, module, run folder, fit."""
    import lightning as L
    import torch.distributed

    from zoo import trainer as trainers
    from zoo.data import reusing

    L.seed_everything(config["seed"], workers=True, verbose=False)
    fresh = run_dir is None
    joining = RUN_DIR_ENV in os.environ  # a DDP process that Lightning launched for rank 0
    # Processes an outside launcher started together (torchrun, srun): rank 0 builds the data
    # and makes the run folder first, then tells the others both.
    launched = not joining and trainers.join_launched_processes(config["trainer"])
    reused = resumed.info if resumed else _rank_zero_data_info() if joining else None
    if launched and torch.distributed.get_rank() != 0:
        shared = trainers.share_from_rank_zero(None)
        run_dir, joining, reused = Path(shared["run_dir"]), True, shared["info"]
    started = time.perf_counter()
    with reusing(reused):
        bundle = load_ref(task.data_of(config["model"]))(config)
    bundle.machine_notes.append(data_note(bundle, config, time.perf_counter() - started))
    batch_note = choose_batch_size(config, bundle)
    module = load_ref(task.module_of(config["model"]))(config, bundle.info)
    if batch_note and any(p.requires_grad for p in module.parameters()):
        bundle.notes.append(batch_note)
    demo_model = task.demo.get("model", {}).get("name")
    if config["data"]["path"] is None and config["model"]["name"] == demo_model != task.default_model:
        bundle.notes.insert(0, f"the demo data trains {task.name}/{demo_model}, chosen for it; with your own data the default is {task.default_model}")

    run_dir = run_dir or new_run_dir(Path(config["output"]), task.name, config["model"]["name"])
    lock = contextlib.ExitStack()  # the run folder's, held by the process that writes it
    try:
        if not joining:
            lock.enter_context(training_lock(run_dir))
            if fresh:  # a resumed run keeps its config.yaml until the new session succeeds
                (run_dir / "config.yaml").write_text(configs.to_yaml(config), encoding="utf-8")
                write_json(run_dir / DATA_INFO, bundle.info)  # for the other devices' processes
            if launched:
                trainers.share_from_rank_zero({"run_dir": str(run_dir), "info": bundle.info})
            os.environ[RUN_DIR_ENV] = str(run_dir)
        run = _fit(task, config, bundle, module, run_dir, resumed, progress, callbacks)
        if not fresh and run.rank == 0 and not resumed.finishing:  # finishing trains nothing under new settings
            (run_dir / "config.yaml").write_text(configs.to_yaml(config), encoding="utf-8")
        return run
    except BaseException as error:
        if fresh and not joining and not (run_dir / "checkpoints" / "last.ckpt").exists():
            _remove_run_dir(run_dir)
            if isinstance(error, KeyboardInterrupt):
                raise KeyboardInterrupt("training stopped before its first epoch finished; nothing was kept") from None
        raise
    finally:
        lock.close()
        if not joining:
            os.environ.pop(RUN_DIR_ENV, None)


def _remove_run_dir(run_dir: Path) -> None:
    """Remove a run folder that kept nothing, and its <model>/ and <task>/ when left empty."""
    shutil.rmtree(run_dir, ignore_errors=True)
    for parent in (run_dir.parent, run_dir.parent.parent):
        with contextlib.suppress(OSError):
            parent.rmdir()


def _resumed(checkpoint: Path, config: configs.Config) -> Resumed:
    """The checkpoint a resumed run continues from, checked: epochs left to train, or a run
    that trained them all but stopped before writing model/ (finished without training)."""
    saved = load_checkpoint(checkpoint)
    run_dir, done = checkpoint.parent.parent, saved["epoch"] + 1
    wanted = config["trainer"]["max_epochs"]
    finished = (run_dir / "model").is_dir() and (run_dir / "metrics.json").is_file()
    if wanted is not None and wanted != -1 and (wanted < done or (wanted == done and finished)):
        more = f"pass --max-epochs above {done}" if finished else f"pass --max-epochs {done} to finish it, or more to train on"
        raise ZooError(f"{run_dir} has trained {done} epochs already", more)
    seconds = saved.get("callbacks", {}).get("Timer", {}).get("time_elapsed", {}).get("train", 0.0)  # the training time it holds
    return Resumed(checkpoint, done, saved["hyper_parameters"]["info"], finishing=wanted == done, seconds=seconds)


EARLIER_LOG = "metrics-before-resume.csv"  # the log's rows up to a resumed checkpoint, while Lightning starts the log anew


def _earlier_rows(log: Path, resumed: Resumed) -> list[dict[str, str]]:
    """The log's rows of the epochs the checkpoint holds, kept on disk beside it until the
    resumed session puts them back, so a kill during that session loses none of them."""
    kept = log.with_name(EARLIER_LOG)
    rows = [*read_log(kept), *read_log(log)]  # the file is there when a resumed session was killed
    rows = [row for row in rows if not row.get("epoch") or int(float(row["epoch"])) < resumed.epochs]
    rows = list({tuple((k, v) for k, v in row.items() if v): row for row in rows}.values())  # once each, should the log hold them again
    if rows:
        write_log(kept, rows)
    return rows


def busy_warning(load: float, cores: int, threads: int) -> str | None:
    """The warning for training with several threads on CPU cores other processes already keep
    busy (a load average of at least the cores): PyTorch's threads then wait for one another,
    and a CPU run was seen 20 to 60 times slower than on the idle machine, 1 thread much faster
    than 2."""
    if load < cores or threads < 2:
        return None
    return (f"this machine is busy (load {load:.1f} on {cores} CPU cores), so PyTorch's {threads} threads wait for other processes "
            "and training may be many times slower: run it alone, or with fewer threads (OMP_NUM_THREADS=1)")


def _warn_when_busy() -> None:
    """`busy_warning` for this machine's load, cores and PyTorch's threads, when it applies."""
    import torch

    from zoo.data import usable_cores

    if hasattr(os, "getloadavg") and (warning := busy_warning(os.getloadavg()[0], usable_cores(), torch.get_num_threads())):
        warnings.warn(warning, stacklevel=1)


def choose_batch_size(config: configs.Config, bundle: Any) -> str | None:
    """Set a null data.batch_size for the training rows (`zoo.data.batch_size_for`); the note
    saying so (for a model with weights to train). config.yaml then holds the number, so the
    run reproduces."""
    from zoo.data import batch_size_for

    data = config["data"]
    if data["batch_size"] is not None:
        return None
    rows, largest = len(bundle.train), data["max_batch_size"]
    data["batch_size"] = batch_size_for(rows, largest)
    if data["batch_size"] < largest:
        steps = math.ceil(rows / largest)
        return (f"batch size {data['batch_size']}: {rows:,} training rows make {steps} step{'s' * (steps != 1)} an epoch in batches of "
                f"{largest} (data.max_batch_size), too few to learn from reliably (data.batch_size sets it)")
    return f"batch size {largest} (data.max_batch_size; data.batch_size sets it)"


def data_note(bundle: Any, config: configs.Config, seconds: float) -> str:
    """How long the data took to be ready, the workers that load it, and where it is cached."""
    from zoo import cache
    from zoo.data import AUTO_WORKERS_FROM, worker_count

    configured = config["data"]["num_workers"]
    workers = worker_count(configured, len(bundle.train))
    if workers == 0:
        loading = "loaded in the training process" + (f" (no worker processes under {AUTO_WORKERS_FROM:,} training rows)" if configured is None else "")
    else:
        loading = f"loaded by {workers} worker process{'es' if workers > 1 else ''}" + (" (one per spare CPU core)" if configured is None else "")
    return f"data ready in {seconds:.1f} s, {loading}; data.num_workers sets it; data cache: {cache.root()} (`zoo cache clear` empties it)"


def _rank_zero_data_info() -> dict[str, Any]:
    """The data info rank 0 wrote, for a process that joins it on another device."""
    return read_json(Path(os.environ[RUN_DIR_ENV]) / DATA_INFO, "the data info of a zoo run")


def _fit(task: Task, config: configs.Config, bundle: Any, module: Any, run_dir: Path, resumed: Resumed | None, progress: bool, callbacks: Sequence[Any]) -> Run:
    from zoo import artifact, plots
    from zoo import trainer as trainers
    from zoo.data import loader

    monitor, mode = module.monitored()
    trainer = trainers.build(config, run_dir=run_dir, monitor=monitor, mode=mode, progress=progress, extra_callbacks=callbacks)
    timer = _timer(trainer)
    data_config = config["data"]
    start = resumed.epochs if resumed else 0
    train_loader = loader(bundle.train, data_config, shuffle=True, seed=config["seed"], epoch=start)
    val_loader = loader(bundle.val, data_config, shuffle=False)
    log = run_dir / "logs" / "metrics.csv"
    trains = any(p.requires_grad for p in module.parameters())
    fits = trains and not (resumed and resumed.finishing)
    if fits and resumed:  # a checkpoint of other data or model settings stops here, before the run's folder changes
        _load_weights(module, resumed.checkpoint)
    earlier = _earlier_rows(log, resumed) if resumed and fits and trainer.is_global_zero else []
    started = time.perf_counter()
    if not trains:  # a baseline with no weights (summarization's lead): scored as it is
        bundle.notes.append(f"{task.name}/{config['model']['name']} has no weights to train: it is scored on the validation split as it is")
    if fits and trainer.is_global_zero and trainer.strategy.root_device.type == "cpu":
        _warn_when_busy()
    try:
        with _explained_failures(trainer, run_dir):
            if fits:
                trainer.fit(module, train_loader, val_loader, ckpt_path=resumed.checkpoint if resumed else None, weights_only=True)
    except BaseException as error:
        if trainer.is_global_zero:  # why it stopped, for `zoo runs` (a run stopped before its first epoch is removed with it)
            state = "interrupted" if isinstance(error, KeyboardInterrupt) else "failed"
            write_json(run_dir / STOPPED, {"state": state, "error": first_line(error)})
        raise
    else:
        (run_dir / STOPPED).unlink(missing_ok=True)  # a resumed run that trained to its end
    finally:
        if trainer.is_global_zero:  # the log and its waiting rows are rank 0's
            prepend_log(log, earlier)
            log.with_name(EARLIER_LOG).unlink(missing_ok=True)
    seconds = timer.time_elapsed("train") if fits else resumed.seconds if resumed else time.perf_counter() - started  # a resumed run's sessions together
    if trainer.is_global_zero and trains:
        plots.curve_plots(log, run_dir / "plots", title=f"{task.name}/{config['model']['name']}", monitor=monitor,
                          label_smoothing=config["model"].get("label_smoothing") or 0.0, monitor_note=module.monitor_note)

    if fits:
        best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
        epochs = trainer.current_epoch
    else:  # nothing trained now: the kept checkpoints are the run's
        kept = run_dir / "checkpoints" / "best.ckpt"
        best = str(kept if kept.is_file() else resumed.checkpoint) if resumed else ""
        epochs = resumed.epochs if resumed else 0
    rank = trainer.global_rank
    # Final metrics on one device and outside the run's logs (which hold one row per epoch):
    # after DDP, rank 0 alone, since DistributedSampler would repeat rows.
    if trainer.world_size > 1 and not _leave_process_group(trainer):
        return Run(run_dir, task.name, config["model"]["name"], {}, {}, epochs, round(seconds, 3), [*bundle.notes, *bundle.machine_notes], rank)
    limits = {key: config["trainer"][key] for key in trainers.LIMITS if key in config["trainer"]}
    if limits:
        bundle.notes.append(f"final metrics follow {', '.join(f'trainer.{k}={v}' for k, v in limits.items())}: not the whole split")
    trainer = trainers.single_device(config["trainer"]["accelerator"], config["trainer"].get("precision"), **limits)
    if best:
        _load_weights(module, Path(best))
    metrics = {"val": trainers.prefixed_metrics(trainer.validate(module, val_loader, verbose=False), "val")}
    if bundle.test is not None:
        test_loader = loader(bundle.test, data_config, shuffle=False)
        metrics["test"] = trainers.prefixed_metrics(trainer.test(module, test_loader, verbose=False), "test")

    run = Run(
        path=run_dir,
        task=task.name,
        model=config["model"]["name"],
        metrics=metrics,
        summary=module.describe(),
        epochs=epochs,
        seconds=round(seconds, 3),
        notes=[*bundle.notes, *bundle.machine_notes],
        rank=rank,
    )
    if trainer.is_global_zero:
        module.write_plots(run_dir / "plots")
        artifact.save(module, run_dir / "model", metrics, bundle.notes)
        write_json(
            run_dir / "metrics.json",
            {**metrics, "epochs": run.epochs, "seconds": run.seconds, "best_checkpoint": Path(best).name if best else None},
        )
    return run


def _timer(trainer: Any) -> Any:
    """The trainer's Timer (Lightning's own with trainer.max_time, else a new one): it counts
    the seconds of training and keeps them in checkpoints, so a resumed run adds its own."""
    from lightning.pytorch.callbacks import Timer

    timer = next((callback for callback in trainer.callbacks if isinstance(callback, Timer)), None)
    if timer is None:
        timer = Timer()
        trainer.callbacks.append(timer)
    return timer


@contextmanager
def _explained_failures(trainer: Any, run_dir: Path) -> Iterator[None]:
    """Say what went wrong in `trainer.fit` and what to do. Lightning answers Ctrl-C with
    sys.exit(1) and leaves SIGINT ignored, and SIGTERM with SystemExit: each becomes a
    KeyboardInterrupt saying how to resume, and Ctrl-C goes back to the caller."""
    main_thread = threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGINT) if main_thread else None
    try:
        yield
    except ZooError as error:
        if not _reraised_from_loader_worker(error):
            raise
        # torch gives it the worker's whole traceback as its message: its last line is the error's own
        raise ZooError(str(error).rpartition(f"{ZooError.__qualname__}: ")[2].strip()) from None
    except (SystemExit, RuntimeError) as error:
        # Ctrl-C (Lightning's SystemExit), or SIGTERM (`timeout`, a scheduler), whose DataLoader
        # workers may die of it first. Any other error marks the trainer interrupted too: it stays itself.
        stopped = trainer.interrupted if isinstance(error, SystemExit) else any(f"is killed by signal: {name}" in str(error) for name in ("Terminated", "Interrupt"))
        if not (stopped or trainer.received_sigterm):
            raise
        raise KeyboardInterrupt(
            f"training stopped at epoch {trainer.current_epoch}; resume with `zoo train --resume {run_dir}`"
        ) from None
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, handler)


def _load_weights(module: Any, checkpoint: Path) -> None:
    """The weights of a zoo checkpoint into `module`. A checkpoint of another model (a run
    resumed or finished under other data or model settings) is a ZooError."""
    try:
        module.load_state_dict(load_checkpoint(checkpoint)["state_dict"])
    except RuntimeError as error:  # load_state_dict's answer to missing, unexpected or misshapen tensors
        raise ZooError(f"{checkpoint} does not fit the model this config builds ({first_line(error)})", "resume with the run's own data and model settings") from None


def _reraised_from_loader_worker(error: BaseException) -> bool:
    """Whether torch raised `error` again in this process for a DataLoader worker process
    (torch's ExceptionWrapper.reraise: the error's type, with the worker's traceback as text)."""
    from torch._utils import ExceptionWrapper

    return any(frame.f_code is ExceptionWrapper.reraise.__code__ for frame, _ in traceback.walk_tb(error.__traceback__))


def _leave_process_group(trainer: Any) -> bool:
    """After a multi-process fit, every process leaves the group; rank 0 goes on alone (True)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    return trainer.is_global_zero
