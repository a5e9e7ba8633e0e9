"""`zoo runs`: past runs as a table (their state, epochs and best metric), sorted and filtered;
runs compared (one plot, the config keys that differ); and the mistakes, one line each."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import zoo
from tests.test_errors import assert_user_error
from zoo.run import run_state, training_lock


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three finished linear-regression runs (lr 0.1, 0.01, 0.001), a failed one, an interrupted one."""
    root = tmp_path_factory.mktemp("runs")
    for lr in (0.1, 0.01, 0.001):
        zoo.train("linear-regression", output=root, max_epochs=3, lr=lr, progress=False)
    with pytest.raises(zoo.ZooError, match="loss became inf"):
        zoo.train("linear-regression", output=root, max_epochs=3, lr=1e38, progress=False)
    finished = sorted(root.glob("linear-regression/linear/*"))[0]
    interrupted = finished.with_name("2000-01-01_00-00-00")
    shutil.copytree(finished, interrupted)
    shutil.rmtree(interrupted / "model")  # a run stopped between epochs: no model/, no stopped.json
    (interrupted / "metrics.json").unlink()
    return root


def test_the_table_lists_each_run_with_its_state_epochs_and_best_metric(zoo_cli, output):
    result = zoo_cli("runs", "--output", output)
    assert result.code == 0, result.err
    header, *lines = result.out.splitlines()
    assert header.split() == ["run", "time", "epochs", "best", "state", "path"]
    states = [line.split()[4] for line in lines]
    assert sorted(states) == ["failed", "finished", "finished", "finished", "interrupted"]
    assert lines[0].split()[1] == "2000-01-01_00-00-00"  # oldest first
    rows = json.loads(zoo_cli("runs", "--output", output, "--json").out)
    done = [row for row in rows if row["state"] == "finished"]
    assert all(row["epochs"] == 3 and row["monitor"] == "val/mse" and row["best"] == row["metrics"]["val/mse"] for row in done)
    failed = next(row for row in rows if row["state"] == "failed")
    assert "loss became inf" in json.loads((Path(failed["path"]) / "stopped.json").read_text())["error"]


def test_sorted_by_a_metric_best_first_and_filtered_by_task(zoo_cli, output):
    rows = json.loads(zoo_cli("runs", "linear-regression", "--sort", "mse", "--output", output, "--json").out)
    scored = [row["metrics"]["val/mse"] for row in rows if "val/mse" in row["metrics"]]
    assert scored == sorted(scored) and len(scored) >= 4  # lower is better for an error
    assert json.loads(zoo_cli("runs", "linear-regression/*", "--sort", "val/r2", "--output", output, "--json").out)[0]["metrics"]["val/r2"] == max(
        row["metrics"]["val/r2"] for row in rows if "val/r2" in row["metrics"])
    assert zoo_cli("runs", "sentiment", "--output", output).out.strip() == f"no runs of sentiment in {output}"


def test_a_run_being_trained_is_training(output):
    run = sorted(output.glob("linear-regression/linear/*"))[-1]
    with training_lock(run):
        assert run_state(run) == "training"
    assert run_state(run) != "training"


def test_compare_plots_the_curves_and_prints_the_keys_that_differ(zoo_cli, output, tmp_path):
    finished = [row["path"] for row in json.loads(zoo_cli("runs", "--output", output, "--json").out) if row["state"] == "finished"]
    result = zoo_cli("runs", "--compare", *finished, "--output", tmp_path / "compare.png")
    assert result.code == 0, result.err
    assert (tmp_path / "compare.png").stat().st_size > 1000
    first, *table = result.out.splitlines()
    assert first == f"val/mse of 3 runs: {tmp_path / 'compare.png'}"
    assert [line.split()[0] for line in table] == ["key", "optim.lr"] and table[1].split()[1:] == ["0.1", "0.01", "0.001"]
    document = json.loads(zoo_cli("runs", "--compare", *finished[:2], "--output", tmp_path / "two.png", "--json").out)
    assert document["metric"] == "val/mse" and document["differ"] == {"optim.lr": [0.1, 0.01]}


def test_mistakes_are_one_line(zoo_cli, output, tmp_path):
    run = next(output.glob("linear-regression/linear/*"))
    assert_user_error(zoo_cli("runs", "--output", tmp_path / "nowhere"), "is not a folder of runs", "--output")
    assert_user_error(zoo_cli("runs", "--output", output, "--sort", "acc"), "no run here has the metric val/acc", "val/mse")
    assert_user_error(zoo_cli("runs", "--compare", run), "--compare needs two runs or more")
    assert_user_error(zoo_cli("runs", "--compare", run, tmp_path), f"{tmp_path} is not a run folder")
    assert_user_error(zoo_cli("runs", "x", "--compare", run, run), "--compare takes run folders, not a pattern")
