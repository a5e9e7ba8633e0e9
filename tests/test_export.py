"""Exported models give PyTorch's outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch

import zoo


def test_onnx_matches_pytorch(zoo_cli, trained_run: Path, tmp_path: Path):
    target = tmp_path / "model.onnx"
    result = zoo_cli("export", trained_run, "--format", "onnx", "--output", target, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["max_abs_diff"] < 1e-4
    x = np.array([[4.0], [-3.5], [100.0]], dtype=np.float32)
    session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    exported = session.run(None, {"input": x})[0]
    assert exported == pytest.approx(zoo.load(trained_run).predict(x.tolist()), abs=1e-4)


def test_pt2_matches_pytorch(trained_run: Path):
    result = zoo.export(trained_run, "pt2")
    assert Path(result["path"]) == trained_run / "export" / "model.pt2"
    program = torch.export.load(result["path"]).module()
    x = torch.tensor([[4.0], [7.0], [0.5]])
    assert program(x).tolist() == pytest.approx(zoo.load(trained_run).predict(x), abs=1e-4)


def test_onnx_is_one_self_contained_file(trained_run: Path, tmp_path: Path):
    zoo.export(trained_run, "onnx", tmp_path / "m.onnx")
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_export_output_that_is_a_folder(zoo_cli, trained_run: Path, tmp_path: Path):
    result = zoo_cli("export", trained_run, "--format", "pt2", "--output", tmp_path)
    assert result.code == 2 and "is a folder" in result.err and "Traceback" not in result.err


def test_torchscript_is_explained(zoo_cli, trained_run: Path):
    result = zoo_cli("export", trained_run, "--format", "torchscript")
    assert result.code == 2 and "torch.jit is deprecated" in result.err and "--format pt2" in result.err


def test_onnx_metadata_names_the_features_and_task(trained_run: Path, tmp_path: Path):
    import onnx

    zoo.export(trained_run, "onnx", tmp_path / "m.onnx")
    metadata = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    assert metadata["task"] == "linear-regression" and metadata["model"] == "linear" and metadata["zoo_version"] == zoo.__version__
    assert json.loads(metadata["features"]) == ["x"] and metadata["target"] == "y"


def test_onnx_metadata_carries_a_classifiers_classes_and_preprocessing(tmp_path: Path):
    """What a program without zoo needs: class names in output order, size, mean, std, channels."""
    import onnx

    run = zoo.train("classification", output=tmp_path / "runs", max_epochs=1, progress=False, overrides={"data.batch_size": 32}).path
    result = zoo.export(run, "onnx")
    metadata = {p.key: p.value for p in onnx.load(result["path"]).metadata_props}
    module = zoo.load(run)
    assert json.loads(metadata["classes"]) == module.classes
    assert json.loads(metadata["image_size"]) == module.image_size == list(result["input"]["shape"][2:])
    assert json.loads(metadata["mean"]) == pytest.approx(module.mean.flatten().tolist())
    assert json.loads(metadata["std"]) == pytest.approx(module.std.flatten().tolist())
    assert metadata["channel_order"] == "RGB"
    session = onnxruntime.InferenceSession(result["path"], providers=["CPUExecutionProvider"])
    assert session.get_modelmeta().custom_metadata_map["classes"] == metadata["classes"]  # what onnxruntime users read
