"""`zoo new`: a standalone application whose own model trains and whose own test passes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from tests.conftest import finished_runs
from tests.test_errors import assert_user_error

# Per template: the model class config.yaml points at, the run's model name, a line the user
# edits in model.py, the validation metric it reports, extra files. (How well the app learns is
# its own test's to check: it trains the full config.)
TEMPLATES = {
    "linear-regression": (
        "PriceModel", "my-linear", "nn.Linear(in_features, out_features)", "r2", {"data.csv"}
    ),
    "classification": ("ShapeNet", "my-cnn", "nn.Linear(flat, num_classes)", "acc", set()),
    "detection": (
        "ShapeDetector", "my-detector", "nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1)",
        "map50", set(),
    ),
    "sentiment": ("ReviewNet", "my-classifier", "nn.Linear(hidden_size, num_classes)", "acc", set()),
    "translation": ("Translator", "my-translator", "nn.Linear(2 * hidden_size, tgt_vocab)", "bleu", set()),
    "summarization": ("Summarizer", "my-summarizer", "nn.Linear(2 * hidden_size, tgt_vocab)", "rouge1", set()),
    "gan": ("PointGAN", "my-gan", "nn.Linear(hidden, outputs)", "modes", set()),
}


@pytest.mark.parametrize("task", TEMPLATES)
def test_new_application_trains_its_own_model_and_its_test_passes(task, zoo_cli, tmp_path, monkeypatch):
    model_class, model_name, line, metric, files = TEMPLATES[task]
    monkeypatch.chdir(tmp_path)
    assert zoo_cli("new", "my-app", "--task", task).code == 0
    app = tmp_path / "my-app"
    expected = {"README.md", "config.yaml", "model.py", "test_app.py", "pytest.ini", *files}
    assert {p.name for p in app.iterdir()} >= expected
    config = yaml.safe_load((app / "config.yaml").read_text())
    assert config["task"] == task and config["model"]["source"] == f"model.py:{model_class}"
    assert "my-app" in (app / "README.md").read_text()
    texts = [p.read_text() for p in app.iterdir() if p.suffix in (".md", ".py", ".yaml", ".ini")]
    assert not any("{{" in text for text in texts)  # every placeholder filled in

    # The user changes their model: the run must use it, not a built-in one.
    model_file = app / "model.py"
    assert line in model_file.read_text()
    model_file.write_text(model_file.read_text().replace(line, line[:-1] + ", bias=True)  # mine"))

    # The app's own tests train its full config once (`zoo.train(config=...)` into their tmp_path,
    # under --basetemp): that run is the one checked here, so the app trains once, not twice.
    basetemp = tmp_path / "app-tests"
    tests = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--basetemp", str(basetemp)], cwd=app,
                           capture_output=True, text=True, timeout=300)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout
    [run] = finished_runs(basetemp)
    assert run.parent.parent.name == task and run.parent.name == model_name
    assert yaml.safe_load((run / "config.yaml").read_text())["model"]["name"] == model_name
    assert metric in json.loads((run / "metrics.json").read_text())["val"]
    assert "# mine" in (run / "model" / "model.py").read_text()  # the model folder carries the user's code


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


def test_next_steps_under_uv_run_use_the_checkout(zoo_cli, tmp_path, monkeypatch):
    """From a checkout (`uv run zoo new`), plain `zoo` is not on the user's PATH: the next steps
    and the app's README say `uv run`, with the checkout named when the app is outside it."""
    from pathlib import Path

    from zoo.scaffold import commands_for

    checkout = Path(sys.prefix).parent
    monkeypatch.setenv("UV_RUN_RECURSION_DEPTH", "1")
    monkeypatch.setenv("VIRTUAL_ENV", sys.prefix)
    if not (checkout / "pyproject.toml").is_file():
        pytest.skip("zoo is not running from a checkout's environment")
    assert commands_for(checkout / "apps" / "mine").zoo == "uv run zoo"
    outside = commands_for(tmp_path / "mine")
    assert (outside.zoo, outside.pytest) == (f"uv run --project {checkout} zoo", f"uv run --project {checkout} pytest")
    monkeypatch.chdir(tmp_path)
    printed = zoo_cli("new", "mine", "--task", "linear-regression").out
    assert f"cd mine && uv run --project {checkout} zoo train --config config.yaml && uv run --project {checkout} pytest" in printed
    readme = (tmp_path / "mine" / "README.md").read_text()
    assert f"uv run --project {checkout} zoo train --config config.yaml" in readme and f"\nuv run --project {checkout} pytest\n" in readme


def test_next_steps_of_an_installed_zoo_use_its_command_and_interpreter(tmp_path, monkeypatch):
    import shlex
    import sysconfig
    from pathlib import Path

    from zoo.scaffold import commands_for

    monkeypatch.delenv("UV_RUN_RECURSION_DEPTH", raising=False)
    scripts = sysconfig.get_path("scripts")
    monkeypatch.setenv("PATH", scripts)  # this installation's zoo and python first, as in an activated venv
    on_path = commands_for(tmp_path)
    python = "python" if (Path(scripts) / "python").resolve() == Path(sys.executable).resolve() else shlex.quote(sys.executable)
    assert (on_path.zoo, on_path.pytest, on_path.missing) == ("zoo", f"{python} -m pytest", None)
    monkeypatch.setenv("PATH", str(tmp_path))  # zoo installed but not on PATH: its full path
    assert commands_for(tmp_path).zoo == shlex.quote(str(Path(scripts) / "zoo"))
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *rest: None if name == "pytest" else object())
    assert "pip install pytest" in commands_for(tmp_path).missing
