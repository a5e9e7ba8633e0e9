"""Plain-text output is for people: aligned columns, counts as integers, pictures in the run."""

from __future__ import annotations

from pathlib import Path

import zoo_cli as cli


def test_prediction_records_are_aligned_with_lists_on_lines_of_their_own():
    records = [
        {"input": "a.png", "label": "ring", "probability": 0.97881, "top_k": [{"label": "ring", "probability": 0.97881}, {"label": "cross", "probability": 0.0212}]},
        {"input": "longer-name.png", "label": "cross", "probability": 0.5, "top_k": [{"label": "cross", "probability": 0.5}]},
    ]
    assert cli.records_text(records).splitlines() == [
        "input=a.png            label=ring   probability=0.9788",
        "  top_k: ring 0.9788, cross 0.0212",
        "input=longer-name.png  label=cross  probability=0.5000",
        "  top_k: cross 0.5000",
    ]
    assert cli.records_text([{"x": 1.0, "y": 2.0}, {"x": 10.0, "y": 20.5}]).splitlines() == ["x=1.0000   y=2.0000", "x=10.0000  y=20.5000"]


def test_whole_metrics_are_counts_and_print_as_integers():
    shown = cli.headline({"modes": 7.0, "hq": 0.8125, "balanced_hq": 0.0, "precision/cat": 0.5})
    assert cli._human(shown) == "modes=7  hq=0.8125  balanced_hq=0"


def test_gan_samples_go_in_the_run_folder_not_the_working_folder(zoo_cli, tmp_path, monkeypatch):
    trained = zoo_cli("train", "gan/mlp-gan", "--output", tmp_path / "runs", "--max-epochs", "1", "trainer.limit_train_batches=2",
                      "data.toy_points=512")
    assert trained.code == 0, trained.err
    run = next((tmp_path / "runs").glob("gan/mlp-gan/*"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert "modes=" in trained.out and ".0000" not in trained.out.split("modes=")[1].split()[0]
    result = zoo_cli("predict", run / "model", "--num", "3")
    assert result.code == 0, result.err
    assert (run / "samples" / "samples.png").is_file() and not list(work.iterdir())
    assert zoo_cli("predict", run, "--num", "3", "--output", "mine").code == 0
    assert (work / "mine" / "samples.png").is_file()


def test_a_text_models_vocabulary_is_named_with_its_unit(zoo_cli, tmp_path: Path):
    result = zoo_cli("train", "sentiment", "--output", tmp_path, "--max-epochs", "1", "trainer.limit_train_batches=2")
    assert result.code == 0, result.err
    assert "  vocabulary: " in result.out and " tokens\n" in result.out.split("  vocabulary: ")[1]
    assert "  tokens:" not in result.out
