"""`zoo new`: a standalone application whose own model trains and whose own test passes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.test_errors import assert_user_error


def test_new_application_trains_its_own_model_and_its_test_passes(zoo_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert zoo_cli("new", "my-app", "--task", "linear-regression").code == 0
    app = tmp_path / "my-app"
    assert {p.name for p in app.iterdir()} >= {"README.md", "config.yaml", "model.py", "data.csv", "test_app.py"}
    config = yaml.safe_load((app / "config.yaml").read_text())
    assert config["model"]["source"] == "model.py:PriceModel"
    assert "my-app" in (app / "README.md").read_text()

    # The user changes their model: the run must use it, not a built-in one.
    model_file = app / "model.py"
    model_file.write_text(model_file.read_text().replace("nn.Linear(in_features, out_features)",
                                                         "nn.Linear(in_features, out_features, bias=True)  # mine"))
    monkeypatch.chdir(app)
    result = zoo_cli("train", "--config", "config.yaml", "--json")
    assert result.code == 0, result.err
    run = json.loads(result.out)
    assert run["model"] == "my-linear" and run["metrics"]["val"]["r2"] > 0.95
    saved = Path(run["path"]) / "model"
    assert "# mine" in (saved / "model.py").read_text()  # the model folder carries the user's code

    tests = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider"], cwd=app,
                           capture_output=True, text=True, timeout=300)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout


def test_new_refuses_a_non_empty_folder(zoo_cli, tmp_path):
    target = tmp_path / "app"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    assert_user_error(zoo_cli("new", target, "--task", "linear-regression"), "already exists and is not empty")
    assert [p.name for p in target.iterdir()] == ["notes.txt"]


def test_new_accepts_an_empty_folder(zoo_cli, tmp_path):
    (tmp_path / "app").mkdir()
    assert zoo_cli("new", tmp_path / "app", "--task", "regression").code == 0
    assert (tmp_path / "app" / "model.py").is_file()


def test_new_refuses_invalid_names_and_unknown_tasks(zoo_cli, tmp_path):
    assert_user_error(zoo_cli("new", tmp_path / "my app", "--task", "linear-regression"), "invalid application name")
    assert_user_error(zoo_cli("new", tmp_path / "1app", "--task", "linear-regression"), "invalid application name")
    assert_user_error(zoo_cli("new", tmp_path / "app", "--task", "linear"), "unknown task 'linear'")
    assert list(tmp_path.iterdir()) == []
