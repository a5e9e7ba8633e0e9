"""What a new user meets first: help that lists tasks, flags and options; shorthands for the
keys everyone sets; answers to an unknown flag or value by what it means; `zoo info` naming
every key."""

from __future__ import annotations

import json
import re

import pytest
import yaml

import zoo
from tests.conftest import REPO
from tests.test_errors import assert_user_error
from zoo.config import SHORTHANDS, TRAINER_KEYS, settings
from zoo.plugins import load_ref
from zoo.training import resolve_config


def test_train_help_lists_tasks_shorthands_and_task_flags(zoo_cli):
    result = zoo_cli("train", "--help")
    assert result.code == 0
    for task in zoo.list_tasks():
        assert task.name in result.out
    for flag, key in SHORTHANDS.items():
        assert re.search(rf"--{flag} VALUE +sets {re.escape(key)}\n", result.out), flag
    assert "linear-regression  --target (data.target), --features (data.features)" in result.out
    assert "zoo info" in result.out


def test_predict_help_names_every_built_in_predict_option(zoo_cli):
    shown = zoo_cli("predict", "--help").out
    for task in zoo.list_tasks():
        for model in task.models:
            for option in load_ref(task.module_of({"name": model, "source": None, "base": None})).predict_options:
                assert f"--{option} " in shown, (task.name, option)
    for option in ("--beam", "--num", "--seed", "--label", "--score-threshold"):
        assert option in shown


def test_shorthands_set_their_keys_from_the_command_line_and_python(zoo_cli, tmp_path):
    result = zoo_cli("train", "linear-regression", "--print-config", "--json", "--lr", "0.05", "--batch-size", "8",
                     "--epochs", "3", "--devices", "1", "--accelerator", "cpu", "--precision", "bf16-mixed")
    assert result.code == 0, result.err
    config = json.loads(result.out)
    assert config["optim"]["lr"] == 0.05 and config["data"]["batch_size"] == 8
    assert config["trainer"]["max_epochs"] == 3 and config["trainer"]["precision"] == "bf16-mixed"
    assert config["trainer"]["accelerator"] == "cpu" and str(config["trainer"]["devices"]) == "1"
    _, config = resolve_config("linear-regression", lr=0.2, batch_size=4, epochs=5)
    assert (config["optim"]["lr"], config["data"]["batch_size"], config["trainer"]["max_epochs"]) == (0.2, 4, 5)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--gpus", "2"], ["unknown option --gpus", "did you mean --devices (trainer.devices)?"]),
        (["--learning-rate", "0.1"], ["did you mean --lr (optim.lr)?"]),
        (["--num-epochs", "3"], ["did you mean --epochs (trainer.max_epochs)?"]),
        (["--momentum", "0.5"], ["no flag sets optim.momentum: write optim.momentum=VALUE"]),
        (["--num-workers", "2"], ["write data.num_workers=VALUE"]),
        (["--gradient-clip-val", "1"], ["write trainer.gradient_clip_val=VALUE"]),
        (["--wibble", "1"], ["unknown option --wibble", "--lr", "--target", "--max-epochs", "zoo info linear-regression"]),
        (["--lr", "fast"], ["optim.lr expects a number in (0, inf), got 'fast'"]),
        (["--batch-size", "0"], ["data.batch_size must be"]),
        (["optim.scheduler=onecycle"], ["optim.scheduler: unknown value 'onecycle'; choose one of none, step, cosine, plateau"]),
        (["optim.scheduler=cosin"], ["did you mean 'cosine'? (one of none, step, cosine, plateau)"]),
    ],
)
def test_unknown_flags_and_values_are_answered_by_meaning(zoo_cli, args, fragments):
    result = zoo_cli("train", "linear-regression", "--print-config", *args)
    assert_user_error(result, *fragments)
    assert "--target" not in result.err or "--wibble" in args  # no flag that merely looks alike
    assert "'none'" not in result.err


def test_a_misspelt_flag_of_any_command_is_answered_by_its_close_flags(zoo_cli):
    assert_user_error(zoo_cli("serve", "runs/x", "--prot", "9000"), "unrecognized arguments: --prot 9000; did you mean '--port'? (see `zoo serve --help`)")
    assert_user_error(zoo_cli("runs", "--jsn"), "unrecognized arguments: --jsn; did you mean '--json'?")
    result = zoo_cli("serve", "runs/x", "--zzzzzz")
    assert_user_error(result, "unrecognized arguments: --zzzzzz")
    assert "did you mean" not in result.err


def test_python_keywords_that_are_no_flag_are_answered_too():
    with pytest.raises(zoo.ZooError, match=r"unknown option --gpus .*--devices \(trainer.devices\)"):
        resolve_config("linear-regression", gpus=2)


def test_info_of_a_task_names_its_other_models_keys_and_lightnings(zoo_cli):
    shown = zoo_cli("info", "gan").out
    for key in ("hidden", "layers", "pack"):
        assert re.search(rf"^model\.{key}: \d+  # .*\(gan/mlp-gan\)$", shown, re.MULTILINE), key
    assert "precision" in shown and "gradient_clip_val" in shown
    assert "Keys of the other" not in zoo_cli("info", "gan/mlp-gan").out  # a model's own info shows its whole config


@pytest.mark.parametrize("template", sorted(path.parent.name for path in (REPO / "templates").glob("*/config.yaml")))
def test_zoo_info_documents_every_key_of_a_template_config(zoo_cli, template):
    config = yaml.safe_load((REPO / "templates" / template / "config.yaml").read_text(encoding="utf-8"))
    task = zoo.plugins.find_task(config["task"])
    shown = zoo_cli("info", task.name).out
    declared = {key for model in task.models for key in settings(task, model)} | {f"trainer.{key}" for key in TRAINER_KEYS}

    def keys(section: dict, prefix: str = "") -> list[str]:
        return [name for key, value in section.items()
                for name in (keys(value, f"{prefix}{key}.") if isinstance(value, dict) else [f"{prefix}{key}"])]

    for key in keys(config):
        if key.startswith("model.") and key not in declared:
            assert config["model"]["source"], key  # the template's own network takes it, named in `zoo info`'s last line
            continue
        assert key in declared, key
        leaf = key.rpartition(".")[2]
        assert re.search(rf"(^|\s|\.){leaf}(:|,|\.)", shown), key
