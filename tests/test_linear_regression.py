"""Linear regression end to end: the demo, CSV data, the run folder, predict, evaluate, reproduce."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import zoo
from tests.conftest import write_csv
from tests.test_errors import assert_user_error


def test_demo_converges_and_reports_weight_bias_and_prediction(zoo_cli, tmp_path):
    result = zoo_cli("train", "linear-regression", "--output", tmp_path)
    assert result.code == 0, result.err
    summary = dict(line.strip().split(": ", 1) for line in result.out.splitlines() if line.startswith("  "))
    assert abs(float(summary["weight"]) - 2) < 0.01
    assert abs(float(summary["bias"])) < 0.05
    prediction = float(summary["predictions"].split("y=")[1])
    assert abs(prediction - 8) < 0.05
    assert "Run folder: " in result.out


def test_run_folder_layout(trained_run: Path):
    for part in ("config.yaml", "checkpoints/last.ckpt", "checkpoints/best.ckpt", "model/config.json",
                 "model/model.safetensors", "model/README.md", "metrics.json", "logs/metrics.csv", "plots/loss.png"):
        assert (trained_run / part).is_file(), part
    assert trained_run.parent.name == "linear" and trained_run.parent.parent.name == "linear-regression"
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert set(metrics["val"]) >= {"mse", "mae", "r2"}
    assert "| val | mse |" in (trained_run / "model" / "README.md").read_text()


def test_load_predicts_about_eight(trained_run: Path):
    model = zoo.load(trained_run)
    assert not model.training
    assert model.predict([[4.0]])[0] == pytest.approx(8, abs=0.05)
    assert model.predict([4, 5]) == pytest.approx([8, 10], abs=0.05)  # integers, one feature per row
    assert zoo.load(trained_run / "model").predict([[4.0]]) == model.predict([[4.0]])


def test_multi_feature_csv_with_target(zoo_cli, points_csv: Path, tmp_path: Path):
    result = zoo_cli("train", "linear-regression", "--data", points_csv, "--target", "y", "--output", tmp_path / "runs",
                     "--json", "trainer.max_epochs=150")
    assert result.code == 0, result.err
    run = json.loads(result.out)
    assert run["summary"]["weight"] == pytest.approx({"a": 3, "b": -2}, abs=0.01)
    assert run["summary"]["bias"] == pytest.approx(1, abs=0.05)
    assert run["metrics"]["val"]["r2"] > 0.999
    assert zoo.load(run["path"]).predict([[2, 1]])[0] == pytest.approx(5, abs=0.05)


def test_predict_numbers_and_csv(zoo_cli, trained_run: Path, tmp_path: Path):
    result = zoo_cli("predict", trained_run, "4", "10", "--json")
    assert result.code == 0, result.err
    predictions = json.loads(result.out)["predictions"]
    assert [p["x"] for p in predictions] == [4, 10]
    assert [p["y"] for p in predictions] == pytest.approx([8, 20], abs=0.1)
    rows = write_csv(tmp_path / "rows.csv", "x", [(1,), (2,)])
    result = zoo_cli("predict", trained_run, rows)
    assert result.code == 0, result.err
    assert result.out.splitlines() == ["x=1.0000  y=2.0000", "x=2.0000  y=4.0000"]


def test_evaluate_reports_mse_mae_r2(zoo_cli, trained_run: Path, tmp_path: Path):
    data = write_csv(tmp_path / "eval.csv", "x,y", [(4, 8), (5, 11)])
    result = zoo_cli("evaluate", trained_run, "--data", data, "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["rows"] == 2
    assert report["metrics"]["mse"] == pytest.approx(0.5, abs=0.01)  # errors 0 and 1
    assert report["metrics"]["mae"] == pytest.approx(0.5, abs=0.01)
    assert report["metrics"]["r2"] == pytest.approx(1 - 1 / 4.5, abs=0.01)  # SS_res 1, SS_tot 4.5


def test_evaluate_reads_columns_named_otherwise(zoo_cli, trained_run: Path, tmp_path: Path):
    """The data's columns are named on the command line, after --data or before it; only such keys are taken."""
    data = write_csv(tmp_path / "eval.csv", "size,price", [(4, 8), (5, 11)])
    result = zoo_cli("evaluate", trained_run, "data.target=price", "--data", data, "data.features=size", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["metrics"]["mse"] == pytest.approx(0.5, abs=0.01)  # as with the columns named x, y
    assert_user_error(zoo_cli("evaluate", trained_run, "--data", data, "optim.lr=3"), "zoo evaluate takes no 'optim.lr'", "data.features, data.target")
    assert_user_error(zoo_cli("evaluate", trained_run, "data.target=price"), "column settings apply to other data only", "--data")
    assert_user_error(zoo_cli("evaluate", trained_run, "--data", data, "data.target=price", "data.features=size,size2"), "names 2 of the 1 columns the model takes (x)")


def test_evaluate_and_predict_name_every_bad_row_of_a_file_together(zoo_cli, trained_run: Path, tmp_path: Path):
    data = tmp_path / "eval.csv"
    data.write_text("x,y\n4,8\n5,n/a\n6,12,7\n", encoding="utf-8")
    for args in (["evaluate", trained_run, "--data", data], ["predict", trained_run, data]):
        result = zoo_cli(*args)
        assert result.code == 2 and "Traceback" not in result.err, result.err
        lines = result.err.strip().splitlines()
        wanted = [f"{data}:4: 3 cells, but the header has 2 columns"] + ([f"{data}:3: column 'y' holds 'n/a', not a number"] if args[0] == "evaluate" else [])
        assert all(any(line in shown for shown in lines) for line in wanted), result.err  # predict reads x alone


def test_saved_config_reproduces_the_run(zoo_cli, points_csv: Path, tmp_path: Path):
    first = json.loads(zoo_cli("train", "linear-regression", "--data", points_csv, "--output", tmp_path / "a",
                               "--max-epochs", "5", "--seed", "3", "--json").out)
    again = zoo_cli("train", "--config", Path(first["path"]) / "config.yaml", "--json")
    assert again.code == 0, again.err
    second = json.loads(again.out)
    assert Path(second["path"]).parent == Path(first["path"]).parent
    for name, value in first["metrics"]["val"].items():
        assert second["metrics"]["val"][name] == pytest.approx(value, abs=1e-6)
    saved = yaml.safe_load((Path(first["path"]) / "config.yaml").read_text())
    assert saved["seed"] == 3 and saved["trainer"]["max_epochs"] == 5


def test_resume_continues_from_last_checkpoint(zoo_cli, points_csv: Path, tmp_path: Path):
    first = json.loads(zoo_cli("train", "linear-regression", "--data", points_csv, "--output", tmp_path,
                               "--max-epochs", "3", "--json").out)
    result = zoo_cli("train", "--resume", first["path"], "--max-epochs", "6", "--json")
    assert result.code == 0, result.err
    resumed = json.loads(result.out)
    assert resumed["path"] == first["path"] and resumed["epochs"] == 6
    log = (Path(first["path"]) / "logs" / "metrics.csv").read_text().splitlines()
    epochs = {line.split(",")[0] for line in log[1:]}
    assert epochs >= {"0", "1", "2", "3", "4", "5"}
    assert resumed["metrics"]["val"]["mse"] < first["metrics"]["val"]["mse"]


def test_mlp_model_trains(zoo_cli, tmp_path: Path):
    result = zoo_cli("train", "linear-regression/mlp", "--output", tmp_path, "--max-epochs", "3", "--json")
    assert result.code == 0, result.err
    run = json.loads(result.out)
    assert run["model"] == "mlp" and "weight" not in run["summary"]
    assert (Path(run["path"]).parent.name) == "mlp"


def test_ctrl_c_keeps_a_resumable_unfinished_run(tmp_path: Path, ctrl_c: None):
    import os
    import signal
    import subprocess
    import sys
    import time

    import torch

    command = [str(Path(sys.executable).with_name("zoo")), "train", "linear-regression", "--max-epochs", "1000000",
               "--output", str(tmp_path)]
    # PYTHONFAULTHANDLER: a process that will not stop prints where each of its threads is on SIGABRT
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONFAULTHANDLER": "1"})
    deadline = time.monotonic() + 120
    while not list(tmp_path.rglob("last.ckpt")) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:  # seen twice on a loaded machine, cause unknown: press Ctrl-C again, as a user would
        process.send_signal(signal.SIGINT)
        try:
            _, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)
            stacks = process.communicate(timeout=30)[1].split("\nExtension modules:")[0]  # faulthandler's module list would crowd out the stacks
            pytest.fail("zoo train did not stop after two Ctrl-Cs; its threads were at:\n" + stacks[-8000:])
    assert process.returncode == 130
    assert "zoo: interrupted: training stopped at epoch" in err and "zoo train --resume" in err
    (run,) = [p.parent.parent for p in tmp_path.rglob("last.ckpt")]
    assert not (run / "metrics.json").exists() and not (run / "model").exists()  # not finished
    epoch = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["epoch"]
    resumed = zoo.train(resume=run, max_epochs=epoch + 2, progress=False)
    assert resumed.epochs == epoch + 2 and (run / "metrics.json").is_file()


def test_evaluate_without_data_uses_the_runs_validation_split(zoo_cli, trained_run: Path):
    result = zoo_cli("evaluate", trained_run, "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    saved = json.loads((trained_run / "metrics.json").read_text())
    assert report["rows"] == 3 and "validation split" in report["data"]
    assert report["metrics"]["mse"] == pytest.approx(saved["val"]["mse"], abs=1e-6)
