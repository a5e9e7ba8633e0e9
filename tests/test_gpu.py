"""On a CUDA GPU (`-m gpu`, run by benchmarks/gpu_check.sh; skipped without one): every model
trains a short while in bf16 mixed precision on the GPU, and its model folder predicts and
evaluates alike on the GPU and on the CPU; the image models also train compiled; two GPUs train
one run with DDP where the machine has them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

import zoo
from zoo.errors import ZooError

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

GPU = {"trainer.accelerator": "gpu", "trainer.devices": 1, "trainer.precision": "bf16-mixed", "trainer.limit_train_batches": 20}
MODELS = [f"{task.name}/{name}" for task in zoo.list_tasks() for name in task.models]
TEXTS = {"sentiment": ["a gripping film", "dull and slow"]}
TOLERANCE = 1e-2  # bf16 weights are not involved (saved in float32), but GPU kernels sum in other orders


def outputs(module: Any) -> Any:
    """What the model gives for fixed inputs: its network's output on the export example, or
    the records `predict` makes of example texts."""
    try:
        example = module.example_input().to(module.device)
    except ZooError:
        texts = TEXTS.get(module.config["task"]) or [module.example_text]
        return module.predict(texts)
    with torch.inference_mode():
        result = module(example)
    return torch.utils._pytree.tree_map(lambda t: t.float().cpu() if isinstance(t, torch.Tensor) else t, result)


def assert_alike(cpu: Any, gpu: Any) -> None:
    """Tensors within TOLERANCE; records equal but for their scores, which are within it."""
    if isinstance(cpu, torch.Tensor):
        assert torch.allclose(cpu, gpu, atol=TOLERANCE, rtol=TOLERANCE), (cpu - gpu).abs().max()
    elif isinstance(cpu, dict):
        assert cpu.keys() == gpu.keys()
        for key in cpu:
            assert_alike(cpu[key], gpu[key])
    elif isinstance(cpu, (list, tuple)):
        assert len(cpu) == len(gpu)
        for a, b in zip(cpu, gpu):
            assert_alike(a, b)
    elif isinstance(cpu, float):
        assert gpu == pytest.approx(cpu, abs=TOLERANCE, rel=TOLERANCE)
    else:
        assert cpu == gpu


def evaluate_on(device: str, run: Path) -> dict[str, float]:
    """`zoo evaluate RUN --json` in a process that sees the GPU, or none (through zoo's entry
    function: where zoo was installed with pip --target, there is no `zoo` script on the path)."""
    command = [sys.executable, "-c", "import sys, zoo_cli; sys.exit(zoo_cli.main(sys.argv[1:]))", "evaluate", str(run), "--json"]
    env = {**os.environ, **({"CUDA_VISIBLE_DEVICES": ""} if device == "cpu" else {})}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["metrics"]


@pytest.mark.parametrize("name", MODELS)
def test_trains_in_bf16_on_the_gpu_and_predicts_and_evaluates_alike_on_gpu_and_cpu(name, tmp_path):
    run = zoo.train(name, output=tmp_path, max_epochs=1, progress=False, overrides=GPU)
    assert run.metrics["val"], run.notes
    assert_alike(outputs(zoo.load(run.path)), outputs(zoo.load(run.path).to("cuda")))
    on_cpu, on_gpu = evaluate_on("cpu", run.path), evaluate_on("gpu", run.path)
    assert on_cpu.keys() == on_gpu.keys()
    for key in on_cpu:
        assert on_gpu[key] == pytest.approx(on_cpu[key], abs=0.5, rel=TOLERANCE), key  # a metric in percent may move a point's fraction


@pytest.mark.parametrize("name", ["classification/cnn", "classification/resnet18", "detection/yolo"])
def test_image_models_train_compiled_on_the_gpu(name, tmp_path):
    run = zoo.train(name, output=tmp_path, max_epochs=1, progress=False, compile=True, overrides=GPU)
    assert run.metrics["val"], run.notes


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two GPUs (one-device training is checked above)")
def test_two_gpus_train_one_run_with_ddp(tmp_path):
    run = zoo.train("classification/cnn", output=tmp_path, max_epochs=1, progress=False, overrides={**GPU, "trainer.devices": 2, "trainer.strategy": "ddp"})
    assert run.metrics["val"]
