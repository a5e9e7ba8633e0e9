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


INFINITY = float("inf")


@dataclass(frozen=True)
class Setting:
    """One config key: its default, the values it takes and what it means. The core checks every
    value against it before anything heavy runs; `zoo info` and `--print-config` show it.

    type:     bool, int, float, str or list (a tuple: any of them); taken from the default when
              that is not null, so it is needed only for keys whose default is null.
    choices:  the values it may take (for a path key: the words it takes besides a path; for a
              list: its items).
    range:    the bounds of a number, or of each item of a list: `"[0, 1)"`, `"(0, inf)"`.
    item:     the type of a list's items; `length` their count (a number, or (fewest, most); most
              may be INFINITY). Text given for a list is its comma-separated items (`--logger a,b`).
    nullable: whether null is a value of it (always, when the default is null).
    path:     a file or folder; a relative value is taken from the config file's folder.
    column:   names a column (or, with type list, columns) of the data's tables: a run checks
              it against a table file's header before anything heavy is imported.
    usual:    with column: the names (in any case) a column is taken by when the key is null; the
              training table must have one, checked with the header.
    """

    default: Any
    help: str
    type: type | tuple[type, ...] | None = None
    choices: tuple[Any, ...] = ()
    range: str | None = None
    item: type | None = None
    length: int | tuple[int, float] | None = None
    nullable: bool = False
    path: bool = False
    column: bool = False
    usual: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.type is None:
            if self.default is None:
                raise ValueError(f"a setting whose default is null needs a type ({self.help!r})")
            object.__setattr__(self, "type", type(self.default))
        if self.default is None:
            object.__setattr__(self, "nullable", True)
        if self.range is not None:
            self.bounds()  # a malformed range is the plugin author's mistake, found at import

    @property
    def types(self) -> tuple[type, ...]:
        return self.type if isinstance(self.type, tuple) else (self.type,)  # type: ignore[return-value]

    def bounds(self) -> tuple[float, bool, float, bool]:
        """(low, low included, high, high included) of `range`."""
        text = (self.range or "(-inf, inf)").strip()
        low, sep, high = text[1:-1].partition(",")
        if not sep or text[0] not in "[(" or text[-1] not in "])":
            raise ValueError(f"range {self.range!r} must read like '[0, 1)'")
        return float(low), text[0] == "[", float(high), text[-1] == "]"

    def described(self) -> str:
        """The values it takes, in words: `a number in (0, 1)`, `one of none, light, standard`."""
        kinds = []
        for kind in self.types:
            if kind is list and self.item is not None:
                low, high = (self.length, self.length) if isinstance(self.length, int) else self.length or (0, INFINITY)
                count = f"{low} " if low == high else f"{low} or more " if high == INFINITY and low else f"{low}-{high} " if high != INFINITY else ""
                kinds.append(f"a list of {count}{_PLURAL[self.item]}")
            else:
                kinds.append("a path" if self.path and kind is str else KIND_WORDS[kind])
        described = " or ".join(kinds) + (f" in {self.range}" if self.range else "")
        words = ", ".join(map(str, self.choices))
        if self.choices and (self.path or self.range):
            described = f"{described}, or {words}" if self.range else f"one of {words}, or {described}"
        elif self.choices and list in self.types:
            described = f"one or more of {words} (a list, or comma-separated)"
        elif self.choices:
            described = f"one of {words}"
        return described + (", or null" if self.nullable else "")


KIND_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text", list: "a list", type(None): "null"}  # what a value of each type is called
_PLURAL = {bool: "true/false values", int: "whole numbers", float: "numbers", str: "texts", list: "lists"}


Settings = Mapping[str, Setting]


@dataclass(frozen=True)
class Model:
    """One model of a task: how to build it and what to tell users about it.

    settings:  its own hyper-parameters, the `model.*` keys (`{"dropout": Setting(0.25, ...)}`);
               the builder is called with them and the data's dimensions.
    overrides: values it changes in other sections (`{"optim": {"lr": 5e-4}}`).
    module, data: its own ZooModule subclass and data builder, where the task's do not fit it
               (a baseline that does not train; a GAN of 2-D points rather than images).
    monitor, mode: its own checkpoint metric, where the task's does not fit it.
    """

    builder: str  # "package.module:callable" returning a torch.nn.Module
    summary: str
    params: int | None = None  # parameter count at the default size, on the demo data
    settings: Settings = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    overrides: Mapping[str, Any] = field(default_factory=dict)
    module: str | None = None
    data: str | None = None
    monitor: str | None = None
    mode: str | None = None

    @property
    def defaults(self) -> dict[str, Any]:
        """Its `model.*` values before any config."""
        return {key: setting.default for key, setting in self.settings.items()}


@dataclass(frozen=True)
class Task:
    """A task plugin. `module` and `data` are references, imported only when a run needs them.

    module:   a `zoo.module.ZooModule` subclass, built as `Module(config, info)`.
    data:     a function `build_data(config) -> zoo.data.DataBundle`.
    monitor:  the validation metric that picks the best checkpoint, with `mode` min or max.
    settings: the task's own config keys, dotted (`"data.val_fraction"`, `"model.tokenizer"`),
              each a `Setting`: its default, type, choices or range, and help.
    defaults: new defaults for keys declared elsewhere (the core's `data.batch_size`, `optim.*`).
    choices:  the core keys whose choices this task narrows (`{"optim.scheduler": ("none", "cosine")}`).
    flags:    extra command-line flags of this task, mapped to config keys
              (`{"target": "data.target"}` makes `--target y` mean `data.target=y`).
    template: the folder of its application template: absolute, or a built-in template name.
    demo:     a config fragment laid over the defaults when no data is given, so the embedded
              demo set trains in seconds (`{"data": {"batch_size": 16}}`); settings given win.
              Its `model.name`, if any, is the model trained when no data and no model is named,
              and its other `model.*` keys apply to that choice only (not to a model the user names).
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
    settings: Settings = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    choices: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    flags: Mapping[str, str] = field(default_factory=dict)
    template: str | None = None
    demo: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.default_model not in self.models:
            raise ValueError(f"task {self.name!r}: default model {self.default_model!r} not in models")
        if self.mode not in ("min", "max"):
            raise ValueError(f"task {self.name!r}: mode must be 'min' or 'max', not {self.mode!r}")
        for key in self.settings:
            if "." not in key:
                raise ValueError(f"task {self.name!r}: setting {key!r} must be dotted, as in 'data.{key}'")

    def spec(self, model: Mapping[str, Any]) -> Model | None:
        """The built-in model whose module, data and metric a config's `model` section uses: the
        one it names, or for the user's own code (`model.source`) its `model.base`, if any."""
        return self.models.get(model.get("base") if model.get("source") else model.get("name"))  # type: ignore[arg-type]

    def module_of(self, model: Mapping[str, Any]) -> str:
        """The ZooModule reference of a config's model (the task's unless its model has its own)."""
        spec = self.spec(model)
        return spec.module if spec and spec.module else self.module

    def data_of(self, model: Mapping[str, Any]) -> str:
        """The data builder reference of a config's model (the task's unless its model has its own)."""
        spec = self.spec(model)
        return spec.data if spec and spec.data else self.data

    def monitor_of(self, model: Mapping[str, Any]) -> tuple[str, str]:
        """(metric, "min" or "max") that picks the best checkpoint of a config's model."""
        spec = self.spec(model)
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
