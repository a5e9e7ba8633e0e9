"""`--resume` is exact: a run killed with SIGKILL and resumed trains as an uninterrupted one."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.pytorch.callbacks import Callback
from safetensors.torch import load_file

import zoo
from tests.conftest import finished_runs, write_csv
from tests.test_errors import assert_user_error
from zoo.run import read_log


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Every run here on one thread, as the killed child runs (thread counts change float sums)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class KillAt(Callback):
    """SIGKILL this process as batch `batch` of epoch `epoch` starts: nothing is flushed or cleaned."""

    def __init__(self, epoch: int, batch: int) -> None:
        self.epoch, self.batch = epoch, batch

    def on_train_batch_start(self, trainer: Any, module: Any, batch: Any, batch_idx: int) -> None:
        if trainer.current_epoch == self.epoch and batch_idx == self.batch:
            os.kill(os.getpid(), signal.SIGKILL)


def in_killed_child(train: Callable[[], Any], kill: Callable[[], None]) -> None:
    """Run `train` in a forked child that `kill` arranges to SIGKILL."""

    def child() -> None:
        torch.set_num_threads(1)  # OpenMP's thread pool does not survive a fork
        kill()
        train()

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(timeout=300)
    assert process.exitcode == -signal.SIGKILL


def killed_run(output: Path, name: str, options: dict[str, Any], kill: Callable[[], None]) -> Path:
    """The run folder a training that `kill` arranges to SIGKILL leaves."""
    in_killed_child(lambda: zoo.train(name, output=output, progress=False, **options), kill)
    (run,) = [path for path in output.glob("*/*/*") if path.is_dir()]
    return run


def add_callback(callback: Callback) -> None:
    """Every Trainer zoo builds from now on (in this process) also calls `callback`."""
    from zoo import trainer

    build = trainer.build

    def build_with_callback(*args: Any, **kwargs: Any) -> Any:
        built = build(*args, **kwargs)
        built.callbacks.append(callback)
        return built

    trainer.build = build_with_callback


def kill_at(epoch: int, batch: int) -> Callable[[], None]:
    return lambda: add_callback(KillAt(epoch, batch))


def assert_same_training(expected: Path, actual: Path) -> None:
    """Per-epoch logs, final metrics and weights equal to 1e-6."""
    rows, resumed_rows = read_log(expected / "logs" / "metrics.csv"), read_log(actual / "logs" / "metrics.csv")
    assert len(rows) == len(resumed_rows)
    for row, resumed in zip(rows, resumed_rows):
        assert row.keys() == resumed.keys()
        for key, value in row.items():
            if key != "step" and value:
                assert float(resumed[key]) == pytest.approx(float(value), rel=1e-6, abs=1e-6), (row["epoch"], key)
    metrics, resumed_metrics = (json.loads((run / "metrics.json").read_text()) for run in (expected, actual))
    for split in ("val", "test"):
        assert resumed_metrics.get(split, {}) == pytest.approx(metrics.get(split, {}), rel=1e-6, abs=1e-6)
    assert resumed_metrics["epochs"] == metrics["epochs"]
    weights, resumed_weights = (load_file(run / "model" / "model.safetensors") for run in (expected, actual))
    assert weights.keys() == resumed_weights.keys()
    for key, tensor in weights.items():
        torch.testing.assert_close(resumed_weights[key], tensor, rtol=1e-6, atol=1e-6)


def points(folder: Path) -> Path:
    rows = [(a, b, 3 * a - 2 * b + 1) for a in range(8) for b in range(5)]
    return write_csv(folder / "points.csv", "a,b,y", rows)


CASES = {
    # (task, options, killed at (epoch, batch)): the shuffle, augmentation, dropout and
    # length-batching of later epochs must not start over after the resume.
    "linear-regression": ("linear-regression", {"max_epochs": 6, "overrides": {"data.batch_size": 8, "optim.scheduler": "step", "optim.step_size": 2}}, (3, 2)),
    "classification-demo": ("classification", {"max_epochs": 4, "seed": 0}, (2, 1)),
    "sentiment-demo": ("sentiment", {"max_epochs": 3, "overrides": {"model.tokenizer_kind": "bpe"}}, (1, 3)),
}


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_resume_after_sigkill_equals_an_uninterrupted_run(tmp_path, case):
    name, options, (epoch, batch) = CASES[case]
    if name == "linear-regression":
        options = {**options, "data": points(tmp_path)}
    uninterrupted = zoo.train(name, output=tmp_path / "whole", progress=False, **options)
    run = killed_run(tmp_path / "killed", name, options, kill_at(epoch, batch))
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == epoch - 1
    resumed = zoo.train(resume=run, progress=False)
    assert resumed.epochs == uninterrupted.epochs
    assert_same_training(uninterrupted.path, run)


def test_a_resumed_run_killed_again_resumes_exactly_with_its_whole_log(tmp_path):
    options = {"data": points(tmp_path), "max_epochs": 6, "overrides": {"data.batch_size": 8}}
    uninterrupted = zoo.train("linear-regression", output=tmp_path / "whole", progress=False, **options)
    run = killed_run(tmp_path / "killed", "linear-regression", options, kill_at(2, 1))
    in_killed_child(lambda: zoo.train(resume=run, progress=False), kill_at(4, 1))
    zoo.train(resume=run, progress=False)
    assert_same_training(uninterrupted.path, run)
    assert not (run / "logs" / "metrics-before-resume.csv").exists()


def test_a_run_killed_before_writing_its_model_is_finished_without_training(tmp_path, zoo_cli):
    options = {"data": points(tmp_path), "max_epochs": 3}
    uninterrupted = zoo.train("linear-regression", output=tmp_path / "whole", progress=False, **options)

    def kill_when_saving() -> None:
        from zoo import artifact

        artifact.save = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)

    run = killed_run(tmp_path / "killed", "linear-regression", options, kill_when_saving)
    assert not finished_runs(tmp_path / "killed")
    log = (run / "logs" / "metrics.csv").read_text()
    assert_user_error(zoo_cli("predict", run, "1,2"), "did not finish", f"zoo train --resume {run}")
    result = zoo_cli("train", "--resume", run, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["epochs"] == 3 and (run / "logs" / "metrics.csv").read_text() == log  # nothing trained
    assert_same_training(uninterrupted.path, run)
    assert_user_error(zoo_cli("train", "--resume", run), "has trained 3 epochs already", "--max-epochs above 3")


def test_a_run_killed_in_its_first_epoch_says_to_train_again(tmp_path, zoo_cli):
    options = {"data": points(tmp_path), "max_epochs": 3, "overrides": {"data.batch_size": 8}}
    run = killed_run(tmp_path / "runs", "linear-regression", options, kill_at(0, 1))
    assert not (run / "checkpoints" / "last.ckpt").exists()
    for args in (["predict", run, "1,2"], ["train", "--resume", run]):
        assert_user_error(zoo_cli(*args), "stopped before its first epoch finished", "train again")


class CtrlCAt(Callback):
    """Ctrl-C (SIGINT) as batch 1 of epoch 0 starts."""

    def on_train_batch_start(self, trainer: Any, module: Any, batch: Any, batch_idx: int) -> None:
        if batch_idx == 1:
            signal.raise_signal(signal.SIGINT)


class WorkerTerminatedAt(Callback):
    """As batch 1 of epoch 1 starts, what the DataLoader raises when SIGTERM to the process
    group (`timeout`, a job scheduler) killed its worker before the main process's handler ran."""

    def on_train_batch_start(self, trainer: Any, module: Any, batch: Any, batch_idx: int) -> None:
        if trainer.current_epoch == 1 and batch_idx == 1:
            raise RuntimeError("DataLoader worker (pid 4242) is killed by signal: Terminated. ")


class OutOfMemoryAt(Callback):
    """As batch 1 of epoch 0 starts, an error of the training itself (a GPU out of memory)."""

    def on_train_batch_start(self, trainer: Any, module: Any, batch: Any, batch_idx: int) -> None:
        if batch_idx == 1:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_an_error_in_training_is_not_taken_for_ctrl_c(tmp_path):
    with pytest.raises(RuntimeError, match="out of memory"):
        zoo.train("linear-regression", data=points(tmp_path), output=tmp_path / "runs", progress=False, callbacks=[OutOfMemoryAt()], overrides={"data.batch_size": 8})


def test_sigterm_stops_with_the_line_ctrl_c_gives(tmp_path, zoo_cli, monkeypatch, ctrl_c):
    from zoo import trainer

    monkeypatch.setattr(trainer, "build", trainer.build)  # put back after the test
    add_callback(WorkerTerminatedAt())
    result = zoo_cli("train", "linear-regression", "--data", points(tmp_path), "data.batch_size=8", "--max-epochs", "3", "--output", tmp_path / "runs")
    assert result.code == 130 and "Traceback" not in result.err, result.err
    assert result.err.strip().splitlines()[-1].startswith("zoo: interrupted: training stopped at epoch 1; resume with `zoo train --resume ")


def test_ctrl_c_in_the_first_epoch_says_nothing_was_kept(tmp_path, zoo_cli, monkeypatch, ctrl_c):
    from zoo import trainer

    monkeypatch.setattr(trainer, "build", trainer.build)  # put back after the test
    add_callback(CtrlCAt())
    result = zoo_cli("train", "linear-regression", "--data", points(tmp_path), "data.batch_size=8", "--output", tmp_path / "runs")
    assert result.code == 130
    assert result.err.strip().splitlines()[-1] == "zoo: interrupted: training stopped before its first epoch finished; nothing was kept"
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


class CtrlCWhileBusy(Callback):
    """Ctrl-C while a hook is busy in Python (as a logger writing an event is), at batch 2's end."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.finished: list[int] = []

    def on_train_batch_start(self, trainer: Any, module: Any, batch: Any, batch_idx: int) -> None:
        self.started.append(batch_idx)

    def on_train_batch_end(self, trainer: Any, module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        if batch_idx == 2:
            signal.raise_signal(signal.SIGINT)
            total = 0
            for i in range(100_000):  # Python's own handler would raise KeyboardInterrupt in here
                total += i
            self.finished.append(batch_idx)


def test_ctrl_c_stops_training_between_batches_not_inside_a_hook(tmp_path, ctrl_c):
    busy = CtrlCWhileBusy()
    with pytest.raises(KeyboardInterrupt, match="before its first epoch finished"):
        zoo.train("linear-regression", data=points(tmp_path), output=tmp_path / "runs", progress=False, callbacks=[busy], overrides={"data.batch_size": 8})
    assert busy.finished == [2] and busy.started == [0, 1, 2]  # the hook ran to its end; batch 3 never started
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_last_ckpt_is_best_ckpt_under_a_second_name_when_they_hold_the_same_step(tmp_path):
    run = zoo.train("linear-regression", output=tmp_path, max_epochs=3, progress=False).path
    best, last = run / "checkpoints" / "best.ckpt", run / "checkpoints" / "last.ckpt"
    steps = [torch.load(path, weights_only=True)["global_step"] for path in (best, last)]
    assert steps[1] == max(steps) > 0
    assert best.samefile(last) == (steps[0] == steps[1])  # one file, not the same state written twice
    assert not list(run.rglob("*.partial"))
