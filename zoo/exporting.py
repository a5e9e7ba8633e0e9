"""`zoo export`: a trained model as ONNX or a torch.export program, checked against PyTorch."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zoo import __version__, artifact
from zoo.errors import ZooError, did_you_mean
from zoo.run import beside

SUFFIXES = {"onnx": ".onnx", "pt2": ".pt2"}


def export(run: str | Path, format: str, output: str | Path | None = None, trust_code: bool = False) -> dict[str, Any]:
    """Write the model of `run` in `format` (default place: <run>/export/model.<suffix>) and
    report the largest difference between the exported model's outputs and PyTorch's."""
    if format == "torchscript":
        raise ZooError("TorchScript export is not offered: torch.jit is deprecated since torch 2.15", "use --format pt2 (torch.export) or onnx")
    if format not in SUFFIXES:
        raise ZooError(f"unknown export format {format!r}", did_you_mean(format, SUFFIXES) or f"choose one of {', '.join(SUFFIXES)}")
    import torch

    module = artifact.load(run, trust_code)
    target = Path(output) if output else beside(run) / "export" / f"model{SUFFIXES[format]}"
    if target.is_dir():
        raise ZooError(f"--output {target} is a folder", f"name a file, such as {target / ('model' + SUFFIXES[format])}")
    example = module.example_input()
    with torch.no_grad():
        expected = _outputs(module(example))  # a model that cannot be exported says so here
    target.parent.mkdir(parents=True, exist_ok=True)
    run_exported = {"onnx": _onnx, "pt2": _pt2}[format](module, example, target)
    actual = _outputs(run_exported(example)) if run_exported else None
    difference = None if actual is None else max(float((a - e).abs().max()) for a, e in zip(actual, expected))
    return {
        "path": str(target),
        "format": format,
        "input": {"name": "input", "shape": ["batch", *example.shape[1:]]},
        "outputs": list(module.output_names),
        "max_abs_diff": difference,
    }


def _outputs(result: Any) -> list[Any]:
    """A module's output, or each of its outputs, as CPU tensors."""
    import torch

    return [torch.as_tensor(r).detach().cpu() for r in (result if isinstance(result, (tuple, list)) else [result])]


def _batch_dim() -> tuple[dict[int, Any], ...]:
    import torch

    return ({0: torch.export.Dim("batch", min=1)},)


def _pt2(module: Any, example: Any, target: Path) -> Callable[[Any], Any]:
    import torch

    program = torch.export.export(module, (example,), dynamic_shapes=_batch_dim())
    torch.export.save(program, target)
    reloaded = torch.export.load(target).module()
    return reloaded


def metadata(module: Any) -> dict[str, str]:
    """What an ONNX runtime user needs besides the graph: the task and model, and the module's
    `interface()` (class names in output order, the input recipe), each value as text (JSON for
    anything but text)."""
    described = {"zoo_version": __version__, "task": module.config["task"], "model": module.config["model"]["name"], **module.interface()}
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in described.items()}


def _write_metadata(target: Path, values: dict[str, str]) -> None:
    """Set the ONNX file's `metadata_props` to `values` (read back with `onnx.load(...).metadata_props`)."""
    import onnx

    model = onnx.load(str(target))
    onnx.helper.set_model_props(model, values)
    onnx.save_model(model, str(target))


def _onnx(module: Any, example: Any, target: Path) -> Callable[[Any], Any] | None:
    import logging

    import torch

    missing = [p for p in ("onnx", "onnxscript") if importlib.util.find_spec(p) is None]
    if missing:
        raise ZooError(f"ONNX export needs {' and '.join(missing)}", "install them: pip install 'zoo-pytorch[export]'")
    onnx_log = logging.getLogger("torch.onnx")
    level = onnx_log.level
    onnx_log.setLevel(logging.ERROR)  # e.g. "torchvision is not installed"; the caller's level again after
    try:
        torch.onnx.export(
            module,
            (example,),
            str(target),
            dynamo=True,
            input_names=["input"],
            output_names=list(module.output_names),
            dynamic_shapes=_batch_dim(),
            external_data=False,  # one self-contained file
            verbose=False,
        )
    finally:
        onnx_log.setLevel(level)
    _write_metadata(target, metadata(module))
    if importlib.util.find_spec("onnxruntime") is None:
        return None  # exported, but nothing here can run it to compare
    import onnxruntime

    session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    return lambda x: [torch.from_numpy(output) for output in session.run(None, {"input": x.cpu().numpy()})]
