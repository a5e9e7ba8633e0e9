"""Each task's model card is right for it: usage that parses (and, for regression, runs), its
classes, its input recipe, what it was trained on, its limits, hyper-parameters as a table."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

import zoo
import zoo_cli as cli
from tests.test_library_manners import _modules
from zoo.plugins import load_ref


def _card_commands(card: str) -> list[list[str]]:
    """The `zoo ...` commands of the card's bash block, as argument lists (comments dropped)."""
    block = card.split("```bash\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line, comments=True)[1:] for line in block.splitlines() if line.strip()]


@pytest.mark.parametrize("ref", sorted(_modules()))
def test_every_modules_card_commands_parse_with_the_real_command_line(ref):
    module = load_ref(ref)
    assert "INPUT" not in " ".join(module.usage_shell) and "DATA" not in " ".join(module.usage_shell), ref
    for line in module.usage_shell:
        args = shlex.split(line.format(model="path/to/this/folder"), comments=True)
        assert args[0] == "zoo", line
        argv, flags = cli.split_predict_args(args[1:])
        parsed = cli.build_parser().parse_args(argv)  # a mistake exits
        assert parsed.command in ("predict", "evaluate", "export") and parsed.run == "path/to/this/folder", line
        assert set(flags) <= set(module.predict_options), (ref, flags)
    assert module.usage_python and all("model.predict(" in line for line in module.usage_python), ref
    assert module.limits, f"{ref} says nothing of its limits"


def test_the_regression_card_says_what_it_reads_and_its_commands_run(zoo_cli, trained_run, tmp_path, monkeypatch):
    card = (trained_run / "model" / "README.md").read_text()
    assert "- data: the embedded demo data of `zoo train linear-regression` (3 train, 3 val rows)" in card
    assert '- features: ["x"]' in card and "- target: y" in card
    assert "| `model.bias` | `true` |" in card and "{" not in card.split("## Hyper-parameters")[1].split("##")[0]
    assert "## Limits\n\n- Predictions for feature values outside" in card
    assert "data cache" not in card and "data.num_workers" not in card  # this machine's facts stay in the run's notes
    monkeypatch.chdir(tmp_path)
    Path("rows.csv").write_text("x\n4\n5\n")
    Path("table.csv").write_text("x,y\n4,8\n5,10\n")
    for args in _card_commands(card):
        result = zoo_cli(*[str(trained_run) if a == "path/to/this/folder" else a for a in args])
        assert result.code == 0, (args, result.err)
    assert json.loads(zoo_cli("predict", trained_run, "rows.csv", "--json").out)["predictions"][0]["y"] == pytest.approx(8, abs=1e-3)


@pytest.fixture(scope="module")
def shapes_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The classification demo, one epoch."""
    output = tmp_path_factory.mktemp("runs")
    return zoo.train("classification", output=output, max_epochs=1, progress=False, overrides={"data.batch_size": 32}).path


def test_a_classifier_card_lists_its_classes_and_input_recipe(shapes_run):
    card = (shapes_run / "model" / "README.md").read_text()
    classes = zoo.load(shapes_run).classes
    assert "## Classes\n\n" + "\n".join(f"{i}. {name}" for i, name in enumerate(classes)) in card
    recipe = card.split("## Input and output")[1].split("##")[0]
    for fact in ("- channel_order: RGB", "- image_size: [", "- mean: [", "- std: [", "- normalization: (x - mean) / std"):
        assert fact in recipe
    assert "It always answers with one of its classes" in card
    assert "| `model.channels` | `[32, 64, 128]` |" in card


def test_a_card_without_metrics_says_so():
    from zoo.artifact import model_card

    config = {"task": "gan", "model": {"name": "dcgan", "source": None}, "data": {"path": "faces"}, "optim": {"name": "adam", "lr": 0.1, "scheduler": "none"}, "seed": 0}
    card = model_card(config, {"val": {}}, 1, ["no FID or KID"], ("zoo evaluate {model}",), ("model.predict(num=4)",))
    assert "## Metrics\n\nnone were computed" in card and "- data: `faces`" in card
    assert "## Classes" not in card and "## Limits" not in card  # sections without content are left out



def test_the_translation_card_names_no_language_pair():
    from zoo.artifact import model_card
    from zoo_tasks.translation.module import TranslationModule

    config = {"task": "translation", "model": {"name": "gru-attention", "source": None}, "data": {"path": "train.fr,train.en"}, "optim": {"name": "adam", "lr": 0.1, "scheduler": "none"}, "seed": 0}
    card = model_card(config, {}, 1, [], TranslationModule.usage_shell, TranslationModule.usage_python)
    use = card.split("## Use")[1]
    assert "Fahrrad" not in use and ".de" not in use and "model.predict(sources, beam=4)" in use
