"""`zoo new`: a standalone application from a task's template, which the user then owns."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from zoo import __version__
from zoo.errors import ZooError
from zoo.plugins import Task, find_task

APP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
TEXT_SUFFIXES = {".md", ".py", ".yaml", ".yml", ".toml", ".txt", ".cfg"}
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "runs")


def builtin_templates() -> Path:
    """templates/ of the source checkout, or zoo/templates inside an installed wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise ZooError("zoo's templates folder is missing from this installation", "reinstall zoo")


def template_dir(task: Task) -> Path:
    if task.template is None:
        raise ZooError(f"task {task.name!r} has no application template")
    folder = Path(task.template) if Path(task.template).is_absolute() else builtin_templates() / task.template
    if not folder.is_dir():
        raise ZooError(f"the template of task {task.name!r} is missing: {folder}", "reinstall the plugin")
    return folder


@dataclass(frozen=True)
class Commands:
    """How the user runs zoo and the app's tests from the app's folder, for the way this zoo
    was started (the app's README and `zoo new`'s next steps use them)."""

    zoo: str  # e.g. `zoo`, `uv run zoo`, `uv run --project ../zoo zoo`
    pytest: str  # e.g. `python -m pytest`, `uv run pytest`
    missing: str | None = None  # what to install first, when the tests cannot run yet


def commands_for(app: Path) -> Commands:
    """The commands that work from `app`: under `uv run` in a project (a checkout), uv run with
    that project; else the `zoo` on PATH when it is this installation's, else its full path,
    with this interpreter's pytest."""
    project = _uv_project()
    if project is not None:
        inside = app.resolve().is_relative_to(project)
        prefix = "uv run" if inside else f"uv run --project {shlex.quote(str(project))}"
        return Commands(f"{prefix} zoo", f"{prefix} pytest")
    scripts = Path(sysconfig.get_path("scripts"))
    own = shutil.which("zoo", path=str(scripts))
    on_path = shutil.which("zoo")
    zoo = "zoo" if own is None or (on_path is not None and Path(on_path).resolve() == Path(own).resolve()) else shlex.quote(own)
    on_path_python = shutil.which("python")
    python = "python" if on_path_python and Path(on_path_python).resolve() == Path(sys.executable).resolve() else shlex.quote(sys.executable)
    missing = None
    if importlib.util.find_spec("pytest") is None:
        missing = f"the app's tests need pytest beside zoo: `{python} -m pip install pytest`, or for a uv tool, install zoo again with `--with pytest`"
    return Commands(zoo, f"{python} -m pytest", missing)


def _uv_project() -> Path | None:
    """The project folder when this process runs through `uv run` in that project's environment."""
    environment = os.environ.get("VIRTUAL_ENV")
    if not os.environ.get("UV_RUN_RECURSION_DEPTH") or not environment:
        return None
    environment_path = Path(environment).resolve()
    root = environment_path.parent
    if Path(sys.prefix).resolve() != environment_path or not (root / "pyproject.toml").is_file():
        return None
    return root


def new(directory: Path, task_name: str) -> Path:
    """Copy the template into `directory` (new or empty), filling in the app's name and the
    commands that run zoo and the tests from there (`commands_for`)."""
    task = find_task(task_name)
    name = directory.resolve().name
    if not APP_NAME.match(name):
        raise ZooError(f"invalid application name {name!r}", "use letters, digits, '-' and '_', starting with a letter")
    if directory.exists() and not directory.is_dir():
        raise ZooError(f"{directory} is a file", "choose a new folder")
    if directory.exists() and any(directory.iterdir()):
        raise ZooError(f"{directory} already exists and is not empty", "choose a new folder")
    source = template_dir(task)
    commands = commands_for(directory)
    fills = {"{{app_name}}": name, "{{zoo_version}}": __version__, "{{zoo}}": commands.zoo, "{{pytest}}": commands.pytest}
    partial = directory.with_name(f".{name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        shutil.copytree(source, partial, ignore=SKIPPED)
        for path in partial.rglob("*"):
            if path.is_file() and path.suffix in TEXT_SUFFIXES:
                text = path.read_text(encoding="utf-8")
                for placeholder, value in fills.items():
                    text = text.replace(placeholder, value)
                path.write_text(text, encoding="utf-8")
        if directory.exists():
            directory.rmdir()
        partial.replace(directory)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return directory
