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
