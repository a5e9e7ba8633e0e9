"""Weights from files and from the internet, for every task that loads published weights.

Files are read without unpickling anything but tensors. Downloads go through torch hub's cache
(`$TORCH_HOME/hub/checkpoints`), so a file placed there serves an offline machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import torch

from zoo.errors import ZooError

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
        raise ValueError(f"model.weights file {path} does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # safetensors, pickle and zip errors differ by version
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(
            f"{path} is not a state-dict file (.safetensors, or tensors saved with torch.save): {first_line}"
        ) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]  # a Lightning checkpoint
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} does not hold a state dict (a mapping of names to tensors)")
    for prefix in ("net.", "model.", "module."):  # a zoo or Lightning module, or DataParallel
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


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
