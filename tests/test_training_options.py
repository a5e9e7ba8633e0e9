"""Options shared by every task: optimizers, schedules, early stopping, Lightning pass-through."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
import torch
import yaml

import zoo
from zoo.config import TRAINER_KEYS, TRAINER_KEYS_ZOO_SETS
from zoo.optim import configure, cosine_with_warmup
from zoo.run import read_log
from zoo.training import resolve_config

OPTIM = {"name": "sgd", "lr": 0.1, "weight_decay": 0.0, "momentum": 0.9, "scheduler": "none", "warmup_epochs": 0.0,
         "min_lr": 0.0, "step_size": 2, "gamma": 0.5, "plateau_patience": 1,
         "betas": [0.9, 0.999]}


def test_trainer_keys_follow_lightning():
    import lightning as L

    accepted = set(inspect.signature(L.Trainer.__init__).parameters) - {"self"}
    assert TRAINER_KEYS | TRAINER_KEYS_ZOO_SETS == accepted


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw"])
def test_optimizers(name):
    params = [torch.nn.Parameter(torch.zeros(2))]
    optimizer = configure(params, {**OPTIM, "name": name, "weight_decay": 0.01}, total_steps=10, max_epochs=5,
                          monitor="val/mse", mode="min")["optimizer"]
    assert type(optimizer).__name__.lower() == name
    assert optimizer.defaults["weight_decay"] == 0.01
    assert optimizer.defaults["fused"]  # one kernel for every parameter on a CPU or a CUDA GPU
    params[0].grad = torch.ones(2)
    settings = {k: optimizer.defaults[k] for k in ("lr", "weight_decay", "momentum", "betas") if k in optimizer.defaults}
    reference = type(optimizer)([torch.nn.Parameter(torch.zeros(2))], foreach=False, **settings)
    reference.param_groups[0]["params"][0].grad = torch.ones(2)
    optimizer.step(), reference.step()
    assert torch.allclose(params[0], reference.param_groups[0]["params"][0], rtol=1e-6, atol=1e-7)  # the same update
    on_meta = configure([torch.nn.Parameter(torch.zeros(2, device="meta"))], {**OPTIM, "name": name}, total_steps=10, max_epochs=5, monitor=None, mode="min")
    assert not on_meta["optimizer"].defaults.get("fused")  # a device without fused kernels: the default form


def test_cosine_schedule_warms_up_then_decays_to_floor():
    factor = cosine_with_warmup(warmup_steps=4, total_steps=20, floor=0.1)
    assert [factor(s) for s in range(4)] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert factor(12) == pytest.approx(0.55)
    assert factor(20) == pytest.approx(0.1) and factor(100) == pytest.approx(0.1)


@pytest.mark.parametrize("scheduler", ["step", "cosine", "plateau"])
def test_schedules_train(scheduler, tmp_path):
    run = zoo.train("linear-regression", output=tmp_path, max_epochs=8, progress=False,
                    overrides={"optim.scheduler": scheduler, "optim.warmup_epochs": 1, "optim.step_size": 1,
                               "optim.gamma": 0.9})
    assert run.epochs == 8 and run.metrics["val"]["mse"] < 0.5


def test_step_schedule_lowers_the_learning_rate():
    params = [torch.nn.Parameter(torch.zeros(2))]
    setup = configure(params, {**OPTIM, "scheduler": "step"}, total_steps=10, max_epochs=5, monitor="m", mode="min")
    scheduler = setup["lr_scheduler"]["scheduler"]
    for _ in range(2):
        setup["optimizer"].step()
        scheduler.step()
    assert setup["optimizer"].param_groups[0]["lr"] == pytest.approx(0.05)


def test_early_stopping_on_the_monitored_metric(tmp_path, points_csv: Path):
    run = zoo.train("linear-regression", data=points_csv, output=tmp_path, max_epochs=500, progress=False,
                    overrides={"early_stopping.patience": 3, "early_stopping.min_delta": 1e-3})
    assert run.epochs < 100


def test_detect_anomaly_and_trainer_settings_pass_through(zoo_cli, tmp_path):
    result = zoo_cli("train", "linear-regression", "--output", tmp_path, "--detect-anomaly", "--max-epochs", "2",
                     "trainer.accelerator=cpu", "trainer.precision=bf16-mixed", "trainer.limit_val_batches=1", "--json")
    assert result.code == 0, result.err
    saved = (Path(json.loads(result.out)["path"]) / "config.yaml").read_text()
    assert "detect_anomaly: true" in saved and "precision: bf16-mixed" in saved


def test_accelerator_defaults_to_auto():
    _, config = resolve_config("linear-regression")
    assert config["trainer"]["accelerator"] == "auto"


def test_create_builds_an_untrained_module_with_hyper_parameters():
    module = zoo.create("linear-regression/mlp", hidden=8, layers=1)
    assert sum(p.numel() for p in module.parameters()) == (1 * 8 + 8) + (8 + 1)


# One test per model (plugin metadata is light to read at collection): xdist spreads them, and a
# failure names the model.
DECLARED_COUNTS = [
    pytest.param(f"{task.name}/{name}", spec.params, id=f"{task.name}/{name}",
                 marks=[pytest.mark.skip(reason="no parameter count declared: no demo data to count on")] if spec.params is None else [])
    for task in zoo.list_tasks() for name, spec in task.models.items()
]


@pytest.mark.parametrize(("model", "declared"), DECLARED_COUNTS)
def test_declared_parameter_counts_are_true(model, declared):
    """Exact, vocabularies learned from the demo's texts included (they repeat exactly)."""
    module = zoo.create(model)
    assert sum(p.numel() for p in module.parameters()) == declared


def test_compiled_training_matches_eager(tmp_path):
    eager = zoo.train("linear-regression", output=tmp_path, max_epochs=3, progress=False)
    compiled = zoo.train("linear-regression", output=tmp_path, max_epochs=3, compile=True, progress=False)
    assert compiled.summary["weight"] == pytest.approx(eager.summary["weight"], abs=1e-5)
    assert compiled.summary["bias"] == pytest.approx(eager.summary["bias"], abs=1e-5)
    assert "compile: true" in (compiled.path / "config.yaml").read_text()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_with_bf16_mixed_precision(tmp_path, points_csv: Path):
    run = zoo.train("linear-regression", data=points_csv, target="y", output=tmp_path, max_epochs=150, progress=False,
                    overrides={"trainer.accelerator": "gpu", "trainer.devices": 1, "trainer.precision": "bf16-mixed"})
    assert run.metrics["val"]["r2"] > 0.99
    assert zoo.load(run.path).predict([[2, 1]])[0] == pytest.approx(5, abs=0.2)  # loads on CPU


def test_resume_continues_after_epochs_that_did_not_improve(tmp_path):
    """last.ckpt is written after every epoch, not only when the monitored metric improves."""
    frozen = {"optim.lr": 1e-12, "optim.scheduler": "none"}  # val/acc never improves after epoch 0
    run = zoo.train("classification", output=tmp_path, max_epochs=3, progress=False, overrides=frozen)
    assert torch.load(run.path / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 2
    resumed = zoo.train(resume=run.path, max_epochs=5, progress=False)
    epochs = [row["epoch"] for row in read_log(run.path / "logs" / "metrics.csv") if row.get("val/acc")]
    assert resumed.epochs == 5 and epochs == ["0", "1", "2", "3", "4"]


@pytest.mark.parametrize(("rows", "largest", "chosen"), [(180, 64, 16), (3000, 64, 30), (8000, 64, 64), (160, 8, 8), (10**7, 64, 64)])
def test_a_null_batch_size_makes_enough_steps_of_small_data(rows, largest, chosen):
    from zoo.data import batch_size_for

    assert batch_size_for(rows, largest) == chosen


def test_small_data_trains_in_smaller_batches_unless_the_batch_size_is_set(tmp_path: Path):
    rows = "\n".join(f"{x},{2 * x + 1}" for x in range(300))
    (tmp_path / "line.csv").write_text(f"x,y\n{rows}\n")
    run = zoo.train("linear-regression", data=tmp_path / "line.csv", output=tmp_path / "runs", progress=False, max_epochs=1)
    assert any(note.startswith("batch size 16: 240 training rows make 4 steps an epoch") for note in run.notes), run.notes
    assert yaml.safe_load((run.path / "config.yaml").read_text())["data"]["batch_size"] == 16  # the run reproduces
    assert json.loads((run.path / "model" / "config.json").read_text())["config"]["data"]["batch_size"] == 16
    given = zoo.train("linear-regression", data=tmp_path / "line.csv", output=tmp_path / "runs", progress=False, max_epochs=1,
                      overrides={"data.batch_size": 64})
    assert not any(note.startswith("batch size") for note in given.notes)
    assert yaml.safe_load((given.path / "config.yaml").read_text())["data"]["batch_size"] == 64


def test_a_busy_machine_is_named_before_cpu_training():
    from zoo.training import busy_warning

    assert busy_warning(0.7, 2, 2) is None and busy_warning(4.2, 2, 1) is None  # one thread waits for no other
    assert busy_warning(4.2, 2, 2) == ("this machine is busy (load 4.2 on 2 CPU cores), so PyTorch's 2 threads wait for other processes "
                                       "and training may be many times slower: run it alone, or with fewer threads (OMP_NUM_THREADS=1)")
