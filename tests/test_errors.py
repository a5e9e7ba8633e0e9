"""Every foreseeable user mistake: one line on stderr, exit status 2, no run that looks finished."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import finished_runs, write_csv


def assert_user_error(result, *fragments: str) -> None:
    assert result.code == 2
    assert result.out == ""
    shown = [line.rsplit("\r", 1)[-1] for line in result.err.split("\n")]  # as a terminal shows it
    lines = [line for line in shown if line.strip()]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("zoo: error: ")
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["train", "linear-regresion"], ["unknown task 'linear-regresion'", "did you mean 'linear-regression'"]),
        (["train", "linear-regression/linaer"], ["unknown model 'linaer'", "'linear'"]),
        (["info", "linear-regression/nope"], ["unknown model 'nope'"]),
        (["train", "linear-regression", "optim.lrr=0.1"], ["unknown key 'optim.lrr'", "did you mean 'optim.lr'"]),
        (["train", "linear-regression", "trainer.max_epoch=3"], ["unknown key 'trainer.max_epoch'", "max_epochs"]),
        (["train", "linear-regression", "optim.lr=fast"], ["optim.lr expects a number in (0, inf), got 'fast'"]),
        (["train", "linear-regression", "optim.name=adamm"], ["optim.name", "did you mean 'adam'"]),
        (["train", "linear-regression", "--targte", "y"], ["unknown option --targte", "--target"]),
        (["train", "linear-regression", "--data", "missing.csv"], ["missing.csv does not exist"]),
        (["train", "--config", "missing.yaml"], ["config file", "does not exist"]),
        (["train"], ["no task given"]),
        (["list", "detektion*"], ["nothing matches"]),
        (["predict", "no/such/run", "4"], ["does not exist"]),
        (["export", "no/such/run", "--format", "onnx"], ["does not exist"]),
        (["trian"], ["unknown command 'trian'", "did you mean 'train'"]),
        (["train", "linear-regression", "--max_epochs", "3"], ["unknown option --max_epochs", "'--max-epochs'"]),
        (["train", "linear-regression", "--max-epoch", "3"], ["unknown option --max-epoch", "'--max-epochs'"]),
        (["train", "linear-regression", "--data"], ["option --data needs a value"]),
        (["train", "linear-regression", "trainer.precision=banana"], ["Lightning rejected the trainer settings",
                                                                       "Precision 'banana' is invalid"]),
        (["train", "linear-regression", "trainer.devices=abc"], ["Lightning rejected the trainer settings"]),
        (["train", "linear-regression", "trainer.max_epochs=abc"], ["trainer.max_epochs expects a whole number"]),
        (["train", "linear-regression", "--max-epochs", "-5"], ["trainer.max_epochs must be a whole number in [1, inf), or -1"]),
        (["train", "linear-regression", "optim.lr=-1"], ["optim.lr must be a number in (0, inf), not -1"]),
        (["train", "linear-regression", "data.batch_size=0"], ["data.batch_size must be a whole number in [1, inf), or null, not 0"]),
        (["train", "linear-regression", "seed=-1"], ["seed must be a whole number in [0, 4294967295], not -1"]),
        (["train", "linear-regression", "early_stopping.patience=2.5"], ["early_stopping.patience expects a whole number"]),
        (["train", "linear-regression", "data.path=[a]"], ["data.path expects a path"]),
        (["train", "linear-regression", "data.val_fraction=1.5"], ["data.val_fraction must be a number in (0, 1), not 1.5"]),
        (["train", "linear-regression/mlp", "model.dropout=2"], ["model.dropout must be a number in [0, 1), not 2"]),
        # Every task's and model's keys are declared: checked before anything runs, --print-config included.
        (["train", "classification", "data.val_fraction=7", "--print-config"], ["data.val_fraction must be a number in (0, 1), not 7"]),
        (["train", "classification", "data.image_size=abc", "--print-config"], ["data.image_size expects a whole number in [1, inf), or null, got 'abc'"]),
        (["train", "classification", "data.augment=bogus", "--print-config"], ["data.augment: unknown value 'bogus'", "none, light, standard"]),
        (["train", "gan", "optim.scheduler=plateau", "--print-config"], ["optim.scheduler: unknown value 'plateau'", "none, step, cosine"]),
        (["train", "gan", "metrics.features=inceptoin", "--print-config"], ["'inceptoin' is neither auto, inception, none nor an existing path", "'inception'"]),
        (["train", "detection/yolo", "model.widths=[8,16]", "--print-config"], ["model.widths expects a list of 5 whole numbers in [2, inf)"]),
        (["train", "sentiment", "model.tokenizer_kind=sentencepiece", "--print-config"], ["model.tokenizer_kind: unknown value", "wordpiece, bpe"]),
        (["train", "translation", "model.vocab_size=3", "--print-config"], ["model.vocab_size must be a whole number in [8, inf), not 3"]),
        (["train", "classification/cnn", "model.pretrained=true", "--print-config"], ["model.pretrained is not a setting of classification/cnn",
                                                                                     "classification/resnet18 and 7 other models take it"]),
        (["train", "gan/dcgan", "model.base=mlp-gan", "--print-config"], ["model.base names the gan model your own model.source network stands in for", "set model.source"]),
        (["train", "linear-regression", "model.hidden=8"], ["model.hidden is not a setting of linear-regression/linear", "linear-regression/mlp takes it"]),
        (["train", "linear-regression", "model.hiden=8"], ["unknown key 'model.hiden'", "known keys: base, bias, name, source"]),
        (["train", "linear-regression", "trainer.max_epochs=-1", "trainer.max_time=00:00:00:02",
          "optim.scheduler=cosine"], ["optim.scheduler=cosine needs a known number of steps"]),
    ],
)
def test_usage_mistakes(zoo_cli, tmp_path, monkeypatch, args, fragments):
    monkeypatch.chdir(tmp_path)
    assert_user_error(zoo_cli(*args), *fragments)
    assert not (tmp_path / "runs").exists() or not finished_runs(tmp_path / "runs")


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ("a,b,y\n1,2,3\n4,5,6\n", ["has no target column 'price'", "its columns are: a, b, y"]),
        ("", ["is empty"]),
        ("price\n", ["has a header but no data rows"]),
        ("a,price\n1,2\n3,oops\n", [":3: column 'price' holds 'oops', not a number"]),
        ("a,price\n1,2\n,4\n", [":3: column 'a' is empty"]),
        ("a,price\n1,2\n3,4,5\n", [":3: 3 cells, but the header has 2 columns"]),
        ("a,price\n1,nan\n2,3\n", [":2: column 'price' holds 'nan'"]),
        ("a,price\n1,2\n", ["has 1 row of data", "at least 2 rows"]),
        (",price\n1,2\n2,3\n", [":1: column 1 of the header has no name"]),
        ("a,price\n1_000,2\n2,3\n", [":2: column 'a' holds '1_000', not a number"]),
        ('a,price\n"1,2\n3,4\n', [":2: 1 cell,", "an unclosed quote?"]),
        ("a,a,price\n1,2,3\n", ["repeats column 'a'"]),
    ],
    ids=["no-target-column", "empty", "header-only", "non-numeric", "empty-cell", "ragged", "nan", "one-row",
         "unnamed-column", "underscore-number", "unclosed-quote", "duplicate-header"],
)
def test_bad_csv(zoo_cli, tmp_path, content, fragments):
    data = tmp_path / "data.csv"
    data.write_text(content, encoding="utf-8")
    result = zoo_cli("train", "linear-regression", "--data", data, "--target", "price", "--output", tmp_path / "runs")
    assert_user_error(result, str(data) if content else "", *fragments)
    assert not (tmp_path / "runs").exists()


def test_non_utf8_csv(zoo_cli, tmp_path):
    data = tmp_path / "latin1.csv"
    data.write_bytes("a,price\n1,2\n\xe9,3\n".encode("latin-1"))
    assert_user_error(zoo_cli("train", "linear-regression", "--data", data), f"{data}:3: bytes that are not UTF-8 text")


def test_nan_loss_stops_with_clear_message_and_no_finished_run(zoo_cli, tmp_path):
    data = write_csv(tmp_path / "big.csv", "x,y", [(i, i * 1e3) for i in range(20)])
    result = zoo_cli("train", "linear-regression", "--data", data, "--output", tmp_path / "runs", "optim.lr=100",
                     "data.batch_size=4")
    assert_user_error(result, "the training loss became", "lower optim.lr (now 100.0)")
    assert not finished_runs(tmp_path / "runs")


def test_debug_shows_the_traceback(zoo_cli, tmp_path):
    result = zoo_cli("--debug", "train", "linear-regression", "--data", tmp_path / "none.csv")
    assert result.code == 2
    assert "Traceback" in result.err and "zoo: error:" in result.err


def test_predict_input_that_is_not_a_number(zoo_cli, trained_run: Path):
    assert_user_error(zoo_cli("predict", trained_run, "four"), "'four' is neither numbers nor a file")
    assert_user_error(zoo_cli("predict", trained_run, "1,2"), "each input needs 1 number (x); got 2 numbers")


def test_unfinished_run_says_how_to_resume(zoo_cli, tmp_path):
    run = tmp_path / "runs" / "linear-regression" / "linear" / "t"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("task: linear-regression\n")
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "last.ckpt").write_bytes(b"")
    assert_user_error(zoo_cli("predict", run, "4"), "did not finish", "zoo train --resume")


def test_unknown_export_format(zoo_cli, trained_run: Path):
    assert_user_error(zoo_cli("export", trained_run, "--format", "onx"), "unknown export format 'onx'", "'onnx'")


def test_resume_refuses_a_checkpoint_that_needs_unpickling(zoo_cli, tmp_path):
    import argparse

    import torch

    first = zoo_cli("train", "linear-regression", "--output", tmp_path, "--max-epochs", "1", "--json")
    run = Path(first.out.split('"path": "')[1].split('"')[0])
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    checkpoint["payload"] = argparse.Namespace(anything="not a tensor")  # an arbitrary pickled object
    torch.save(checkpoint, run / "checkpoints" / "last.ckpt")
    assert_user_error(zoo_cli("train", "--resume", run, "--max-epochs", "2"), "which zoo does not unpickle", "need no code to read")


def test_output_that_is_a_file(zoo_cli, tmp_path):
    (tmp_path / "runs").write_text("not a folder")
    assert_user_error(zoo_cli("train", "linear-regression", "--output", tmp_path / "runs"), "runs")


@pytest.fixture
def short_run(zoo_cli, tmp_path, points_csv) -> Path:
    result = zoo_cli("train", "linear-regression", "--data", points_csv, "--output", tmp_path / "runs",
                     "--max-epochs", "3", "--json")
    return Path(result.out.split('"path": "')[1].split('"')[0])


def folder_state(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (["--max-epochs", "3"], ["has trained 3 epochs already", "--max-epochs above 3"]),
        (["--max-epochs", "5", "--output", "elsewhere"], ["--resume continues in the run's own folder", "--output"]),
        (["--max-epochs", "5", "--data", "WIDE"], ["does not fit the model this config builds"]),
    ],
    ids=["no-epochs-left", "other-output", "other-data-shape"],
)
def test_failed_resume_leaves_the_run_untouched(zoo_cli, short_run: Path, tmp_path, extra, fragments):
    wide = write_csv(tmp_path / "wide.csv", "a,b,c,y", [(i, i % 3, i % 5, i) for i in range(20)])
    extra = [str(wide) if e == "WIDE" else e for e in extra]
    before = folder_state(short_run)
    assert_user_error(zoo_cli("train", "--resume", short_run, *extra), *fragments)
    assert folder_state(short_run) == before


def test_predict_negative_and_non_finite_numbers(zoo_cli, trained_run: Path):
    result = zoo_cli("predict", trained_run, "-1", "-1.5e0", "--json")
    assert result.code == 0, result.err
    assert [round(p["y"], 2) for p in json.loads(result.out)["predictions"]] == [-2.0, -3.0]
    assert_user_error(zoo_cli("predict", trained_run, "nan"), "must be finite numbers")


def test_semicolon_separated_file_is_read(zoo_cli, tmp_path):
    data = tmp_path / "semi.csv"
    data.write_text("a;y\n" + "".join(f"{i};{2 * i + 1}\n" for i in range(12)))
    result = zoo_cli("train", "linear-regression", "--data", data, "--output", tmp_path / "runs", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["summary"]["weight"] == pytest.approx(2, abs=0.01)


def test_invalid_yaml_config_names_line_and_column(zoo_cli, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("task: linear-regression\noptim:\n  lr: [0.1\n")
    assert_user_error(zoo_cli("train", "--config", config), f"{config}:4:1: invalid YAML")


def test_config_for_another_task_or_with_unknown_key(zoo_cli, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("task: linear-regression\noptim:\n  learning_rate: 0.1\n")
    assert_user_error(zoo_cli("train", "--config", config), "unknown key 'optim.learning_rate'")
    config.write_text("[1, 2]\n")
    assert_user_error(zoo_cli("train", "linear-regression", "--config", config), "a config must be a mapping")


def test_counts_name_their_noun_in_the_right_number():
    from zoo.errors import counted

    assert [counted(1, "validation image"), counted(2, "box"), counted(1, "class"), counted(12_000, "class")] == [
        "1 validation image", "2 boxes", "1 class", "12,000 classes"]


def test_a_folder_of_runs_is_answered_with_its_latest_run(zoo_cli, trained_run):
    assert_user_error(zoo_cli("predict", trained_run.parent, "4"), f"{trained_run.parent} is a folder of runs (1 finished run), not a run",
                      f"pass one of them, such as the latest: {trained_run}")


def test_a_gpu_asked_for_where_there_is_none_says_what_to_do(zoo_cli):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert_user_error(zoo_cli("train", "linear-regression", "trainer.accelerator=gpu"), "Lightning rejected the trainer settings",
                      "trainer.accelerator=auto uses a GPU when there is one")
