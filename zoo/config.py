"""One resolved config per run: defaults < task < model < YAML file < command-line overrides.

A config is a plain nested dict, validated here before any heavy work: unknown keys get a
close-match suggestion, values are checked against the type of their default, and relative
paths in a file are taken relative to that file. Nothing here imports torch.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePath
from typing import Any

from zoo import files
from zoo.errors import ZooError, close_matches, did_you_mean
from zoo.plugins import Task, file_ref

Config = dict[str, Any]

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("none", "step", "cosine", "plateau")

# Lightning's Trainer arguments that pass straight through as `trainer.*` (a test keeps this
# list equal to Trainer's signature). Left out are those zoo sets itself: loggers, callbacks,
# the root folder and checkpointing, which make up the run folder.
TRAINER_KEYS = frozenset(
    "accelerator strategy devices num_nodes precision fast_dev_run max_epochs min_epochs "
    "max_steps min_steps max_time limit_train_batches limit_val_batches limit_test_batches "
    "limit_predict_batches overfit_batches val_check_interval check_val_every_n_epoch "
    "num_sanity_val_steps log_every_n_steps enable_progress_bar enable_model_summary "
    "accumulate_grad_batches gradient_clip_val gradient_clip_algorithm deterministic benchmark "
    "inference_mode use_distributed_sampler profiler detect_anomaly barebones plugins "
    "sync_batchnorm reload_dataloaders_every_n_epochs enable_autolog_hparams "
    "model_registry".split()
)
TRAINER_KEYS_ZOO_SETS = frozenset({"logger", "callbacks", "default_root_dir", "enable_checkpointing"})

CORE_DEFAULTS: Config = {
    "task": None,
    "seed": 0,
    "output": "runs",
    "compile": False,
    "model": {"name": None, "source": None},
    "data": {"path": None, "batch_size": 32, "num_workers": None},  # num_workers null: chosen for the machine (zoo.data.worker_count)
    "optim": {
        "name": "adamw",
        "lr": 1e-3,
        "weight_decay": 0.0,
        "momentum": 0.9,  # sgd only
        "betas": [0.9, 0.999],  # adam and adamw: the decay rates of the gradient's running mean and square
        "scheduler": "none",
        "warmup_epochs": 0.0,  # cosine: linear warm-up before the cosine decay
        "min_lr": 0.0,  # cosine: the floor it decays to
        "step_size": 30,  # step: epochs between decays
        "gamma": 0.1,  # step and plateau: the decay factor
        "plateau_patience": 5,  # plateau: epochs without improvement before a decay
    },
    "early_stopping": {"patience": None, "min_delta": 0.0},
    "trainer": {"max_epochs": 10, "accelerator": "auto", "devices": "auto", "strategy": "auto"},
}

# Keys holding file paths: relative values are taken from the config file's folder.
PATH_KEYS = (("data", "path"), ("data", "val_path"), ("data", "test_path"), ("model", "weights"), ("output",))

# The type of core keys whose default is null.
NULLABLE_TYPES = {
    "data.path": str,
    "data.val_path": str,
    "data.test_path": str,
    "model.source": str,
    "data.num_workers": int,
    "early_stopping.patience": int,
}

# Core numbers and the values that make sense for them.
RANGES = {
    "seed": (lambda v: 0 <= v < 2**32, "an integer from 0 to 4294967295"),
    "optim.lr": (lambda v: v > 0, "a positive number"),
    "optim.weight_decay": (lambda v: v >= 0, "zero or more"),
    "optim.momentum": (lambda v: 0 <= v < 1, "from 0 up to (not including) 1"),
    "optim.betas": (
        lambda v: isinstance(v, list) and len(v) == 2 and all(isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1 for b in v),
        "two numbers from 0 up to (not including) 1, such as [0.9, 0.999]",
    ),
    "optim.warmup_epochs": (lambda v: v >= 0, "zero or more"),
    "optim.min_lr": (lambda v: v >= 0, "zero or more"),
    "optim.step_size": (lambda v: v >= 1, "1 or more"),
    "optim.gamma": (lambda v: 0 < v <= 1, "above 0, up to 1"),
    "optim.plateau_patience": (lambda v: v >= 0, "zero or more"),
    "data.batch_size": (lambda v: v >= 1, "1 or more"),
    "data.num_workers": (lambda v: v is None or v >= 0, "zero or more, or null to choose for the machine"),
    "early_stopping.patience": (lambda v: v is None or v >= 1, "1 or more, or null for none"),
    "trainer.max_epochs": (lambda v: v is None or v == -1 or v >= 1, "1 or more, or -1 for no limit"),
}


def defaults(task: Task, model: str) -> Config:
    """The config a run of `task/model` starts from, before any file or override."""
    spec = task.models.get(model)
    config = merge(merge(CORE_DEFAULTS, task.defaults), spec.overrides if spec else {})
    config["task"] = task.name
    config["model"] = {**config["model"], "name": model, **(spec.defaults if spec else {})}
    return config


def merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> Config:
    """A deep copy of `base` with `update` laid over it, section by section."""
    merged = copy.deepcopy(dict(base))
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def read_yaml(path: Path) -> Config:
    """A YAML config file as a dict, as written (see `absolute_paths` for its relative paths)."""
    if not path.is_file():
        raise ZooError(f"config file {path} does not exist")
    loaded = files.read_yaml(path, "a zoo config")
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ZooError(
            f"{path} holds {files.yaml_kind(loaded)}, but a config must be a mapping of sections",
            "write `section:` lines, as in a run's config.yaml",
        )
    return loaded


def absolute_paths(config: Config, base: Path, task_keys: Iterable[str] = ()) -> Config:
    """`config` with relative path values (and model.source files) resolved against `base`;
    the task's own `task_keys` (dotted) only when they name a path that exists there."""
    config = copy.deepcopy(config)
    for key in task_keys:
        *sections, name = key.split(".")
        holder = _section(config, sections)
        if isinstance(holder, dict) and isinstance(holder.get(name), str) and (base / holder[name]).exists():
            holder[name] = str((base / holder[name]).resolve())
    for *sections, key in PATH_KEYS:
        holder = _section(config, sections)
        if isinstance(holder, dict) and isinstance(holder.get(key), str):
            value = holder[key]
            parts = [value] if "," not in value or (base / value).exists() else value.split(",")  # SOURCE,TARGET files
            holder[key] = ",".join(str((base / part).resolve()) for part in parts)
    model = config.get("model")
    if isinstance(model, dict) and isinstance(model.get("source"), str) and (ref := file_ref(model["source"])):
        model["source"] = f"{(base / ref[0]).resolve()}:{ref[1]}"
    return config


def _section(config: Config, sections: Iterable[str]) -> Any:
    """The value at the nested `sections` of `config` (None where one is missing or not a mapping)."""
    holder: Any = config
    for section in sections:
        holder = holder.get(section) if isinstance(holder, dict) else None
    return holder


def parse_overrides(items: Iterable[str]) -> Config:
    """`["optim.lr=0.1", "trainer.devices=2"]` -> a nested dict with YAML-typed values."""
    import yaml

    pairs = []
    for item in items:
        key, sep, text = item.partition("=")
        if not sep:
            raise ZooError(f"bad override {item!r}", "write overrides as section.key=value")
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            value = text
        pairs.append((key, _number_or_text(value) if isinstance(value, str) else value))
    return nest(pairs)


def nest(pairs: Iterable[tuple[str, Any]]) -> Config:
    """`[("optim.lr", 0.1)]` -> `{"optim": {"lr": 0.1}}`."""
    nested: Config = {}
    for key, value in pairs:
        if not key or any(not part for part in key.split(".")):
            raise ZooError(f"bad config key {key!r}", "write it as section.key")
        holder = nested
        *sections, last = key.split(".")
        for section in sections:
            holder = holder.setdefault(section, {})
            if not isinstance(holder, dict):
                raise ZooError(f"{key!r} conflicts with an earlier value for {section!r}")
        holder[last] = str(value) if isinstance(value, PurePath) else value
    return nested


def _number_or_text(text: str) -> Any:
    """YAML reads `1e-3` as text; users mean a number."""
    try:
        return float(text)
    except ValueError:
        return text


def validate(config: Config, schema: Config) -> Config:
    """Check `config` against the keys and value types of `schema` (the defaults)."""
    checked = _check_section(config, schema, prefix="")
    for key, expected in NULLABLE_TYPES.items():
        section, name = key.split(".")
        value = checked[section].get(name)
        if value is not None:
            checked[section][name] = _coerce(value, expected(), key)
    for key, (allowed, meaning) in RANGES.items():
        value = lookup(checked, key)
        try:
            fits = allowed(value)
        except TypeError:  # null, where a number belongs
            fits = False
        if not fits:
            raise ZooError(f"{key} must be {meaning}, not {value!r}")
    optim = checked["optim"]
    for key, choices in (("name", OPTIMIZERS), ("scheduler", SCHEDULERS)):
        if optim[key] not in choices:
            raise ZooError(
                f"optim.{key}: unknown value {optim[key]!r}",
                did_you_mean(str(optim[key]), choices) or f"choose one of {', '.join(choices)}",
            )
    if not isinstance(checked["model"]["name"], str) or not checked["model"]["name"]:
        raise ZooError("model.name must be set", "see `zoo list` for model names")
    return checked


def _suggest(key: str, names: Iterable[str], prefix: str) -> str | None:
    """'did you mean ...?' naming the close keys in full (`model.name`, not `name`)."""
    matches = close_matches(key, names)
    return "did you mean " + " or ".join(repr(f"{prefix}{m}") for m in matches) + "?" if matches else None


def _check_section(given: Mapping[str, Any], schema: Mapping[str, Any], prefix: str) -> Config:
    checked = dict(schema)
    for key, value in given.items():
        where = f"{prefix}{key}"
        if prefix == "trainer.":
            if key in TRAINER_KEYS_ZOO_SETS:
                raise ZooError(f"{where} is set by zoo", "the run folder holds logs and checkpoints")
            if key not in TRAINER_KEYS:
                raise ZooError(f"unknown key {where!r}", _suggest(key, TRAINER_KEYS, prefix))
            typed = key in schema and not isinstance(schema[key], str)  # "auto" defaults take many types
            checked[key] = _coerce(value, schema[key], where) if typed else value
        elif prefix == "model." and given.get("source") and key not in schema:
            checked[key] = value  # the user's own model takes its own hyper-parameters
        elif key not in schema:
            raise ZooError(
                f"unknown key {where!r}",
                _suggest(key, schema, prefix) or f"known keys: {', '.join(sorted(schema))}",
            )
        elif isinstance(schema[key], dict):
            if not isinstance(value, dict):
                raise ZooError(f"{where} must be a section of keys, not {value!r}")
            checked[key] = _check_section(value, schema[key], prefix=f"{where}.")
        else:
            checked[key] = _coerce(value, schema[key], where)
    return checked


def lookup(config: Config, key: str) -> Any:
    """The value at a dotted key (None when a section lacks it)."""
    value: Any = config
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _coerce(value: Any, default: Any, where: str) -> Any:
    """`value` in the type of `default`, or a ZooError saying what was expected."""
    if value is None or default is None:
        return value
    expected = type(default)
    if expected is bool:
        if isinstance(value, bool):
            return value
    elif expected is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif expected is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif expected is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    else:
        return value
    raise ZooError(f"{where} expects {expected.__name__}, got {value!r}")


def to_yaml(config: Config) -> str:
    """The config as YAML, sections in their natural order."""
    import yaml

    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False)


def resolve(
    task: Task,
    model: str | None = None,
    file_config: Config | None = None,
    overrides: Config | None = None,
) -> Config:
    """The validated config of a run: `model` names it explicitly, else the file or overrides
    do (`model.name`), else the task's default. With `model.source` set, the model is the
    user's own code and `model.name` is free text."""
    given = merge(file_config or {}, overrides or {})
    given.pop("task", None)
    given_model = given.setdefault("model", {})
    if not isinstance(given_model, dict):
        raise ZooError(f"model must be a section of keys, not {given_model!r}")
    data = given.get("data")
    demo = not isinstance(data, dict) or data.get("path") is None  # the embedded demo set
    name = model or given_model.get("name") or (demo and task.demo.get("model", {}).get("name")) or task.default_model
    given_model["name"] = name
    if not given_model.get("source") and name not in task.models:
        raise ZooError(
            f"unknown model {name!r} for task {task.name!r}",
            did_you_mean(str(name), task.models) or f"see `zoo list '{task.name}/*'`",
        )
    schema = defaults(task, name)
    if demo:
        demo_model = {k: v for k, v in task.demo.get("model", {}).items() if k != "name"}
        schema = merge(schema, {**task.demo, "model": demo_model})
    if not given_model.get("source"):
        for key in given_model.keys() - schema["model"].keys():
            owners = [f"{task.name}/{m}" for m, spec in task.models.items() if key in spec.defaults]
            if owners:
                raise ZooError(f"model.{key} is not a setting of {task.name}/{name}", f"{' and '.join(owners)} {'takes' if len(owners) == 1 else 'take'} it: name the model (zoo train {owners[0]})")
    return validate(merge(schema, given), schema)
