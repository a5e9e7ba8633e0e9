"""The command line's listing, info, config printing and JSON output."""

from __future__ import annotations

import json

import yaml


def test_list_shows_tasks_models_and_default(zoo_cli):
    result = zoo_cli("list")
    assert result.code == 0
    assert "linear-regression/linear" in result.out and "(default)" in result.out
    assert "linear-regression/mlp" in result.out


def test_list_wildcards(zoo_cli):
    listing = json.loads(zoo_cli("list", "*/mlp", "--json").out)
    names = [m["name"] for task in listing["tasks"] for m in task["models"]]
    assert names == ["linear-regression/mlp"]
    everything = json.loads(zoo_cli("list", "linear-regression", "--json").out)
    assert len(everything["tasks"][0]["models"]) == 2


def test_info_shows_summary_params_and_default_config(zoo_cli):
    result = zoo_cli("info", "linear-regression")
    assert result.code == 0
    assert "parameters: 2" in result.out and "optim:" in result.out and "max_epochs: 100" in result.out
    info = json.loads(zoo_cli("info", "regression/mlp", "--json").out)  # by alias
    assert info["model"] == "linear-regression/mlp" and info["params"] == 1153
    assert info["config"]["model"] == {"name": "mlp", "source": None, "base": None, "hidden": 32, "layers": 2, "dropout": 0.0}


def test_print_config_resolves_overrides_without_training(zoo_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = zoo_cli("train", "linear-regression", "--print-config", "--max-epochs", "7", "optim.name=adamw",
                     "optim.lr=1e-3", "trainer.accelerator=cpu", "--target", "y")
    assert result.code == 0, result.err
    config = yaml.safe_load(result.out)
    assert config["trainer"] == {"max_epochs": 7, "accelerator": "cpu", "devices": "auto", "strategy": "auto"}
    assert config["optim"]["name"] == "adamw" and config["optim"]["lr"] == 0.001
    assert config["data"]["target"] == "y"
    assert not (tmp_path / "runs").exists()


def test_config_file_with_overrides(zoo_cli, tmp_path, points_csv):
    config = tmp_path / "sub" / "config.yaml"
    config.parent.mkdir()
    config.write_text(f"task: linear-regression\ndata:\n  path: ../{points_csv.name}\n  target: y\n"
                      "optim:\n  name: adam\n  lr: 0.05\n")
    result = zoo_cli("train", "--config", config, "--print-config", "optim.lr=0.02", "--json")
    resolved = json.loads(result.out)
    assert resolved["data"]["path"] == str(points_csv)  # relative to the config file
    assert resolved["optim"]["name"] == "adam" and resolved["optim"]["lr"] == 0.02


def test_json_training_prints_only_json(zoo_cli, tmp_path):
    result = zoo_cli("train", "linear-regression", "--output", tmp_path, "--max-epochs", "2", "--json")
    assert result.code == 0
    run = json.loads(result.out)
    assert run["epochs"] == 2 and run["task"] == "linear-regression"
