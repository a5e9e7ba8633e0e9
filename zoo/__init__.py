"""zoo: a plugin-based model zoo and application templates for PyTorch.

    import zoo
    zoo.list_models("linear-regression/*")
    run = zoo.train("linear-regression")
    zoo.load(run.path).predict([[4.0]])        # about [8.0]

Importing zoo is cheap: torch and Lightning load only inside the functions that need them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.errors import ZooError

if TYPE_CHECKING:
    from zoo.plugins import Task
    from zoo.training import Run

__version__ = "0.1.0"
__all__ = ["ZooError", "create", "evaluate", "export", "list_models", "list_tasks", "load", "new", "push", "serve", "train"]


def list_tasks() -> list[Task]:
    """Every installed task plugin, built-in or third-party."""
    from zoo.plugins import tasks

    return list(tasks().values())


def list_models(pattern: str = "*") -> list[str]:
    """`task/model` names matching a shell pattern (`"detection/*"`, `"*/linear"`)."""
    from zoo.plugins import model_names

    return model_names(pattern)


def create(name: str, *, data: str | Path | None = None, **hparams: Any) -> Any:
    """An untrained LightningModule of `name` (task or `task/model`), sized for `data`."""
    from zoo.training import create as create_module

    return create_module(name, data=data, **hparams)


def train(name: str | None = None, **options: Any) -> Run:
    """Train and write a run folder. Options: config, data, max_epochs, output, seed, resume,
    compile, detect_anomaly, progress, overrides ({"optim.lr": 0.1}) and the task's own flags."""
    from zoo.training import train as train_run

    return train_run(name, **options)


def load(path: str | Path, trust_code: bool = False) -> Any:
    """The trained module in a run folder or model/ folder, in eval mode; call `.predict(...)`.
    A folder that carries Python code (a model trained from your own model.py) is refused
    unless `trust_code=True`: loading it runs that code."""
    from zoo.artifact import load as load_module

    return load_module(path, trust_code)


def evaluate(run: str | Path, data: str | Path | None = None, trust_code: bool = False, columns: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Metrics of a trained model on labelled `data` (default: its own validation split), whose
    columns `columns` may name otherwise (`{"data.label_column": "stars"}`)."""
    from zoo.evaluation import evaluate as evaluate_model

    return evaluate_model(run, data, trust_code, columns)


def export(run: str | Path, format: str = "onnx", output: str | Path | None = None, trust_code: bool = False) -> dict[str, Any]:
    """Export a trained model (onnx, or pt2 for torch.export) and check it against PyTorch."""
    from zoo.exporting import export as export_model

    return export_model(run, format, output, trust_code)


def push(run: str | Path, repo: str, *, private: bool = False, revision: str | None = None) -> dict[str, Any]:
    """Upload a trained model's folder to the Hugging Face Hub repository `repo` (ORG/NAME);
    `load("hf://ORG/NAME")` and every command taking a run folder read it back."""
    from zoo.sharing import push as push_model

    return push_model(run, repo, private=private, revision=revision)


def serve(run: str | Path, **settings: Any) -> None:
    """Serve a trained model over HTTP until Ctrl-C: POST /predict (batched), a web page at /,
    /info, /health and /docs. Settings: host ("127.0.0.1"), port (8000), workers (1),
    max_batch_size (32), batch_timeout (0.0 seconds), max_body_mb (16), max_queue (1024), trust_code (False)."""
    from dataclasses import fields

    from zoo.errors import did_you_mean
    from zoo.server import Settings
    from zoo.server import serve as serve_model

    names = [field.name for field in fields(Settings) if field.name != "model"]
    for name in settings:
        if name not in names:
            raise ZooError(f"zoo.serve has no setting {name!r}", did_you_mean(name, names) or f"its settings: {', '.join(names)}")
    serve_model(Settings(model=str(run), **settings))


def new(directory: str | Path, task: str) -> Path:
    """Write a standalone application for `task` into a new folder."""
    from zoo.scaffold import new as scaffold

    return scaffold(Path(directory), task)
