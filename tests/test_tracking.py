"""`logger=...`: TensorBoard event files and an MLflow store, read back, hold every epoch's
metrics and the config; logs/metrics.csv is written whatever the choice; a tracker that is
not installed, or a misspelt one, is one line before anything runs."""

from __future__ import annotations

import csv
import importlib.util

import pytest
import yaml

import zoo
from tests.test_errors import assert_user_error
from zoo.config import CORE, check


def csv_column(run_path, name: str) -> list[float]:
    with open(run_path / "logs" / "metrics.csv", newline="") as file:
        return [float(row[name]) for row in csv.DictReader(file) if row.get(name)]


def test_tensorboard_and_mlflow_hold_every_epoch_and_the_config(tmp_path, monkeypatch):
    from mlflow import MlflowClient
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    run = zoo.train("linear-regression", output=tmp_path / "runs", max_epochs=3, lr=0.02, logger="tensorboard,mlflow", progress=False)
    losses = csv_column(run.path, "val/loss")
    assert len(losses) == 3  # the run folder's own log, as without trackers

    events = EventAccumulator(str(run.path / "logs" / "tensorboard"))
    events.Reload()
    assert [event.value for event in events.Scalars("val/loss")] == pytest.approx(losses)
    logged = yaml.safe_load((run.path / "logs" / "tensorboard" / "hparams.yaml").read_text())
    assert logged["config"]["optim"]["lr"] == 0.02 and logged["config"]["logger"] == ["tensorboard", "mlflow"]
    assert list(logged) == ["config"]  # the data's info (a tokenizer's JSON, for text) stays in the checkpoints

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'runs' / 'mlruns' / 'mlflow.db'}")
    [tracked] = client.search_runs([client.get_experiment_by_name("linear-regression").experiment_id])
    assert [m.value for m in sorted(client.get_metric_history(tracked.info.run_id, "val/loss"), key=lambda m: m.step)] == pytest.approx(losses)
    assert tracked.data.params["config/optim/lr"] == "0.02" and tracked.data.params["config/model/name"] == "linear"
    assert tracked.data.tags["zoo.run"] == str(run.path) and tracked.info.run_name == f"linear/{run.path.name}"
    assert tracked.info.status == "FINISHED"


def test_a_list_or_comma_separated_names_and_each_is_checked():
    setting = CORE["logger"]
    assert check("logger", "tensorboard, mlflow", setting) == ["tensorboard", "mlflow"] == check("logger", ["tensorboard", "mlflow"], setting)
    with pytest.raises(zoo.ZooError, match="logger: unknown value 'tensorbord'; did you mean 'tensorboard'"):
        check("logger", "csv,tensorbord", setting)


@pytest.mark.skipif(importlib.util.find_spec("wandb") is not None, reason="wandb is installed here")
def test_a_tracker_not_installed_is_one_line_and_nothing_is_written(zoo_cli, tmp_path):
    result = zoo_cli("train", "linear-regression", "--logger", "wandb", "--output", tmp_path)
    assert_user_error(result, "logger wandb needs the wandb package, which is not installed", "uv sync --extra wandb")
    assert not any(tmp_path.iterdir())
