"""The task contract, and finding tasks through the `zoo.tasks` entry-point group.

Everything here is plain data: declaring or listing a task imports no torch. The heavy parts
of a task (its data builder, LightningModule and model builders) are named by reference,
`"package.module:attribute"`, and imported only when a run needs them.
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.util
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from zoo.errors import ZooError, did_you_mean

ENTRY_POINT_GROUP = "zoo.tasks"


@dataclass(frozen=True)
class Model:
    """One model of a task: how to build it and what to tell users about it."""

    builder: str  # "package.module:callable" returning a torch.nn.Module
    summary: str
    params: int | None = None  # parameter count at the default size, on the demo data
    defaults: Mapping[str, Any] = field(default_factory=dict)  # its hyper-parameters (model.*)
    tags: tuple[str, ...] = ()
    overrides: Mapping[str, Any] = field(default_factory=dict)  # other sections it changes from the task's (optim...)
    module: str | None = None  # its own ZooModule subclass, where the task's does not fit it (a baseline that does not train)
    monitor: str | None = None  # its own checkpoint metric, where the task's does not fit it (with `mode`)
    mode: str | None = None


@dataclass(frozen=True)
class Task:
    """A task plugin. `module` and `data` are references, imported only when a run needs them.

    module:   a `zoo.module.ZooModule` subclass, built as `Module(config, info)`.
    data:     a function `build_data(config) -> zoo.data.DataBundle`.
    monitor:  the validation metric that picks the best checkpoint, with `mode` min or max.
    defaults: a config fragment (data, optim, trainer, ...) laid over the core defaults.
    flags:    extra command-line flags of this task, mapped to config keys
              (`{"target": "data.target"}` makes `--target y` mean `data.target=y`).
    template: the folder of its application template: absolute, or a built-in template name.
    demo:     a config fragment laid over the defaults when no data is given, so the embedded
              demo set trains in seconds (`{"data": {"batch_size": 16}}`); settings given win.
              Its `model.name`, if any, is the model trained when no data and no model is named.
    path_keys: the task's own config keys (`"metrics.features"`) that may name a file or folder:
              a relative value that exists is taken relative to the config file (or the
              current folder, given on the command line); other values stay as they are.
    """

    name: str
    summary: str
    models: Mapping[str, Model]
    default_model: str
    module: str
    data: str
    monitor: str
    mode: str = "min"
    aliases: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    flags: Mapping[str, str] = field(default_factory=dict)
    template: str | None = None
    demo: Mapping[str, Any] = field(default_factory=dict)
    path_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.default_model not in self.models:
            raise ValueError(f"task {self.name!r}: default model {self.default_model!r} not in models")
        if self.mode not in ("min", "max"):
            raise ValueError(f"task {self.name!r}: mode must be 'min' or 'max', not {self.mode!r}")

    def module_of(self, model: str) -> str:
        """The module reference of one of its models (the user's own models use the task's)."""
        spec = self.models.get(model)
        return spec.module if spec and spec.module else self.module

    def monitor_of(self, model: str) -> tuple[str, str]:
        """(metric, "min" or "max") that picks the best checkpoint of one of its models."""
        spec = self.models.get(model)
        if spec and spec.monitor:
            return spec.monitor, spec.mode or self.mode
        return self.monitor, self.mode


@cache
def tasks() -> dict[str, Task]:
    """Every installed task, by name. A plugin that fails to load is skipped with a warning."""
    found: dict[str, Task] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            task = entry.load()
        except Exception as error:  # a broken third-party plugin must not break `zoo list`
            warnings.warn(f"skipped task plugin {entry.value!r}: {error}", RuntimeWarning)
            continue
        if not isinstance(task, Task):
            warnings.warn(f"skipped {entry.value!r}: it is not a zoo.plugins.Task", RuntimeWarning)
            continue
        found[task.name] = task
    return dict(sorted(found.items()))


def find_task(name: str) -> Task:
    """The task called `name` or carrying it as an alias."""
    for task in tasks().values():
        if name == task.name or name in task.aliases:
            return task
    known = [n for t in tasks().values() for n in (t.name, *t.aliases)]
    raise ZooError(f"unknown task {name!r}", did_you_mean(name, known) or "see `zoo list`")


def resolve(name: str) -> tuple[Task, str]:
    """`task` (its default model) or `task/model` -> (task, model name)."""
    task_name, _, model = name.partition("/")
    task = find_task(task_name)
    if not model:
        return task, task.default_model
    if model not in task.models:
        raise ZooError(
            f"unknown model {model!r} for task {task.name!r}",
            did_you_mean(model, task.models) or f"see `zoo list '{task.name}/*'`",
        )
    return task, model


def model_names(pattern: str = "*") -> list[str]:
    """Full `task/model` names matching a shell pattern; a bare task pattern lists its models."""
    names = [f"{t.name}/{m}" for t in tasks().values() for m in t.models]
    task_part, _, model_part = pattern.partition("/")
    for task in tasks().values():
        if task_part in task.aliases:
            task_part = task.name
    pattern = f"{task_part}/{model_part or '*'}"
    return [n for n in names if fnmatch.fnmatchcase(n, pattern)]


def file_ref(ref: str) -> tuple[Path, str] | None:
    """`"path/model.py:Name"` -> (Path("path/model.py"), "Name"); None for a module reference."""
    location, sep, attribute = ref.rpartition(":")
    return (Path(location), attribute) if sep and location.endswith(".py") else None


def load_ref(ref: str, base_dir: Path | None = None) -> Any:
    """Import `"package.module:attribute"`, or `"file.py:attribute"` (relative to `base_dir`)."""
    location, sep, attribute = ref.rpartition(":")
    if not sep or not location or not attribute:
        raise ZooError(f"bad reference {ref!r}", "write it as 'package.module:name' or 'file.py:name'")
    if location.endswith(".py"):
        module = _import_file(Path(base_dir or ".") / location)
    else:
        try:
            module = importlib.import_module(location)
        except ModuleNotFoundError as error:
            raise ZooError(f"cannot import {location!r} (from {ref!r}): {error}") from error
    try:
        return getattr(module, attribute)
    except AttributeError:
        names = [n for n in vars(module) if not n.startswith("_")]
        raise ZooError(
            f"{location} has no {attribute!r} (from {ref!r})", did_you_mean(attribute, names)
        ) from None


def _import_file(path: Path) -> Any:
    """Import a user's Python file as a module; its folder joins sys.path for its own imports."""
    path = path.resolve()
    if not path.is_file():
        raise ZooError(f"{path} does not exist", "check the file part of model.source")
    name = f"zoo_user_{path.stem}_{abs(hash(str(path))):x}"
    if name in sys.modules:
        return sys.modules[name]
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ in model/
    try:
        spec.loader.exec_module(module)
    except Exception:
        del sys.modules[name]
        raise
    finally:
        sys.dont_write_bytecode = writes_bytecode
    return module
