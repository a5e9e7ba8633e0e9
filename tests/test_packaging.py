"""The wheel carries the CLI, the core, the built-in tasks and the templates, and works outside the checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv, "uv is needed to build the wheel"
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([uv, "build", "--wheel", "--out-dir", str(out), str(REPO)], check=True, capture_output=True,
                   timeout=300)
    return next(out.glob("zoo_pytorch-*.whl"))


def test_wheel_contents(wheel: Path):
    """Only names of zoo's own: the checkout's cli.py and tasks/ ship as zoo_cli and zoo_tasks."""
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"zoo_cli.py", "zoo/__init__.py", "zoo_tasks/linear_regression/__init__.py",
            "zoo/templates/linear-regression/model.py", "zoo/templates/linear-regression/config.yaml"} <= names
    assert {n.split("/")[0] for n in names if not n.startswith("zoo_pytorch-")} == {"zoo", "zoo_tasks", "zoo_cli.py"}
    assert not any("__pycache__" in n for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "zoo = zoo_cli:main" in text and "linear-regression = zoo_tasks.linear_regression:task" in text


SHADOWS = {  # what users keep in a project folder: Invoke's tasks.py, a script named cli.py
    "tasks.py": "raise SystemExit('imported the folder\'s tasks.py')\n",
    "cli.py": "raise SystemExit('imported the folder\'s cli.py')\n",
}


def test_installed_wheel_works_beside_a_tasks_py_and_a_cli_py(wheel: Path, tmp_path: Path):
    """Installed without dependencies beside this environment's packages (only zoo's own files come
    from the wheel, so nothing of the checkout leaks in), run from a folder whose own tasks.py and
    cli.py would end the process if zoo imported them: the command, a training, and the notebook
    case (the working folder first on sys.path)."""
    site = tmp_path / "site"
    uv = os.environ.get("UV") or shutil.which("uv")
    subprocess.run([uv, "pip", "install", "--quiet", "--no-deps", "--target", str(site), "--python", sys.executable,
                    str(wheel)], check=True, timeout=300)
    project = tmp_path / "project"
    project.mkdir()
    for name, text in SHADOWS.items():
        (project / name).write_text(text)
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("PYTHONSAFEPATH", None)

    def run(*command: str) -> subprocess.CompletedProcess:
        done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    assert "linear-regression/linear" in run(str(site / "bin" / "zoo"), "list").stdout
    notebook = run(sys.executable, "-c", "import zoo; print(zoo.__file__); print(zoo.list_models())")
    assert notebook.stdout.startswith(str(site)) and "'linear-regression/linear'" in notebook.stdout
    trained = run(str(site / "bin" / "zoo"), "train", "linear-regression", "--max-epochs", "2", "--output", "runs", "--json")
    assert (Path(json.loads(trained.stdout)["path"]) / "model" / "model.safetensors").is_file()
    run(str(site / "bin" / "zoo"), "new", "app", "--task", "linear-regression")
    assert (project / "app" / "model.py").is_file()
