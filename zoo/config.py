"""One resolved config per run: defaults < task < model < YAML file < command-line overrides.

A config is a plain nested dict. Every key is declared once, as a `zoo.plugins.Setting`: the
core's here, a task's and its models' in their plugin. The whole config is checked against
them here, before any heavy work: unknown keys get a close-match suggestion, values their type,
choices and range, and relative paths in a file are taken relative to that file. Nothing here
imports torch.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path, PurePath
from typing import Any

from zoo import files
from zoo.errors import ZooError, close_matches, did_you_mean
from zoo.plugins import Setting, Task, file_ref

Config = dict[str, Any]

OPTIMIZERS = ("sgd", "adam", "adamw")
LOGGERS = ("csv", "tensorboard", "mlflow", "wandb")  # zoo.trainer.run_loggers
SCHEDULERS = ("none", "step", "cosine", "plateau")

# Lightning's Trainer arguments that pass straight through as `trainer.*` (a test keeps this
# list equal to Trainer's signature). Left out are those zoo sets itself: loggers, callbacks,
# the root folder and checkpointing, which make up the run folder. Those declared in CORE are
# checked; the others reach Lightning as given.
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

# Flags every task takes, shorthands for core keys (`--lr 0.01` is optim.lr=0.01); a task adds
# its own (Task.flags). zoo.train takes them as keywords too (lr=0.01, batch_size=16).
SHORTHANDS = {
    "epochs": "trainer.max_epochs",
    "lr": "optim.lr",
    "batch-size": "data.batch_size",
    "devices": "trainer.devices",
    "accelerator": "trainer.accelerator",
    "precision": "trainer.precision",
    "logger": "logger",
}
# Other tools' words for core keys, so that an unknown flag is answered by what it means.
SYNONYMS = {
    "gpus": "trainer.devices",
    "num-gpus": "trainer.devices",
    "ngpus": "trainer.devices",
    "num-epochs": "trainer.max_epochs",
    "n-epochs": "trainer.max_epochs",
    "learning-rate": "optim.lr",
    "bs": "data.batch_size",
    "batch": "data.batch_size",
    "workers": "data.num_workers",
    "optimizer": "optim.name",
    "lr-scheduler": "optim.scheduler",
    "wd": "optim.weight_decay",
    "model": "model.name",
    "nodes": "trainer.num_nodes",
    "amp": "trainer.precision",
    "fp16": "trainer.precision",
    "bf16": "trainer.precision",
}

MODEL_CHOICE = ("name", "source", "base")  # the model.* keys that choose the network; the others are its hyper-parameters

CORE: dict[str, Setting] = {
    "task": Setting(None, "the task (`zoo list`); the one named on the command line", type=str),
    "seed": Setting(0, "seeds every random number generator: the same seed, data and machine give the same run", range="[0, 4294967295]"),
    "output": Setting("runs", "the folder that holds run folders (OUTPUT/TASK/MODEL/TIME)", path=True),
    "compile": Setting(False, "compile the network's forward with torch.compile"),
    "logger": Setting(
        None, "where the metrics and the config also go, beside logs/metrics.csv (always written): tensorboard, mlflow (a local store "
        "beside the runs, or MLFLOW_TRACKING_URI), wandb (offline unless logged in); null: tensorboard when it is installed",
        type=list, item=str, choices=LOGGERS,
    ),
    "model.name": Setting(None, "a model of the task (`zoo list 'TASK/*'`), or with model.source your own model's name", type=str),
    "model.source": Setting(None, "your own network, 'file.py:Name' or 'package.module:Name', called with the data's dimensions and the model.* keys", type=str),
    "model.base": Setting(None, "with model.source: the task's model whose data, training and metric your network takes (default: the task's own)", type=str),
    "data.path": Setting(None, "the data: a file or folder in one of the task's formats; null trains on the embedded demo set", type=str, path=True),
    "data.batch_size": Setting(
        None, "rows per training step (per device); null: data.max_batch_size, or on small data the batch that makes 100 steps an epoch (at least 16 rows)", type=int, range="[1, inf)"
    ),
    "data.max_batch_size": Setting(32, "with data.batch_size null: the batch size on data of 100 batches or more", range="[1, inf)"),
    "data.num_workers": Setting(None, "DataLoader worker processes; null chooses for the machine and the data's size", type=int, range="[0, inf)"),
    "optim.name": Setting("adamw", "the optimizer", choices=OPTIMIZERS),
    "optim.lr": Setting(1e-3, "the learning rate (the peak, with a schedule)", range="(0, inf)"),
    "optim.weight_decay": Setting(0.0, "weight decay (decoupled, for adamw)", range="[0, inf)"),
    "optim.momentum": Setting(0.9, "sgd only: momentum", range="[0, 1)"),
    "optim.betas": Setting([0.9, 0.999], "adam and adamw: the decay rates of the gradient's running mean and square", item=float, length=2, range="[0, 1)"),
    "optim.scheduler": Setting(
        "none", "the learning-rate schedule: cosine decays per step (after optim.warmup_epochs), step every optim.step_size epochs, plateau when the metric stalls",
        choices=SCHEDULERS,
    ),
    "optim.warmup_epochs": Setting(0.0, "cosine: epochs of linear warm-up before the decay", range="[0, inf)"),
    "optim.min_lr": Setting(0.0, "cosine: the floor it decays to", range="[0, inf)"),
    "optim.step_size": Setting(30, "step: epochs between decays", range="[1, inf)"),
    "optim.gamma": Setting(0.1, "step and plateau: the decay factor", range="(0, 1]"),
    "optim.plateau_patience": Setting(5, "plateau: epochs without improvement before a decay", range="[0, inf)"),
    "early_stopping.patience": Setting(None, "stop after this many validation epochs without improvement; null: never", type=int, range="[1, inf)"),
    "early_stopping.min_delta": Setting(0.0, "the least change that counts as an improvement", range="[0, inf)"),
    "trainer.max_epochs": Setting(10, "epochs to train; -1: no limit", choices=(-1,), range="[1, inf)", nullable=True),
    "trainer.accelerator": Setting("auto", "Lightning's accelerator: auto, cpu, gpu, mps, ..."),
    "trainer.devices": Setting("auto", "Lightning's devices: auto, a count, or a list of device indices", type=(str, int, list)),
    "trainer.strategy": Setting("auto", "Lightning's strategy: auto, ddp, fsdp, ..."),
}


def settings(task: Task, model: str | None) -> dict[str, Setting]:
    """Every key a run of `task/model` takes (`model` None: the user's own code), by dotted name:
    the core's, the task's (with the choices it narrows) and the model's."""
    declared = {**CORE, **task.settings}
    for key, choices in task.choices.items():
        declared[key] = replace(declared[key], choices=choices)
    spec = task.models.get(model) if model is not None else None
    declared.update({f"model.{key}": setting for key, setting in (spec.settings if spec else {}).items()})
    return declared


def flag_key(task: Task, flag: str, others: Iterable[str] = ()) -> str:
    """The config key a flag of `task` or a shorthand stands for (`target` -> data.target,
    `batch_size` -> data.batch_size); an unknown one is a ZooError that names the flag or key
    meant, `others` (the command's other flags) among them."""
    spelled = flag.replace("_", "-")
    flags = {**SHORTHANDS, **task.flags}
    if spelled in flags:
        return flags[spelled]
    raise ZooError(f"unknown option --{spelled} for task {task.name!r}", _flag_hint(spelled, task, flags, others))


def _flag_hint(flag: str, task: Task, flags: Mapping[str, str], others: Iterable[str]) -> str:
    """What an unknown flag most likely meant: a key it names by another tool's word or by the
    key's own name (`--momentum`: optim.momentum), else a flag spelled like it."""
    keys = [*CORE, *task.settings, *(f"model.{key}" for spec in task.models.values() for key in spec.settings), *(f"trainer.{key}" for key in TRAINER_KEYS)]
    key = SYNONYMS.get(flag) or next((k for k in keys if k.rpartition(".")[2] == flag.replace("-", "_")), None)
    if key is not None:
        shorthand = next((f for f, k in flags.items() if k == key), None)
        return f"did you mean --{shorthand} ({key})?" if shorthand else f"no flag sets {key}: write {key}=VALUE"
    known = [*flags, *others]
    matches = close_matches(flag, known, cutoff=0.6)
    if matches:
        return "did you mean " + " or ".join(f"'--{m}'" for m in matches) + "?"
    return f"the flags: --{', --'.join(known)}; any config key as key=VALUE (`zoo info {task.name}` lists them)"


def settings_of(task: Task, config: Config) -> dict[str, Setting]:
    """The keys a resolved config of `task` takes."""
    return settings(task, None if config["model"]["source"] else config["model"]["name"])


def defaults(task: Task, model: str) -> Config:
    """The config a run of `task/model` starts from, before any file or override."""
    spec = task.models.get(model)
    declared = nest((key, setting.default) for key, setting in settings(task, model).items())
    config = merge(merge(declared, task.defaults), spec.overrides if spec else {})
    config["task"] = task.name
    config["model"]["name"] = model
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


def path_settings(task: Task) -> dict[str, Setting]:
    """The keys of `task` (core, task and any of its models) that name a file or folder."""
    every = {**CORE, **task.settings}
    every.update({f"model.{key}": setting for spec in task.models.values() for key, setting in spec.settings.items()})
    return {key: setting for key, setting in every.items() if setting.path}


def absolute_paths(config: Config, base: Path, task: Task) -> Config:
    """`config` with relative path values (and model.source files) resolved against `base`;
    a path key's words (`metrics.features: auto`) stay as they are."""
    config = copy.deepcopy(config)
    for key, setting in path_settings(task).items():
        *sections, name = key.split(".")
        holder = value_at(config, sections)
        value = holder.get(name) if isinstance(holder, dict) else None
        if isinstance(value, str) and value not in setting.choices and not (setting.choices and not (base / value).exists()):  # a mistyped word stays a word
            holder[name] = ",".join(str((base / part).resolve()) for part in path_parts(value, base))
    model = config.get("model")
    if isinstance(model, dict) and isinstance(model.get("source"), str) and (ref := file_ref(model["source"])):
        model["source"] = f"{(base / ref[0]).resolve()}:{ref[1]}"
    return config


def path_parts(value: str, base: Path = Path()) -> list[str]:
    """The files a path value names: one, or translation's SOURCE,TARGET pair (a name with a
    comma that exists, from `base`, is one file)."""
    return [value] if "," not in value or (base / value).exists() else value.split(",")


def value_at(config: Config, sections: Iterable[str]) -> Any:
    """The value at the nested `sections` of `config` (None where one is missing or not a mapping)."""
    holder: Any = config
    for section in sections:
        holder = holder.get(section) if isinstance(holder, dict) else None
    return holder


def parse_overrides(items: Iterable[str]) -> Config:
    """`["optim.lr=0.1", "trainer.devices=2"]` -> a nested dict with YAML-typed values."""
    pairs = []
    for item in items:
        key, sep, text = item.partition("=")
        if not sep:
            raise ZooError(f"bad override {item!r}", "write overrides as section.key=value")
        pairs.append((key, typed_text(text)))
    return nest(pairs)


def typed_text(text: str) -> Any:
    """A value written on the command line, YAML-typed (`true`, `null`, `[1, 2]`), `1e-3` a
    number; empty text is null and text YAML cannot read stays text."""
    import yaml

    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        value = text
    return _number_or_text(value) if isinstance(value, str) else value


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"optim": {"lr": 0.1}}` -> `{"optim.lr": 0.1}`: `nest` undone."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


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


def validate(config: Config, declared: Mapping[str, Setting], own_code: bool = False) -> Config:
    """`config` with every value checked against its `declared` setting (and put in its type).
    With `own_code` (model.source), undeclared model.* keys are the user's network's own."""
    checked: Config = {}
    _check_section(config, declared, "", checked, own_code)
    if not checked.get("model", {}).get("name"):
        raise ZooError("model.name must be set", "see `zoo list` for model names")
    return checked


def _check_section(given: Mapping[str, Any], declared: Mapping[str, Setting], prefix: str, into: Config, own_code: bool) -> None:
    sections = {key.split(".")[0] for key in declared if "." in key}  # of the keys under `prefix`
    for key, value in given.items():
        where = f"{prefix}{key}"
        setting = declared.get(where)
        if where.startswith("trainer.") and setting is None:
            if key in TRAINER_KEYS_ZOO_SETS:
                raise ZooError(f"{where} is set by zoo", "the run folder holds logs and checkpoints")
            if key not in TRAINER_KEYS:
                raise ZooError(f"unknown key {where!r}", _suggest(key, TRAINER_KEYS, prefix))
            into[key] = value  # Lightning's own: it checks them
        elif setting is not None:
            into[key] = check(where, value, setting)
        elif where == "model" or any(name.startswith(f"{where}.") for name in declared):
            if not isinstance(value, dict):
                raise ZooError(f"{where} must be a section of keys, not {value!r}")
            _check_section(value, declared, f"{where}.", into.setdefault(key, {}), own_code)
        elif own_code and prefix == "model.":
            into[key] = value  # the user's own network takes its own hyper-parameters
        else:
            known = sorted(name[len(prefix):] for name in declared if name.startswith(prefix) and "." not in name[len(prefix):])
            raise ZooError(
                f"unknown key {where!r}",
                _suggest(key, known + sorted(sections) if not prefix else known, prefix) or f"known keys: {', '.join(known)}",
            )


def check(key: str, value: Any, setting: Setting) -> Any:
    """`value` of `key` in its setting's type, or a ZooError saying what the key takes."""
    if value is None:
        if setting.nullable:
            return None
        raise ZooError(f"{key} must be {setting.described()}, not null")
    typed = _typed(value, setting)
    if typed is _WRONG:
        raise ZooError(f"{key} expects {setting.described()}, got {value!r}")
    if setting.choices and isinstance(typed, list):
        for item in typed:
            if item not in setting.choices:
                raise ZooError(f"{key}: unknown value {item!r}", _choice_hint(item, setting.choices))
        return typed
    if setting.choices and typed in setting.choices:
        return typed
    if setting.path and isinstance(typed, str):
        if setting.choices and not Path(typed).exists():
            raise ZooError(f"{key}: {typed!r} is neither {', '.join(map(str, setting.choices))} nor an existing path", _choice_hint(typed, setting.choices))
        return typed
    if setting.choices and setting.range is None:
        raise ZooError(f"{key}: unknown value {typed!r}", _choice_hint(typed, setting.choices))
    if setting.range is not None and not all(_within(number, setting) for number in _numbers(typed)):
        raise ZooError(f"{key} must be {setting.described()}, not {value!r}")
    return typed


def _choice_hint(value: Any, choices: Iterable[Any]) -> str:
    """Every choice, after the one `value` is a slip for (`cosin`), if any."""
    names = [str(choice) for choice in choices]
    close = did_you_mean(str(value), names, cutoff=0.7)
    return f"{close} (one of {', '.join(names)})" if close else f"choose one of {', '.join(names)}"


_WRONG = object()


def _typed(value: Any, setting: Setting) -> Any:
    """`value` as the first of the setting's types that takes it, else _WRONG."""
    for kind in setting.types:
        typed = _as(value, kind)
        if typed is not _WRONG and kind is list:
            items = [_as(item, setting.item) if setting.item else item for item in typed]
            low, high = (setting.length, setting.length) if isinstance(setting.length, int) else setting.length or (0, math.inf)
            typed = items if _WRONG not in items and low <= len(items) <= high else _WRONG
        if typed is not _WRONG:
            return typed
    return _WRONG


def _as(value: Any, kind: type) -> Any:
    """`value` as `kind`: whole floats pass for int, ints for float, numbers for text, and
    numbers written as text for numbers (a flag's value: `--lr 0.01`)."""
    if isinstance(value, str) and kind in (int, float):
        value = _number_or_text(value)
    if isinstance(value, bool):
        return value if kind is bool else _WRONG
    if kind is int:
        return value if isinstance(value, int) else int(value) if isinstance(value, float) and value.is_integer() else _WRONG
    if kind is float:
        return float(value) if isinstance(value, (int, float)) else _WRONG
    if kind is str:
        return str(value) if isinstance(value, (str, int, float)) else _WRONG
    if kind is list:
        if isinstance(value, str):  # a flag's value: `--logger tensorboard,mlflow`
            return [part.strip() for part in value.split(",") if part.strip()]
        return list(value) if isinstance(value, (list, tuple)) else _WRONG
    return _WRONG


def _numbers(value: Any) -> list[Any]:
    """The numbers a range applies to: the value, or a list's items."""
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, (int, float)) and not isinstance(v, bool)]


def _within(number: float, setting: Setting) -> bool:
    low, low_in, high, high_in = setting.bounds()
    return (low < number or (low_in and low == number)) and (number < high or (high_in and high == number))


def _suggest(key: str, names: Iterable[str], prefix: str) -> str | None:
    """'did you mean ...?' naming the close keys in full (`model.name`, not `name`)."""
    matches = close_matches(key, names)
    return "did you mean " + " or ".join(repr(f"{prefix}{m}") for m in matches) + "?" if matches else None


def to_yaml(config: Config, declared: Mapping[str, Setting] | None = None) -> str:
    """The config as YAML, sections in their natural order; with `declared`, each key followed
    by a comment saying what it takes and means."""
    import yaml

    if declared is None:
        return yaml.safe_dump(config, sort_keys=False, default_flow_style=False)
    lines: list[str] = []

    def emit(section: Mapping[str, Any], prefix: str, indent: str) -> None:
        for key, value in section.items():
            setting = declared.get(f"{prefix}{key}")
            if isinstance(value, dict) and setting is None:
                lines.append(f"{indent}{key}:")
                emit(value, f"{prefix}{key}.", indent + "  ")
                continue
            shown = yaml.safe_dump({key: value}, default_flow_style=True, width=10**6).strip()[1:-1]
            comment = f"  # {setting.described()} — {setting.help}" if setting else ""
            lines.append(f"{indent}{shown}{comment}")

    emit(config, "", "")
    return "\n".join(lines) + "\n"


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
    demo_model = dict(task.demo.get("model", {})) if demo else {}
    named = model or given_model.get("name")
    name = named or demo_model.get("name") or task.default_model
    given_model["name"] = name
    own_code = bool(given_model.get("source"))
    if not own_code and name not in task.models:
        raise ZooError(f"unknown model {name!r} for task {task.name!r}", did_you_mean(str(name), task.models) or f"see `zoo list '{task.name}/*'`")
    base = given_model.get("base")
    if base is not None and (not own_code or base not in task.models):
        raise ZooError(f"model.base names the {task.name} model your own model.source network stands in for, not {base!r}",
                       did_you_mean(str(base), task.models) or f"one of {', '.join(task.models)}" if own_code else "drop it, or set model.source")
    declared = settings(task, None if own_code else name)
    values = defaults(task, name)
    if demo:  # a demo that picks its model sets that choice's keys; a model named on the demo data keeps its own
        values = merge(values, {**task.demo, "model": {} if named and "name" in demo_model else {k: v for k, v in demo_model.items() if k != "name"}})
    if not own_code:
        for key in given_model.keys() - values["model"].keys():
            owners = [f"{task.name}/{m}" for m, spec in task.models.items() if key in spec.settings]
            if owners:
                takers = " and ".join(owners) if len(owners) <= 2 else f"{owners[0]} and {len(owners) - 1} other models"
                raise ZooError(f"model.{key} is not a setting of {task.name}/{name}", f"{takers} {'takes' if len(owners) == 1 else 'take'} it: name the model (zoo train {owners[0]})")
    return validate(merge(values, given), declared, own_code)
