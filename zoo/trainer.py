"""A Lightning Trainer for a run: zoo's checkpoints, logs and progress bar, without the chatter."""

from __future__ import annotations

import logging
import math
import os
import shutil
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from weakref import proxy

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint, ProgressBar
from lightning.pytorch.loggers import Logger
from lightning.pytorch.plugins.io import CheckpointIO, TorchCheckpointIO
from lightning.pytorch.utilities.exceptions import MisconfigurationException

from zoo.data import PROCESS, WORKERS, epoch_seed
from zoo.errors import ZooError
from zoo.files import first_line, written_whole
from zoo.tracking import run_loggers

# Lightning's messages that tell users nothing about their run.
_NOISE = (
    ".*does not have many workers.*",  # zoo users set data.num_workers, not a DataLoader
    ".*smaller than the logging interval.*",  # zoo logs per epoch
    ".*Checkpoint directory .* exists and is not empty.*",  # --resume continues in place
    ".*Experiment logs directory .* exists and is not empty.*",  # --resume keeps earlier rows
    ".*treespec, LeafSpec.*",  # a deprecation inside torch/Lightning, nothing users can act on
)


@contextmanager
def quiet_lightning() -> Iterator[None]:
    """While zoo runs Lightning, hide its banners, tips and performance hints and keep its real
    warnings; the loggers' levels and the warning filters are the caller's again after."""
    loggers = [logging.getLogger(name) for name in ("lightning", "lightning.pytorch", "lightning.fabric", "lightning_fabric", "pytorch_lightning")]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        for pattern in _NOISE:
            warnings.filterwarnings("ignore", message=pattern)
        for logger in loggers:
            logger.setLevel(logging.WARNING)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)


class RunProgressBar(ProgressBar):
    """One line for the whole run: batches done over all epochs, the epoch, the latest metrics.
    (Lightning's own bars redraw per epoch and per validation, which floods logs.)"""

    def __init__(self) -> None:
        super().__init__()
        self._enabled = True
        self._bar: Any = None

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if not self._enabled or not trainer.is_global_zero:
            return
        from tqdm.auto import tqdm

        per_epoch = trainer.num_training_batches
        epochs = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else None
        finite = isinstance(per_epoch, int) or math.isfinite(per_epoch)
        total = int(per_epoch) * epochs if finite and epochs else None
        done = int(per_epoch) * trainer.current_epoch if finite else 0
        self._bar = tqdm(total=total, initial=done, desc="Training", unit="batch", file=sys.stderr,
                         dynamic_ncols=True, mininterval=0.25)

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.current_epoch > 0:
            self._show_finished_epochs(trainer, module)

    def _show_finished_epochs(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        """The epochs done and the latest epoch's metrics (logged after callbacks' epoch end)."""
        if self._bar is not None:
            metrics = {k: v for k, v in self.get_metrics(trainer, module).items() if k != "v_num"}
            done = f"{trainer.current_epoch}/{trainer.max_epochs}" if trainer.max_epochs else trainer.current_epoch
            self._bar.set_postfix({"epoch": done, **metrics}, refresh=False)

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if self._bar is not None:
            self._show_finished_epochs(trainer, module)
            self._bar.close()
            self._bar = None

    def on_exception(self, trainer: L.Trainer, module: L.LightningModule, exception: BaseException) -> None:
        if self._bar is not None:
            self._bar.leave = False  # erase it: the error message takes the line
        self.on_train_end(trainer, module)


class LaterOnTies(ModelCheckpoint):
    """A checkpoint of the best epoch by the monitored metric, where a tie goes to the later
    epoch: accuracy on a small validation set often stops moving while the model keeps
    growing surer (lower loss), and the later model is the one a user expects to get."""

    def check_monitor_top_k(self, trainer: L.Trainer, current: torch.Tensor | None = None) -> bool:
        if current is None or not self.best_k_models:
            return super().check_monitor_top_k(trainer, current)
        best = self.best_k_models[self.kth_best_model_path]
        better_or_equal = current >= best if self.mode == "max" else current <= best
        return trainer.strategy.reduce_boolean_decision(bool(better_or_equal))


class EveryEpoch(ModelCheckpoint):
    """last.ckpt after every epoch, for --resume. In an epoch whose state `best` has just saved,
    it is a hard link to that file (a copy where links are not to be had), not the same state
    written again: a model and its optimizer's state can be hundreds of MB, and on a GPU a small
    epoch takes a second or two."""

    def __init__(self, best: ModelCheckpoint, **settings: Any) -> None:
        super().__init__(**settings)
        self.best = best

    def _save_checkpoint(self, trainer: L.Trainer, filepath: str) -> None:
        saved = self.best._last_checkpoint_saved
        if not saved or self.best._last_global_step_saved != trainer.global_step or self.save_weights_only != self.best.save_weights_only:
            super()._save_checkpoint(trainer, filepath)
            return
        if trainer.is_global_zero:
            with written_whole(Path(filepath)) as partial:
                partial.unlink(missing_ok=True)
                try:
                    os.link(saved, partial)
                except OSError:  # a file system without hard links
                    shutil.copyfile(saved, partial)
        trainer.strategy.barrier("EveryEpoch._save_checkpoint")
        self._last_global_step_saved = trainer.global_step
        self._last_checkpoint_saved = filepath
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.after_save_checkpoint(proxy(self))


class EpochSeeds(Callback):
    """Seed each training epoch's randomness from (seed, epoch): torch, numpy and random in
    each process (dropout, noise, augmentations there; the process rank mixed in), and the
    generator the training DataLoader draws its workers' seeds from (augmentations in workers).
    With the rows' order (`zoo.data.EpochShuffle`, or Lightning's DistributedSampler) they then
    depend on the epoch alone, which the checkpoint keeps, so a resumed run trains exactly as
    an uninterrupted one. (An epoch's first workers may start before this hook: the loader's
    generator is seeded for the epoch it starts at when it is made.)"""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        import random

        import numpy as np

        epoch = trainer.current_epoch
        seed = epoch_seed(self.seed, epoch, PROCESS, trainer.global_rank)
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
        generator = getattr(trainer.train_dataloader, "generator", None)
        if generator is not None:
            generator.manual_seed(epoch_seed(self.seed, epoch, WORKERS))


class AtomicCheckpoints(TorchCheckpointIO):
    """Checkpoints written beside their place and renamed into it, so a run killed while
    saving keeps its previous checkpoint whole. (Lightning's own save goes through the system's
    temporary folder, and a move from another file system is a copy that a kill can cut.)"""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with written_whole(path) as partial:
            torch.save(checkpoint, partial)


class CtrlCBetweenBatches(Callback):
    """Ctrl-C while one process fits raises KeyboardInterrupt at the next batch's start or end
    (or as the fit ends), from this callback, where Lightning takes it as its interrupt as
    before, rather than wherever the main thread happens to be. There it could land inside a
    logger's code: TensorBoard's writer thread then never saw its stop signal, and zoo hung at
    exit (one Ctrl-C in 25 under load). A second Ctrl-C raises at once. Several processes (DDP)
    keep Python's own handling: one rank stopping at its batch edge while another waits in a
    collective would hang; so does a caller that handles Ctrl-C its own way (zoo tune: after the
    trial). Installed as the sanity check or training starts, after Lightning has noted the
    signal handlers, which it puts back as the fit ends, however it ends."""

    def __init__(self) -> None:
        self.pressed = False

    def _take_ctrl_c(self, trainer: L.Trainer, *args: Any) -> None:
        if (trainer.world_size == 1 and threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self.pressed = False
            signal.signal(signal.SIGINT, self._press)

    on_sanity_check_start = on_train_start = _take_ctrl_c

    def _press(self, signum: int, frame: Any) -> None:
        if self.pressed:
            raise KeyboardInterrupt
        self.pressed = True

    def _stop_if_pressed(self, *args: Any) -> None:
        if self.pressed:
            raise KeyboardInterrupt

    on_train_batch_start = on_train_batch_end = on_validation_batch_start = on_validation_batch_end = on_fit_end = _stop_if_pressed


class StopOnNonFiniteLoss(Callback):
    """Stop with a clear message the moment a training loss is NaN or infinite (`loss`, and
    every other loss a training step returns, such as a GAN's `d_loss` and `g_loss`)."""

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        losses = dict(outputs) if isinstance(outputs, Mapping) else {"loss": outputs}
        for name, loss in losses.items():
            if isinstance(loss, torch.Tensor) and not torch.isfinite(loss).all():
                what = "the training loss" if name == "loss" else f"the training loss {name}"
                raise non_finite_error(trainer, module, f"{what} became {loss.float().mean().item()}", f"batch {batch_idx}")


def non_finite_error(trainer: L.Trainer, module: L.LightningModule, what: str, where: str) -> ZooError:
    """The error for numbers that turned NaN or infinite during training: what to lower, and
    which checkpoint is kept (the last one written before, by an epoch that finished)."""
    epochs = trainer.current_epoch
    run_dir = trainer.default_root_dir
    if epochs and trainer.checkpoint_callback is not None:
        kept = f"{run_dir}/checkpoints/last.ckpt keeps the {epochs} good epoch{'s' if epochs > 1 else ''}"
    else:
        kept = "no epoch had finished, so no checkpoint is kept"
    return ZooError(
        f"{what} at epoch {epochs + 1}, {where}",
        f"lower optim.lr (now {module.config['optim']['lr']}) or check the data for extreme values; {kept}",
    )


class EpochReport(Callback):
    """After each validation epoch (not the sanity check), `report(epoch, value)` of the
    `monitor`ed metric; when it answers True, training stops after that epoch, unless it was the
    last (zoo tune's pruning: the run folder is then finished with fewer epochs)."""

    def __init__(self, monitor: str, report: Callable[[int, float], bool]) -> None:
        self.monitor, self.report, self.stopped = monitor, report, False

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        value = float(trainer.callback_metrics[self.monitor])
        last = trainer.max_epochs not in (None, -1) and trainer.current_epoch + 1 >= trainer.max_epochs
        if math.isfinite(value) and self.report(trainer.current_epoch, value) and not last:
            self.stopped = trainer.should_stop = True


def build(
    config: dict[str, Any],
    *,
    run_dir: Path | None,
    monitor: str | None,
    mode: str,
    progress: bool,
    extra_callbacks: Sequence[Callback] = (),
) -> L.Trainer:
    """The Trainer for `config`; with a `run_dir` it checkpoints and logs there. Without a
    `monitor`, best.ckpt is the last epoch's. `extra_callbacks` are the caller's (zoo tune's pruning)."""
    callbacks: list[Callback] = [CtrlCBetweenBatches(), EpochSeeds(config["seed"]), StopOnNonFiniteLoss(), *extra_callbacks]
    loggers: list[Logger] = []
    if run_dir is not None:
        # best.ckpt by the monitored metric (ties: the later epoch); last.ckpt after every epoch,
        # for --resume (Lightning's save_last rewrites it only in epochs that improve the best).
        common = {"dirpath": run_dir / "checkpoints", "mode": mode, "save_top_k": 1, "auto_insert_metric_name": False, "enable_version_counter": False}
        best = LaterOnTies(filename="best", monitor=monitor, **common)
        callbacks += [best, EveryEpoch(best, filename="last", **common)]
        loggers += run_loggers(config, run_dir)
    stopping = config["early_stopping"]
    if stopping["patience"]:
        if monitor is None:
            raise ZooError("early_stopping.patience needs a validation metric to watch, and this run has none", "drop early_stopping.patience")
        callbacks.append(
            EarlyStopping(monitor=monitor, mode=mode, patience=stopping["patience"], min_delta=stopping["min_delta"])
        )
    settings = {"enable_model_summary": False, "log_every_n_steps": 10, **config["trainer"]}
    plugins = settings.get("plugins") or []
    plugins = plugins if isinstance(plugins, list) else [plugins]
    if run_dir is not None and not any(isinstance(plugin, CheckpointIO) for plugin in plugins):
        settings["plugins"] = [*plugins, AtomicCheckpoints()]
    if not progress:
        settings["enable_progress_bar"] = False
    elif settings.get("enable_progress_bar", True):
        callbacks.append(RunProgressBar())
    try:
        return L.Trainer(
            **settings,
            callbacks=callbacks,
            logger=loggers or False,
            default_root_dir=run_dir,
            enable_checkpointing=run_dir is not None,
        )
    except (ValueError, TypeError, MisconfigurationException) as error:
        raise _rejected(config["trainer"], error) from None


def _rejected(settings: Mapping[str, Any], error: Exception) -> ZooError:
    """Lightning's reason, the settings it was given, and what to do when it found no such device."""
    given = ", ".join(f"trainer.{k}={v}" for k, v in settings.items())
    reason = str(error).strip()
    no_device = "backend found" in reason or "not available" in reason.lower()
    hint = "trainer.accelerator=auto uses a GPU when there is one; for CUDA, install the torch build for your driver (pytorch.org)" if no_device else None
    return ZooError(f"Lightning rejected the trainer settings ({given}): {reason}", hint)


def join_launched_processes(settings: Mapping[str, Any]) -> bool:
    """When an outside launcher (torchrun, SLURM's srun, LSF, MPI, or LOCAL_RANK set by hand)
    started this process as one of several, join their process group now, as Lightning would
    when fitting starts (it then finds the group joined): rank 0 can share its run folder and
    data facts before the others build their data. False for one process, and where Lightning
    starts the processes itself."""
    from lightning.fabric.plugins.environments import LSFEnvironment, MPIEnvironment, SLURMEnvironment, TorchElasticEnvironment

    launchers = (TorchElasticEnvironment, SLURMEnvironment, LSFEnvironment, MPIEnvironment)
    if "LOCAL_RANK" not in os.environ and not any(launcher.detect() for launcher in launchers):
        return False
    try:
        trainer = L.Trainer(**settings, logger=False, enable_checkpointing=False, enable_progress_bar=False)
        environment = getattr(trainer.strategy, "cluster_environment", None)
        if trainer.world_size < 2 or environment is None or not environment.creates_processes_externally:
            return False
        # devices × nodes must be the processes started (Lightning checks only when fitting starts)
        environment.validate_settings(num_devices=trainer.num_devices, num_nodes=trainer.num_nodes)
    except (ValueError, TypeError, MisconfigurationException) as error:
        raise _rejected(settings, error) from None
    trainer.strategy.setup_environment()
    return True


def share_from_rank_zero(facts: Mapping[str, Any] | None) -> dict[str, Any]:
    """Global rank 0's `facts` (JSON-able), in every process of the group joined by
    `join_launched_processes`: the others pass None and wait for them."""
    import json

    import torch.distributed as dist

    zero = dist.get_rank() == 0
    encoded = json.dumps(facts).encode() if zero else b""
    try:
        group = dist.new_group(backend="gloo")  # CPU tensors, whatever backend the training uses
        size = torch.tensor([len(encoded)])
        dist.broadcast(size, 0, group=group)
        payload = torch.frombuffer(bytearray(encoded), dtype=torch.uint8) if zero else torch.empty(int(size), dtype=torch.uint8)
        dist.broadcast(payload, 0, group=group)
        dist.destroy_process_group(group)
    except RuntimeError as error:  # rank 0 failed first
        raise ZooError(f"process 0 stopped before sharing its run folder ({first_line(error)})", "process 0's own error says why") from None
    return json.loads(payload.numpy().tobytes())


LIMITS = ("limit_val_batches", "limit_test_batches")  # trainer settings final metrics follow too


def single_device(accelerator: str = "auto", precision: Any = None, **limits: Any) -> L.Trainer:
    """A quiet Trainer on one device, for final validation and `zoo evaluate`: no logs,
    checkpoints or progress bar; `limits` are the run's own (LIMITS)."""
    return L.Trainer(
        accelerator=accelerator,
        devices=1,
        precision=precision,
        **limits,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )


def prefixed_metrics(results: list[dict[str, float]], prefix: str) -> dict[str, float]:
    """`[{"val/mse": 0.1, ...}]` from trainer.validate/test -> `{"mse": 0.1, ...}`."""
    merged = {k: float(v) for result in results for k, v in result.items()}
    return {k.removeprefix(f"{prefix}/"): v for k, v in merged.items() if k.startswith(f"{prefix}/")}

