"""Lightning's DDP on two CPU processes gives the weights of one process on the same batches,
whether Lightning starts the second process or torchrun starts one process on each of two nodes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import zoo
from tests.conftest import finished_runs, write_csv, zoo_process


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


def test_ddp_final_metrics_cover_uneven_rows_once_and_trackers_get_one_run(tmp_path):
    from mlflow import MlflowClient

    data = write_csv(tmp_path / "d.csv", "x,y", [(i, 3 * i + (i % 3)) for i in range(15)])  # 12 + 3 rows
    result = zoo_process("train", "linear-regression", "--data", data, "--max-epochs", "3", "trainer.devices=2", "--logger", "mlflow",
                         "trainer.strategy=ddp", "trainer.accelerator=cpu", "--output", tmp_path, "--json", cwd=tmp_path,
                         env={"MLFLOW_TRACKING_URI": ""})
    assert result.code == 0, result.err[-3000:]
    run = json.loads(result.out)
    again = zoo.evaluate(run["path"])  # one process, the 3 validation rows once each
    assert run["metrics"]["val"]["mse"] == pytest.approx(again["metrics"]["mse"], abs=1e-6)
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    [tracked] = client.search_runs([client.get_experiment_by_name("linear-regression").experiment_id])  # rank 0's only
    assert len(client.get_metric_history(tracked.info.run_id, "val/loss")) == 3


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_nodes_under_torchrun_match_one_process(tmp_path):
    """`torchrun --nnodes 2`, one process a node (both here, rendezvous on 127.0.0.1): Lightning
    takes the ranks from torchrun, rank 0 alone writes the one run folder, and the weights are
    those of one process on the same batches."""
    rows = [(a, b, 0.5 * a - 1.5 * b + 2 + ((a * 7 + b * 3) % 5 - 2) * 0.1) for a in range(8) for b in range(8)]
    data = write_csv(tmp_path / "d.csv", "a,b,y", rows)
    port = _free_port()
    nodes = [
        subprocess.Popen(
            [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1", "--node-rank", str(rank),
             "--master-addr", "127.0.0.1", "--master-port", str(port), str(Path(sys.executable).with_name("zoo")),
             "train", "linear-regression", "--data", str(data), "--target", "y", "--max-epochs", "3", "data.val_fraction=0.25",
             "data.batch_size=24", "trainer.num_nodes=2", "trainer.devices=1", "trainer.strategy=ddp", "trainer.accelerator=cpu",
             "--output", str(tmp_path / "two"), "--json"],
            cwd=tmp_path, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )
        for rank in (0, 1)
    ]
    try:
        # 48 training rows: one full batch on one process, a half batch on each node.
        single = zoo.train("linear-regression", data=data, target="y", max_epochs=3, output=tmp_path / "one", progress=False,
                           overrides={"data.val_fraction": 0.25, "data.batch_size": 48, "trainer.accelerator": "cpu"})
        outputs = [node.communicate(timeout=120) for node in nodes]  # a hang fails the test
    finally:
        for node in nodes:  # torchrun stops its worker (a session of its own) on SIGTERM
            if node.poll() is None:
                node.terminate()
                try:
                    node.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(node.pid, signal.SIGKILL)
                    node.wait()
    for node, (out, err) in zip(nodes, outputs):
        assert node.returncode == 0, err[-3000:]
    assert outputs[1][0] == ""  # node 1 reports nothing: rank 0 does
    run = json.loads(outputs[0][0])
    assert run["epochs"] == single.epochs == 3
    assert run["summary"]["weight"] == pytest.approx(single.summary["weight"], abs=1e-5)
    assert run["summary"]["bias"] == pytest.approx(single.summary["bias"], abs=1e-5)
    assert single.summary["weight"]["a"] != pytest.approx(0.5, abs=1e-3)  # not yet converged: a real comparison
    assert [p.parent for p in (tmp_path / "two").rglob("config.yaml")] == [Path(run["path"])]  # one folder, not one a node
    assert finished_runs(tmp_path / "two") == [Path(run["path"])]
