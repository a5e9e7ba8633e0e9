"""The wheel carries the CLI, the core, the built-in tasks and the templates, and works outside the checkout."""

from __future__ import annotations

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
    return next(out.glob("zoo-*.whl"))


def test_wheel_contents(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"cli.py", "zoo/__init__.py", "tasks/linear_regression/__init__.py",
            "zoo/templates/linear-regression/model.py", "zoo/templates/linear-regression/config.yaml"} <= names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "zoo = cli:main" in text and "linear-regression = tasks.linear_regression:task" in text
    assert not any(n.startswith("tests/") for n in names)


def test_installed_wheel_lists_and_scaffolds_outside_the_checkout(wheel: Path, tmp_path: Path):
    """Installed without dependencies beside this environment's packages: only zoo's own files come
    from the wheel, so nothing of the checkout can leak in."""
    site = tmp_path / "site"
    uv = os.environ.get("UV") or shutil.which("uv")
    subprocess.run([uv, "pip", "install", "--quiet", "--no-deps", "--target", str(site), "--python", sys.executable,
                    str(wheel)], check=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONSAFEPATH": "1"}
    probe = "import sys, cli, zoo; sys.exit(cli.main(sys.argv[1:]))"
    listing = subprocess.run([sys.executable, "-c", probe, "list"], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert "linear-regression/linear" in listing.stdout
    located = subprocess.run([sys.executable, "-c", "import zoo; print(zoo.__file__)"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=60)
    assert located.stdout.startswith(str(site))
    made = subprocess.run([sys.executable, "-c", probe, "new", "app", "--task", "linear-regression"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "app" / "model.py").is_file()
