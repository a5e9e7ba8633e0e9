"""`zoo tune`: trials of one SQLite study from two processes, none lost; a study continued; a
failed trial recorded while the study goes on; the best config trainable; Ctrl-C stopping after
the current trial with the table; and the search's mistakes, one line each before any trial."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml

import zoo
from tests.conftest import zoo_process
from tests.test_errors import assert_user_error

LR = "optim.lr=loguniform(1e-3,0.3)"


def study_trials(output: Path, name: str = "linear-regression-linear") -> list:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{output / 'tune.db'}").trials


def test_two_workers_share_one_study_no_trial_is_lost_and_a_second_tune_continues_it(zoo_cli, tmp_path):
    result = zoo_process("tune", "linear-regression", "--trials", "5", "--workers", "2", "--search", LR, "--epochs", "3",
                         "--output", tmp_path, "--json")
    assert result.code == 0, result.err[-3000:]
    document = json.loads(result.out)
    trials = study_trials(tmp_path)
    assert len(trials) == len(document["trials"]) == 5 and {t.state.name for t in trials} <= {"COMPLETE", "PRUNED"}
    runs = {t.user_attrs["run"] for t in trials}
    assert len(runs) == 5 and all((Path(run) / "metrics.json").is_file() for run in runs)  # each trial a finished run folder
    assert set(map(str, tmp_path.glob("linear-regression/linear/*"))) == runs

    again = zoo_cli("tune", "linear-regression", "--trials", "2", "--search", LR, "--epochs", "3", "--output", tmp_path)
    assert again.code == 0, again.err
    assert len(study_trials(tmp_path)) == 7 and "study linear-regression-linear" in again.out
    best = tmp_path / "tune" / "linear-regression-linear" / "best.yaml"
    chosen = min((t for t in study_trials(tmp_path) if t.state.name == "COMPLETE"), key=lambda t: t.value)
    assert yaml.safe_load(best.read_text())["optim"]["lr"] == pytest.approx(chosen.params["optim.lr"])
    assert (tmp_path / "tune" / "linear-regression-linear" / "plots" / "tune.png").stat().st_size > 1000
    retrained = zoo.train(config=best, output=tmp_path / "again", progress=False)
    assert retrained.metrics["val"]["mse"] == pytest.approx(chosen.value, rel=1e-4)  # the same seed, data and settings


def test_a_failed_trial_is_recorded_and_the_study_goes_on(zoo_cli, tmp_path):
    result = zoo_cli("tune", "linear-regression", "--trials", "4", "--search", "optim.lr=choice(1e38,0.05)", "--epochs", "2",
                     "--output", tmp_path, "--study", "lrs", "--json")
    assert result.code == 0, result.err
    rows = json.loads(result.out)["trials"]
    failed = [row for row in rows if row["state"] == "fail"]
    assert failed and any(row["state"] == "complete" for row in rows) and len(rows) == 4
    assert all("loss became inf" in row["error"] for row in failed)


def test_ctrl_c_stops_after_the_current_trial_with_the_table(tmp_path, ctrl_c):
    command = [str(Path(sys.executable).with_name("zoo")), "tune", "linear-regression", "--trials", "200", "--search", LR,
               "--epochs", "2", "--output", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stderr:
        if line.startswith("trial 0 "):
            process.send_signal(signal.SIGINT)
            break
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "stopping after this trial" in err
    ended = [line for line in out.splitlines()[1:] if line.split()[0].isdigit()]
    assert 1 <= len(ended) < 200 and len(ended) == len(study_trials(tmp_path))


@pytest.mark.parametrize(("args", "fragments"), [
    (["--search", "optim.lrr=loguniform(1e-4,1e-2)"], ["optim.lrr is not a key of linear-regression/linear", "optim.lr"]),
    (["--search", "optim.lr=logunif(1e-4,1e-2)"], ["is not KEY=SPACE", "loguniform(a,b)"]),
    (["--search", "optim.lr=loguniform(0,1e-2)"], ["loguniform(0, 0.01) needs 0 < a < b"]),
    (["--search", "data.batch_size=uniform(8,64)"], ["data.batch_size=uniform(...): data.batch_size takes a whole number", "int(a,b)"]),
    (["--search", "optim.name=choice(adam,sgdd)"], ["optim.name: unknown value 'sgdd'", "sgd"]),
    (["--search", "optim.name=choice(adam)"], ["choice(...) takes two different values or more"]),
    (["--search", LR, "--trials", "0"], ["--trials must be a whole number of at least 1"]),
    (["--search", LR, "trainer.devices=2"], ["zoo tune trains each trial on one device", "--workers"]),
    ([], ["zoo tune needs something to search", "--search KEY=SPACE"]),
])
def test_search_mistakes_are_one_line_before_any_trial(zoo_cli, tmp_path, args, fragments):
    trials = [] if "--trials" in args else ["--trials", "3"]
    assert_user_error(zoo_cli("tune", "linear-regression", *trials, *args, "--output", tmp_path), *fragments)
    assert not (tmp_path / "tune.db").exists()
