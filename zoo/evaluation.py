"""`zoo evaluate`: a trained model's metrics on labelled data."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from zoo import artifact
from zoo import config as configs
from zoo.errors import ZooError
from zoo.plugins import find_task, load_ref
from zoo.run import model_dir


def evaluate(run: str | Path, data: str | Path | None = None, trust_code: bool = False, columns: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Metrics on `data` read as the model was trained to read it, its columns named otherwise
    by `columns` (`{"data.label_column": "stars"}`); without `data`, on the validation split of
    the run's own data."""
    from zoo import trainer as trainers
    from zoo.data import loader, reusing

    module = artifact.load(run, trust_code)
    config = module.config
    if columns:
        if data is None:
            raise ZooError("column settings apply to other data only", "pass the data with --data")
        _name_columns(config, columns)
    if data is not None:
        dataset, source = module.evaluation_dataset(Path(data)), str(Path(data).resolve())
    else:
        with reusing(module.info):  # the run's own tokenizers: none is trained again
            dataset = load_ref(find_task(config["task"]).data_of(config["model"]))(config).val
        source = f"validation split of {config['data']['path'] or 'the demo data'}"
    if len(dataset) == 0:
        raise ZooError(f"{source} has no labelled rows to evaluate on", "check the file, or the columns the model reads")
    with trainers.quiet_lightning():
        results = trainers.single_device().test(module, loader(dataset, config["data"], shuffle=False), verbose=False)
    return {
        "model": str(model_dir(run)),
        "data": source,
        "rows": getattr(dataset, "rows", len(dataset)),  # a dataset may hold more than it scores
        "metrics": trainers.prefixed_metrics(results, "test"),
    }


def _name_columns(config: dict[str, Any], columns: Mapping[str, Any]) -> None:
    """Sets the settings that name the data's columns (`data.label_column`...) in a loaded
    model's `config`, checked against their declarations; any other key is refused."""
    declared = configs.settings_of(find_task(config["task"]), config)
    named = sorted(key for key, setting in declared.items() if setting.column)
    for key, value in columns.items():
        setting = declared.get(key)
        if setting is None or not setting.column:
            raise ZooError(f"zoo evaluate takes no {key!r}", f"it takes the settings naming the data's columns: {', '.join(named)}" if named else "this task's data has no columns to name")
        section, name = key.split(".", 1)
        config[section][name] = configs.check(key, value, setting)
