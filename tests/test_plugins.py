"""Tasks come from the `zoo.tasks` entry-point group, third-party ones exactly like built-ins."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import zoo
from tests.conftest import zoo_process
from zoo.errors import ZooError
from zoo.plugins import find_task, model_names, resolve, tasks

PLUGIN = Path(__file__).parent / "plugin_example"


def test_builtin_task_is_an_entry_point():
    from importlib.metadata import entry_points

    assert "linear-regression" in {e.name for e in entry_points(group="zoo.tasks")}
    assert find_task("regression") is find_task("linear-regression")


def test_resolve_names_and_patterns():
    assert resolve("linear-regression") == (find_task("linear-regression"), "linear")
    assert resolve("linear-regression/mlp")[1] == "mlp"
    assert model_names("linear-*/m*") == ["linear-regression/mlp"]
    with pytest.raises(ZooError, match="did you mean 'linear-regression'"):
        find_task("linear-regresion")


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin package, installed into a fresh site folder by uv."""
    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv, "uv is needed to install the example plugin"
    site = tmp_path_factory.mktemp("site")
    subprocess.run([uv, "pip", "install", "--quiet", "--no-deps", "--target", str(site), "--python", sys.executable,
                    str(PLUGIN)], check=True, timeout=300)
    assert (site / "zoo_mean" / "__init__.py").is_file()
    return site


def test_installed_plugin_is_listed(plugin_site: Path):
    env = {"PYTHONPATH": str(plugin_site)}
    result = zoo_process("list", "--json", env=env)
    assert result.code == 0, result.err
    names = [m["name"] for task in json.loads(result.out)["tasks"] for m in task["models"]]
    assert "mean/scalar" in names and "linear-regression/linear" in names


def test_installed_plugin_trains(plugin_site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(plugin_site))
    tasks.cache_clear()
    try:
        with pytest.raises(ZooError, match=r"data.repeats must be a whole number in \[1, inf\), not 0"):  # its own schema
            zoo.train("mean", output=tmp_path, progress=False, overrides={"data.repeats": 0})
        with pytest.raises(ZooError, match="model.start expects a number"):
            zoo.train("mean", output=tmp_path, progress=False, overrides={"model.start": "one"})
        run = zoo.train("mean", output=tmp_path, progress=False, overrides={"data.repeats": 2, "model.start": 1.0})
        assert (run.path / "model" / "model.safetensors").is_file()
        assert zoo.load(run.path).predict(["anything"])[0] == pytest.approx(3.0, abs=0.01)
    finally:
        tasks.cache_clear()
