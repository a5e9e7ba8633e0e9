"""A run folder belongs to the process training in it: a second `--resume` of it is refused
with one line, and a resumed run's time counts every session."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import zoo
from tests.conftest import write_csv
from tests.test_errors import assert_user_error
from zoo.run import LOCK, load_checkpoint, training_lock


@pytest.fixture
def short_run(tmp_path: Path) -> Path:
    data = write_csv(tmp_path / "points.csv", "x,y", [(x, 2 * x + 1) for x in range(20)])
    return zoo.train("linear-regression", data=data, output=tmp_path / "runs", max_epochs=3, progress=False).path


def test_resuming_a_run_that_is_training_is_refused_in_one_line(zoo_cli, short_run: Path):
    before = {path: path.stat().st_mtime_ns for path in short_run.rglob("*")}
    with training_lock(short_run):  # as the process training in it holds it
        result = zoo_cli("train", "--resume", short_run, "--max-epochs", "5")
    assert_user_error(result, f"{short_run} is being trained by another process (pid {os.getpid()})", "wait for it to finish")
    assert {path: path.stat().st_mtime_ns for path in short_run.rglob("*")} == before  # untouched
    assert not (short_run / LOCK).exists()
    assert zoo_cli("train", "--resume", short_run, "--max-epochs", "5").code == 0  # released: resumes


def test_a_lock_file_left_by_a_dead_process_does_not_block(zoo_cli, short_run: Path):
    (short_run / LOCK).write_text("999999999\n")  # a killed trainer's file: nobody holds the lock
    result = zoo_cli("train", "--resume", short_run, "--max-epochs", "4", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["epochs"] == 4 and not (short_run / LOCK).exists()


def test_a_lock_is_held_while_training_and_gone_after(short_run: Path, tmp_path):
    with training_lock(short_run):
        with pytest.raises(zoo.ZooError, match="is being trained by another process"):
            with training_lock(short_run):
                pass
        assert (short_run / LOCK).read_text().strip() == str(os.getpid())
    assert not (short_run / LOCK).exists()
    with training_lock(short_run):  # and can be taken again
        pass


def test_a_resumed_runs_seconds_count_its_earlier_session(zoo_cli, short_run: Path):
    earlier = load_checkpoint(short_run / "checkpoints" / "last.ckpt")["callbacks"]["Timer"]["time_elapsed"]["train"]
    assert earlier > 0
    result = zoo_cli("train", "--resume", short_run, "--max-epochs", "6")
    assert result.code == 0, result.err
    seconds = json.loads((short_run / "metrics.json").read_text())["seconds"]
    assert seconds > earlier
    assert f"6 epochs in {seconds:.1f} s" in result.out
