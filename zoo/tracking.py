"""Where a run's metrics and config go: logs/metrics.csv always (the run's plots and summary read
it), and the experiment trackers the `logger` key names, each through Lightning's own logger.

Lightning logs from the first process only (rank 0), so a DDP run is one run in every tracker.
The trackers other than CSV are extras (`uv sync --extra mlflow`); asking for one that is not
installed is a ZooError before anything heavy runs.
"""

from __future__ import annotations

import importlib.util
import logging
import netrc
import os
from pathlib import Path
from typing import Any

from zoo.errors import ZooError

PACKAGES = {"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb"}  # logger -> the package it needs (its extra has its name)
MLFLOW_STORE = "mlruns"  # beside the run folders, in the output folder: mlruns/mlflow.db (SQLite, MLflow's default backend since 3.7)


def chosen(config: dict[str, Any]) -> list[str]:
    """The trackers a run logs to besides CSV: `logger`'s, or TensorBoard when it is installed."""
    names = config["logger"]
    if names is None:
        return ["tensorboard"] if installed("tensorboard") else []
    return [name for name in dict.fromkeys(names) if name != "csv"]


def installed(name: str) -> bool:
    return importlib.util.find_spec(PACKAGES[name]) is not None


def check_installed(config: dict[str, Any]) -> None:
    """A ZooError naming the first chosen tracker whose package is missing, and how to add it."""
    for name in chosen(config):
        if not installed(name):
            raise ZooError(f"logger {name} needs the {PACKAGES[name]} package, which is not installed",
                           f"uv sync --extra {name} (pip: pip install 'zoo-pytorch[{name}]')")


def run_loggers(config: dict[str, Any], run_dir: Path) -> list[Any]:
    """Lightning loggers for a run folder: CSV in logs/, then each chosen tracker (their packages
    checked already, with the config: `check_installed`)."""
    from lightning.pytorch.loggers import CSVLogger

    return [CSVLogger(save_dir=run_dir, name="logs", version=""), *(_BUILDERS[name](config, run_dir) for name in chosen(config))]


def _tensorboard(config: dict[str, Any], run_dir: Path) -> Any:
    """Event files in logs/tensorboard/ (`tensorboard --logdir OUTPUT` shows every run)."""
    from lightning.pytorch.loggers import TensorBoardLogger

    return TensorBoardLogger(save_dir=run_dir, name="logs", version="tensorboard")


def mlflow_uri(config: dict[str, Any]) -> str:
    """MLFLOW_TRACKING_URI when set, else a SQLite store in OUTPUT/mlruns/."""
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    store = Path(config["output"]).resolve() / MLFLOW_STORE
    store.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{store / 'mlflow.db'}"


def _mlflow(config: dict[str, Any], run_dir: Path) -> Any:
    """One MLflow run per zoo run, in the experiment named after the task; no model artifacts
    (the run folder keeps the checkpoints)."""
    import mlflow  # noqa: F401  (sets its own loggers' levels on import; quieted below)
    from lightning.pytorch.loggers import MLFlowLogger

    for name in ("mlflow", "lightning.pytorch.loggers.mlflow"):  # "Creating initial MLflow database tables...", "Experiment ... not found. Creating it."
        logging.getLogger(name).setLevel(logging.ERROR)
    uri = mlflow_uri(config)
    artifacts = (Path(config["output"]).resolve() / MLFLOW_STORE / "artifacts").as_uri() if uri.startswith("sqlite:///") else None
    return MLFlowLogger(
        experiment_name=config["task"],
        run_name=f"{config['model']['name']}/{run_dir.name}",
        tracking_uri=uri,
        tags={"zoo.run": str(run_dir.resolve()), "zoo.model": f"{config['task']}/{config['model']['name']}"},
        log_model=False,
        artifact_location=artifacts,
    )


def _wandb(config: dict[str, Any], run_dir: Path) -> Any:
    """A W&B run in the project named after the task, its files in logs/wandb/; offline (synced
    later with `wandb sync`) unless this machine is logged in or WANDB_MODE says otherwise."""
    from lightning.pytorch.loggers import WandbLogger

    online = bool(os.environ.get("WANDB_API_KEY")) or _wandb_login_saved() or os.environ.get("WANDB_MODE") == "online"
    folder = run_dir / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return WandbLogger(project=f"zoo-{config['task']}", name=f"{config['model']['name']}/{run_dir.name}", save_dir=str(folder), offline=not online, log_model=False)


def _wandb_login_saved() -> bool:
    """Whether `wandb login` saved a key for api.wandb.ai in ~/.netrc."""
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (OSError, netrc.NetrcParseError):
        return False


_BUILDERS = {"tensorboard": _tensorboard, "mlflow": _mlflow, "wandb": _wandb}
