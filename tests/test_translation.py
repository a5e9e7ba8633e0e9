"""Translation: the demo learns, predicts and evaluates; parallel files; bad parallel data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import zoo
from tests.test_errors import assert_user_error
from tests.test_seq2seq_data import ENGLISH, GERMAN, write_lines

SMALL = ["model.dim=64", "model.ff_dim=128", "model.layers=1", "model.heads=2", "optim.lr=3e-3", "data.batch_size=16"]


def train(zoo_cli, tmp_path: Path, *args: str) -> dict:
    result = zoo_cli("train", "translation", *args, "--output", tmp_path / "runs", "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_the_demo_learns_to_translate_and_predicts(zoo_cli, tmp_path):
    run = train(zoo_cli, tmp_path, "--max-epochs", "12", *SMALL)
    assert run["metrics"]["val"]["bleu"] >= 90 and run["metrics"]["val"]["chrf"] >= 90
    folder = Path(run["path"])
    assert {"source_tokenizer.json", "target_tokenizer.json"} <= {p.name for p in (folder / "model").iterdir()}
    assert "| Fünf Hunde spielen im Park. | Five dogs play in the park. |" in (folder / "plots" / "samples.md").read_text()
    result = zoo_cli("predict", folder, "Drei Katzen schlafen im Schnee.", "--beam", "2", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["predictions"] == [{"input": "Drei Katzen schlafen im Schnee.", "output": "Three cats sleep in the snow."}]
    model = zoo.load(folder)
    assert model.predict(["Zwei Vögel essen am Strand.", "Viele Frauen warten im Park."], beam=1) == [
        {"output": "Two birds eat on the beach."}, {"output": "Many women wait in the park."}]
    evaluated = zoo.evaluate(folder)
    assert evaluated["metrics"]["bleu"] >= 90  # with the saved tokenizers, beam search
    assert_user_error(zoo_cli("predict", folder, "Ein Satz.", "--beam", "zwei"), "--beam must be a whole number")


def test_parallel_files_train_the_gru_attention_model(zoo_cli, tmp_path, monkeypatch):
    source, target = write_lines(tmp_path / "train.de", GERMAN * 10), write_lines(tmp_path / "train.en", ENGLISH * 10)
    monkeypatch.chdir(tmp_path)  # relative file names, kept absolute in the run's config
    result = zoo_cli("train", "translation/gru-attention", "--data", "train.de,train.en", "--max-epochs", "1",
                     "model.embedding_dim=16", "model.hidden_size=16", "--output", tmp_path / "runs", "--json")
    assert result.code == 0, result.err
    run = json.loads(result.out)
    saved = (Path(run["path"]) / "config.yaml").read_text()
    assert f"path: {source},{target}" in saved
    assert {"bleu", "chrf", "loss"} <= set(run["metrics"]["val"])
    assert any("10 pair(s) with an empty side skipped" in n for n in run["notes"])


@pytest.mark.parametrize(
    ("german", "english", "fragment"),
    [(GERMAN, ENGLISH[:3], "has 4 lines but"), ([""] * 4, [""] * 4, "has no pairs")],
)
def test_bad_parallel_data(zoo_cli, tmp_path, german, english, fragment):
    source, target = write_lines(tmp_path / "a.de", german), write_lines(tmp_path / "a.en", english)
    assert_user_error(zoo_cli("train", "translation", "--data", f"{source},{target}", "--output", tmp_path / "runs"), fragment)
    assert not (tmp_path / "runs").exists()
