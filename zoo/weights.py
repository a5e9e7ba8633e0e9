"""Weights from files and from the internet, for every task that loads published weights.

Files are read without unpickling anything but tensors. Downloads go through torch hub's cache
(`$TORCH_HOME/hub/checkpoints`), so a file placed there serves an offline machine.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import torch

from zoo.errors import ZooError
from zoo.files import reading

_restoring: ContextVar[bool] = ContextVar("restoring", default=False)


@contextmanager
def restoring() -> Iterator[None]:
    """Builders called inside skip their starting weights (downloads, model.weights files):
    a saved model's own weights replace them at once, on a machine that may lack both."""
    token = _restoring.set(True)
    try:
        yield
    finally:
        _restoring.reset(token)


def is_restoring() -> bool:
    return _restoring.get()


def starting_weights(url: str | None, path: str | None) -> tuple[dict[str, torch.Tensor], str] | None:
    """(state dict, where it came from) to start a model from: published weights at `url`
    (through torch hub's cache) or the file or zoo folder at `path`; None without either, or
    while `restoring`."""
    if _restoring.get() or not (url or path):
        return None
    if url:
        return read_state_dict(cached_download(url, alternative="model.weights=PATH")), url
    return read_state_dict(Path(path)), str(path)


def cached_download(url: str, alternative: str | None = None) -> Path:
    """The file at `url` in torch hub's cache, downloaded first when missing. Offline, the
    error says where to put the file by hand (or the `alternative`, such as model.weights).
    (Callers skip it while `restoring`.)"""
    import urllib.error

    cache = Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name
    if cache.is_file():
        return cache
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(url, str(cache), progress=True)
    except (urllib.error.URLError, OSError, RuntimeError) as error:
        instead = f"pass {alternative} (or place it at {cache})" if alternative else f"place it at {cache}"
        raise ZooError(f"cannot download {url} ({error})", f"on a machine with internet, download that file and {instead}") from None
    return cache


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from a .safetensors file, or a .pt/.pth/.bin file read with weights_only.
    A zoo model/ folder (or run folder) stands for its model.safetensors."""
    for folder in (path, path / "model"):
        if (folder / "model.safetensors").is_file():
            path = folder / "model.safetensors"
            break
    if not path.is_file():
        raise ZooError(f"model.weights file {path} does not exist")
    with reading(path, "a state-dict file (.safetensors, or tensors saved with torch.save)"):
        state = _load(path)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]  # a Lightning checkpoint
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ZooError(f"{path} does not hold a state dict (a mapping of names to tensors)", "save it with torch.save(model.state_dict(), path)")
    for prefix in ("net.", "model.", "module."):  # a zoo or Lightning module, or DataParallel
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def _load(path: Path) -> Any:
    """What a .safetensors file, or a file torch.save wrote, holds."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return load_weights_only(path)


def load_weights_only(path: Path, hint: str = "save the weights alone: torch.save(model.state_dict(), path), or as .safetensors", **options: Any) -> Any:
    """What torch.save wrote to `path`, unpickling tensors and plain data only (`options` go to
    torch.load). A file holding other objects is a ZooError naming what was refused (with
    `hint`); other damage, a ValueError with torch's reason, never its advice to load unsafely."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True, **options)
    except pickle.UnpicklingError as error:
        refused = str(error).partition("WeightsUnpickler error:")[2].strip().split("\n")[0].split(". ")[0]
        if refused.startswith("Unsupported global"):
            raise ZooError(
                f"{path} holds Python objects besides tensors ({refused}), which zoo does not unpickle",
                hint,
            ) from error
        raise ValueError(refused or "not a pickle of tensors") from error


def check_architecture(own: dict[str, torch.Tensor], state: dict[str, torch.Tensor], source: str, new_layers: tuple[str, ...] = ()) -> None:
    """A ValueError when `state` is for another architecture than the model's state `own`:
    tensors missing (besides layers under the `new_layers` prefixes, made anew anyway) or
    unexpected. Batch-norm step counters do not count (frozen batch norm has none)."""
    counter = "num_batches_tracked"
    missing = [k for k in own if k not in state and not k.startswith(new_layers) and counter not in k]
    unexpected = [k for k in state if k not in own and counter not in k]
    if missing or unexpected:
        sample = ", ".join((missing or unexpected)[:3])
        raise ValueError(
            f"the weights in {source} are for another architecture "
            f"({len(missing)} tensors missing, {len(unexpected)} unexpected, e.g. {sample})"
        )
