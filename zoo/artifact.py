"""The portable model folder: config.json + model.safetensors + README.md model card.

Loading rebuilds the module from config.json and reads weights from safetensors, so nothing
is unpickled. A user's own model file (`model.source`) is copied in, so the folder stands alone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from zoo import __version__
from zoo.errors import ZooError
from zoo.plugins import file_ref, find_task, load_ref
from zoo.run import model_dir, write_json
from zoo.weights import restoring

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
CARD = "README.md"


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
    save_model(module, str(partial / WEIGHTS))
    (partial / CARD).write_text(model_card(config, metrics, params, notes), encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    partial.replace(target)


def load(path: str | Path) -> Any:
    """The module saved in a run or model folder, on CPU and in eval mode."""
    from safetensors import SafetensorError
    from safetensors.torch import load_model

    folder = model_dir(path)
    try:
        saved = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
        config, info = saved["config"], saved["info"]
    except (json.JSONDecodeError, KeyError) as error:
        raise ZooError(f"{folder / CONFIG} is damaged: {error}", "train the model again") from None
    source = config["model"]["source"]
    if source and file_ref(source):
        config["model"]["source"] = str(folder / source)
    config["compile"] = False  # compiling is for training; a loaded model starts at once
    module_class = load_ref(find_task(config["task"]).module_of(config["model"]["name"]))
    for key, name in module_class.info_files.items():
        if not (folder / name).is_file():
            raise ZooError(f"{folder / name} does not exist", "the model folder is incomplete: copy it whole or train again")
        info[key] = (folder / name).read_text(encoding="utf-8")
    with restoring():  # no downloads: the saved weights replace the starting ones
        module = module_class(config, info)
    try:
        load_model(module, str(folder / WEIGHTS), strict=True)
    except (OSError, RuntimeError, SafetensorError) as error:
        raise ZooError(f"cannot load weights from {folder / WEIGHTS}: {error}") from None
    return module.eval()


def model_card(config: dict[str, Any], metrics: dict[str, Any], params: int, notes: list[str]) -> str:
    """A short README: what the model is, how it was trained, how well it does, how to use it."""
    name = f"{config['task']}/{config['model']['name']}"
    rows = [f"| {split} | {metric} | {value:.6g} |" for split, values in metrics.items() for metric, value in values.items()]
    hparams = {k: v for k, v in config["model"].items() if k not in ("name", "source")}
    lines = [
        f"# {name}",
        "",
        f"A `{config['task']}` model trained with zoo {__version__}"
        + (f" from the user's model `{config['model']['source']}`." if config["model"]["source"] else "."),
        "",
        f"- parameters: {params:,}",
        f"- hyper-parameters: {json.dumps(hparams) if hparams else 'none'}",
        f"- data: {config['data']['path'] or 'the embedded demo data'}",
        f"- optimizer: {config['optim']['name']} (lr {config['optim']['lr']}, scheduler {config['optim']['scheduler']})",
        f"- seed: {config['seed']}",
        *(f"- note: {note}" for note in notes),
        "",
        "## Metrics",
        "",
        "| split | metric | value |",
        "|---|---|---|",
        *rows,
        "",
        "## Use",
        "",
        "```bash",
        "zoo predict path/to/this/folder INPUT...",
        "zoo evaluate path/to/this/folder --data DATA",
        "```",
        "",
        "```python",
        "import zoo",
        'model = zoo.load("path/to/this/folder")',
        "model.predict([...])",
        "```",
        "",
    ]
    return "\n".join(lines)
