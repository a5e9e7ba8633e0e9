"""Lightning's DDP on two CPU processes gives the weights of one process on the same batches."""

from __future__ import annotations

import json

import pytest

import zoo
from tests.conftest import write_csv, zoo_process


def test_ddp_on_two_cpu_processes_matches_one(tmp_path):
    rows = [(a, b, 0.5 * a - 1.5 * b + 2 + ((a * 7 + b * 3) % 5 - 2) * 0.1) for a in range(8) for b in range(8)]
    data = write_csv(tmp_path / "d.csv", "a,b,y", rows)
    common = ["--data", data, "--target", "y", "--max-epochs", "4", "data.val_fraction=0.25", "trainer.accelerator=cpu"]
    # 48 training rows: one full batch on one process, two half batches on two processes.
    single = zoo.train("linear-regression", data=data, target="y", max_epochs=4, output=tmp_path / "one", progress=False,
                       overrides={"data.val_fraction": 0.25, "data.batch_size": 48, "trainer.accelerator": "cpu"})
    result = zoo_process("train", "linear-regression", *common, "data.batch_size=24", "trainer.devices=2",
                         "trainer.strategy=ddp", "--output", tmp_path / "two", "--json", cwd=tmp_path)
    assert result.code == 0, result.err[-3000:]
    double = json.loads(result.out)
    assert double["epochs"] == single.epochs == 4
    assert double["summary"]["weight"] == pytest.approx(single.summary["weight"], abs=1e-5)
    assert double["summary"]["bias"] == pytest.approx(single.summary["bias"], abs=1e-5)
    assert single.summary["weight"]["a"] != pytest.approx(0.5, abs=1e-3)  # not yet converged: a real comparison
    assert len(list((tmp_path / "two").rglob("metrics.json"))) == 1
    # The final metrics are those of one process on the whole validation split.
    again = zoo.evaluate(double["path"])
    for name in ("mse", "mae", "r2"):
        assert double["metrics"]["val"][name] == pytest.approx(again["metrics"][name], abs=1e-6)


def test_ddp_final_metrics_cover_uneven_rows_once(tmp_path):
    data = write_csv(tmp_path / "d.csv", "x,y", [(i, 3 * i + (i % 3)) for i in range(15)])  # 12 + 3 rows
    result = zoo_process("train", "linear-regression", "--data", data, "--max-epochs", "3", "trainer.devices=2",
                         "trainer.strategy=ddp", "trainer.accelerator=cpu", "--output", tmp_path, "--json", cwd=tmp_path)
    assert result.code == 0, result.err[-3000:]
    run = json.loads(result.out)
    again = zoo.evaluate(run["path"])  # one process, the 3 validation rows once each
    assert run["metrics"]["val"]["mse"] == pytest.approx(again["metrics"]["mse"], abs=1e-6)
