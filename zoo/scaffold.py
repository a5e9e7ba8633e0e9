"""`zoo new`: a standalone application from a task's template, which the user then owns."""

from __future__ import annotations

import re
import shutil
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


def new(directory: Path, task_name: str) -> Path:
    """Copy the template into `directory` (new or empty), filling in the app's name."""
    task = find_task(task_name)
    name = directory.resolve().name
    if not APP_NAME.match(name):
        raise ZooError(f"invalid application name {name!r}", "use letters, digits, '-' and '_', starting with a letter")
    if directory.exists() and not directory.is_dir():
        raise ZooError(f"{directory} is a file", "choose a new folder")
    if directory.exists() and any(directory.iterdir()):
        raise ZooError(f"{directory} already exists and is not empty", "choose a new folder")
    source = template_dir(task)
    partial = directory.with_name(f".{name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        shutil.copytree(source, partial, ignore=SKIPPED)
        for path in partial.rglob("*"):
            if path.is_file() and path.suffix in TEXT_SUFFIXES:
                text = path.read_text(encoding="utf-8")
                filled = text.replace("{{app_name}}", name).replace("{{zoo_version}}", __version__)
                path.write_text(filled, encoding="utf-8")
        if directory.exists():
            directory.rmdir()
        partial.replace(directory)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return directory
