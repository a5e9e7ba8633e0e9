"""The portable model folder: config.json + model.safetensors + README.md model card.

Loading rebuilds the module from config.json and reads weights from safetensors, so nothing
is unpickled. A user's own model file (`model.source`) is copied in, so the folder stands alone.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from zoo import __version__
from zoo.config import MODEL_CHOICE
from zoo.errors import ZooError
from zoo.files import first_line, read_json, read_text
from zoo.plugins import file_ref, find_task, load_ref
from zoo.run import model_dir, write_json
from zoo.weights import restoring

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
CARD = "README.md"
INCOMPLETE = "copy the model folder whole, or train again"
TRUST_HINT = "if you trust whoever made the folder, pass --trust-code (zoo.load(..., trust_code=True))"


def save(module: Any, target: Path, metrics: dict[str, Any], notes: list[str]) -> None:
    """Write the model folder at `target`, replacing an older one only once complete."""
    from safetensors.torch import save_model

    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    config = json.loads(json.dumps(module.config))  # a deep, plain copy
    source = config["model"]["source"]
    if source and (ref := file_ref(source)):
        file, attribute = ref
        shutil.copy2(file, partial / file.name)
        config["model"]["source"] = f"{file.name}:{attribute}"
    params = sum(p.numel() for p in module.parameters())
    info = dict(module.info)
    for key, name in module.info_files.items():
        (partial / name).write_text(info[key], encoding="utf-8")
        info[key] = {"file": name}
    write_json(partial / CONFIG, {"zoo_version": __version__, "config": config, "info": info, "metrics": metrics, "params": params})
    save_model(module, str(partial / WEIGHTS), force_contiguous=True)  # a user's network may keep channels-last weights
    card = model_card(
        config, metrics, params, notes, module.usage_shell, module.usage_python,
        interface=module.interface(), limits=module.limits, rows=module.info.get("rows"), meanings=module.metric_meanings,
    )
    (partial / CARD).write_text(card, encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    partial.replace(target)


def load(path: str | Path, trust_code: bool = False) -> Any:
    """The module saved in a run or model folder, on CPU and in eval mode. Python code the
    folder carries (a user's model.py) is imported only with `trust_code`."""
    from safetensors import SafetensorError
    from safetensors.torch import load_model

    folder = model_dir(path)
    config, info = read_config(folder)
    config["model"]["source"] = carried_code(folder, config["model"]["source"], trust_code)
    config["compile"] = False  # compiling is for training; a loaded model starts at once
    try:
        task = find_task(config["task"])
    except ZooError as error:
        raise ZooError(f"{folder / CONFIG}: {error.message} (config.task)", "install the zoo plugin that provides it; `zoo list` shows the installed tasks") from None
    module_class = load_ref(task.module_of(config["model"]))
    for key, name in module_class.info_files.items():
        if not (folder / name).is_file():
            raise ZooError(f"{folder / name} does not exist", INCOMPLETE)
        if name.endswith(".json"):
            read_json(folder / name, f"a {key} file", hint=INCOMPLETE)
        info[key] = read_text(folder / name)
    code = [config["model"]["source"].rpartition(":")[0]] if config["model"]["source"] else []  # trusted: it ran
    files = " and ".join([CONFIG, *module_class.info_files.values(), *code])
    try:
        with restoring():  # no downloads: the saved weights replace the starting ones
            module = module_class(config, info)
    except Exception as error:  # a config or tokenizer that zoo did not write: whatever the model's code makes of it
        reason = error.message if isinstance(error, ZooError) else first_line(error)
        raise ZooError(f"{folder}: its {files} do not build a {config['task']} model ({reason})", INCOMPLETE) from error
    if not (folder / WEIGHTS).is_file():
        raise ZooError(f"{folder / WEIGHTS} does not exist", INCOMPLETE)
    try:
        load_model(module, str(folder / WEIGHTS), strict=True)
    except (OSError, RuntimeError, SafetensorError) as error:
        raise ZooError(f"{folder / WEIGHTS} does not hold this model's weights: {first_line(error)}", INCOMPLETE) from None
    return module.eval()


def read_config(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config, info) of a model folder's config.json, checked for the shape zoo writes."""
    path = folder / CONFIG
    saved = read_json(path, "a zoo model config", hint=INCOMPLETE)
    config, info = saved.get("config"), saved.get("info")
    model = config.get("model") if isinstance(config, dict) else None
    if not isinstance(config, dict) or not isinstance(info, dict) or not isinstance(model, dict):
        raise ZooError(f"{path} is not a zoo model config: it lacks the config, config.model or info object", INCOMPLETE)
    for key, kind in (("task", str), ("name", str), ("source", (str, type(None)))):
        value = config.get(key) if key == "task" else model.get(key)
        if not isinstance(value, kind):
            where = "config.task" if key == "task" else f"config.model.{key}"
            raise ZooError(f"{path} is not a zoo model config: {where} is {value!r}", INCOMPLETE)
    return config, info


def carried_code(folder: Path, source: str | None, trust_code: bool) -> str | None:
    """`model.source` of a saved model, as loading imports it: the Python file the folder
    carries, which runs only with `trust_code` and only from inside the folder."""
    if not source:
        return None
    ref = file_ref(source)
    if ref is None:  # an installed module ("package.module:Name")
        if not trust_code:
            raise ZooError(f"{folder / CONFIG} asks to import {source!r} (model.source) to build the model", TRUST_HINT)
        return source
    file, attribute = ref
    inside = folder.resolve()
    if file.is_absolute() or ".." in file.parts or not (folder / file).resolve().is_relative_to(inside):
        raise ZooError(f"{folder / CONFIG}: model.source {source!r} points outside the model folder", "a model folder may only carry its code inside it; zoo will not load this one")
    if not (folder / file).is_file():
        raise ZooError(f"{folder / file} does not exist (model.source)", INCOMPLETE)
    if not trust_code:
        raise ZooError(f"{folder / file} is Python code that loading this model would run", TRUST_HINT)
    return f"{(folder / file).resolve()}:{attribute}"


def model_card(
    config: dict[str, Any],
    metrics: dict[str, Any],
    params: int,
    notes: list[str],
    shell: Sequence[str],
    python: Sequence[str],
    *,
    interface: dict[str, Any] | None = None,
    limits: Sequence[str] = (),
    rows: dict[str, int] | None = None,
    meanings: Mapping[str, str] | None = None,
) -> str:
    """A short README: what the model is, what it was trained on, its classes and the input it
    takes (its module's `interface()`), how well it does (with the `meanings` of metrics a
    reader may not know), its `limits`, and how to use it: the `shell` commands and `python`
    lines of its module (`ZooModule.usage_shell`, ...)."""
    name = f"{config['task']}/{config['model']['name']}"
    code = bool(config["model"]["source"])
    folder = "path/to/this/folder" + (" --trust-code" if code else "")
    interface = dict(interface or {})
    classes = interface.pop("classes", None)
    data = config["data"]["path"]
    counted = ", ".join(f"{count:,} {split}" for split, count in (rows or {}).items())
    lines = [
        f"# {name}",
        "",
        f"A `{config['task']}` model trained with zoo {__version__}"
        + (f" from the user's model `{config['model']['source']}`" if code else "")
        + (f", trained as {config['task']}/{config['model']['base']} is (model.base)." if code and config["model"].get("base") else "."),
        "",
        "## Training",
        "",
        f"- data: {f'`{data}`' if data else 'the embedded demo data of `zoo train ' + config['task'] + '`'}" + (f" ({counted} rows)" if counted else ""),
        f"- parameters: {params:,}",
        f"- optimizer: {config['optim']['name']} (lr {config['optim']['lr']}, scheduler {config['optim']['scheduler']})",
        f"- seed: {config['seed']}",
        *(f"- note: {note}" for note in notes),
        "",
        *_section("Classes", [f"{index}. {label}" for index, label in enumerate(classes or [])] if classes else []),
        *_section("Input and output", [f"- {key}: {_shown(value)}" for key, value in interface.items()]),
        *_section("Metrics", [*(_metric_table(metrics) or ["none were computed (the notes above say why)"]),
                              *([""] if meanings else []), *(f"- `{metric}`: {meaning}" for metric, meaning in (meanings or {}).items())]),
        "## Hyper-parameters",
        "",
        *_table({f"model.{k}": v for k, v in config["model"].items() if k not in MODEL_CHOICE}),
        "",
        *_section("Limits", [f"- {limit}" for limit in limits]),
        "## Use",
        "",
        *([f"Loading this model runs Python code (`{config['model']['source']}`, model.source): zoo runs it only when asked to with `--trust-code`.", ""] if code else []),
        "```bash",
        *(line.format(model=folder) for line in shell),
        "```",
        "",
        "```python",
        "import zoo",
        f'model = zoo.load("path/to/this/folder"{", trust_code=True" if code else ""})',
        *python,
        "```",
        "",
    ]
    return "\n".join(lines)


def _section(title: str, items: list[str]) -> list[str]:
    """A card section of `items` lines; none when there are no items."""
    return [f"## {title}", "", *items, ""] if items else []


def _metric_table(metrics: dict[str, Any]) -> list[str]:
    """Each split's metrics as Markdown table rows under a header; none without metrics."""
    rows = [f"| {split} | {metric} | {value:.6g} |" for split, values in metrics.items() for metric, value in values.items()]
    return ["| split | metric | value |", "|---|---|---|", *rows] if rows else []


def _table(values: dict[str, Any]) -> list[str]:
    """Keys and values as a Markdown table (values as YAML/JSON writes them)."""
    if not values:
        return ["none"]
    return ["| key | value |", "|---|---|", *(f"| `{key}` | `{json.dumps(value)}` |" for key, value in values.items())]


def _shown(value: Any) -> str:
    """A value for a person: lists of numbers rounded to 4 significant digits, text as it is."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, float) for v in value):
        return "[" + ", ".join(f"{v:.4g}" for v in value) + "]"
    return json.dumps(value)
