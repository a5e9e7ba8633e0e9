"""Sentiment: what a user gets wrong, each answered with one line and exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import finished_runs
from tests.test_errors import assert_user_error
from tests.texts import reviews, write_table

FAST = ["--max-epochs", "1", "model.embedding_dim=8", "model.maps=4"]


def train(zoo_cli, tmp_path: Path, data: Path, *extra: str):
    return zoo_cli("train", "sentiment", "--data", data, "--output", tmp_path / "runs", *FAST, *extra)


def test_missing_text_column_lists_the_columns(zoo_cli, tmp_path):
    data = write_table(tmp_path / "data.csv", reviews(), text="body", label="label")
    assert_user_error(train(zoo_cli, tmp_path, data), "has no text column", "its columns are body, label", "data.text_column")
    assert_user_error(train(zoo_cli, tmp_path, data, "data.text_column=bdy"), "no text column 'bdy'", "did you mean 'body'")
    assert not finished_runs(tmp_path / "runs")


def test_empty_and_whitespace_texts_are_skipped_and_counted(zoo_cli, tmp_path):
    data = write_table(tmp_path / "data.csv", [("", "positive"), ("   ", "negative"), *reviews()])
    result = train(zoo_cli, tmp_path, data, "--json")
    assert result.code == 0, result.err
    assert any(f"2 row(s) with empty or whitespace-only text skipped (the first: {data}:2)" in n for n in json.loads(result.out)["notes"])


def test_a_table_of_only_empty_texts(zoo_cli, tmp_path):
    data = write_table(tmp_path / "data.csv", [(" ", "positive"), ("", "negative")])
    assert_user_error(train(zoo_cli, tmp_path, data), f"{data} has no texts")


def test_bytes_that_are_not_utf8_are_named_with_file_and_line(zoo_cli, tmp_path):
    data = tmp_path / "data.tsv"
    data.write_bytes(b"text\tlabel\na fine film\tpositive\nna\xefve and dull\tnegative\n")
    assert_user_error(train(zoo_cli, tmp_path, data), f"{data}:3: bytes that are not UTF-8", "save the file as UTF-8")


def test_a_label_seen_only_in_validation(zoo_cli, tmp_path):
    train_file = write_table(tmp_path / "train.csv", reviews())
    write_table(tmp_path / "validation.csv", [("so-so", "neutral"), *reviews(1)])
    assert_user_error(train(zoo_cli, tmp_path, tmp_path), f"{tmp_path / 'validation.csv'}:2: label 'neutral' does not occur in the training data", "negative, positive")
    assert train_file.is_file()


@pytest.mark.parametrize(
    ("file", "label", "line"),
    [("data.csv", "", 2), ("data.csv", "NaN", 2), ("data.jsonl", float("nan"), 1), ("data.jsonl", None, 1)],
)
def test_a_missing_or_nan_label_is_named(zoo_cli, tmp_path, file, label, line):
    data = write_table(tmp_path / file, [("a gripping film", label), *reviews()])
    assert_user_error(train(zoo_cli, tmp_path, data), f"{data}:{line}: the 'label' cell is empty or NaN", "label the row or remove it")


def test_one_class_is_not_enough(zoo_cli, tmp_path):
    data = write_table(tmp_path / "data.csv", [(t, "positive") for t, _ in reviews()])
    assert_user_error(train(zoo_cli, tmp_path, data), "has only one label ('positive')", "at least two classes")


def test_a_folder_without_a_train_file(zoo_cli, tmp_path):
    write_table(tmp_path / "reviews.csv", reviews())
    assert_user_error(train(zoo_cli, tmp_path, tmp_path), "has no train file (it has reviews.csv)", "train.csv")


def test_a_pretrained_model_that_is_not_there(zoo_cli, tmp_path):
    result = zoo_cli("train", "sentiment/transformer", "model.pretrained=./no-such-model", "--output", tmp_path / "runs")
    assert_user_error(result, "no-such-model does not exist")
    assert_user_error(zoo_cli("train", "sentiment", "model.pretrained=bert-base-uncased"), "model.pretrained is not a setting of sentiment/textcnn", "zoo train sentiment/transformer")
    result = zoo_cli("train", "sentiment/transformer", "model.pretrained=bert-base-uncased", "--output", tmp_path / "runs")  # offline: the Hub is out of reach
    assert_user_error(result, "model.pretrained 'bert-base-uncased' cannot be loaded: ", "without a connection, download it where there is one")
    assert ".;" not in result.err


def test_predict_mistakes(zoo_cli, tmp_path):
    import zoo

    run = zoo.train("sentiment", output=tmp_path / "runs", max_epochs=1, progress=False).path
    assert_user_error(zoo_cli("predict", run), "no texts to predict", "--file")
    assert_user_error(zoo_cli("predict", run, "--file", tmp_path / "missing.txt"), "missing.txt does not exist")
    assert_user_error(zoo_cli("predict", run, "a film", "--top-k", "3"), "unknown option --top-k", "--file")
    assert_user_error(zoo_cli("predict", run, "  "), "text 1 is empty")
    assert_user_error(zoo_cli("export", run, "--format", "onnx"), "exporting sentiment models is not offered yet")
    assert not (run / "export").exists()
    with pytest.raises(zoo.ZooError, match="text 2 is not a string but int"):
        zoo.load(run).predict(["fine", 3])


def test_evaluating_on_data_without_usable_rows(zoo_cli, tmp_path):
    import zoo

    run = zoo.train("sentiment", output=tmp_path / "runs", max_epochs=1, progress=False).path
    empty = write_table(tmp_path / "blank.csv", [("  ", "positive")])
    assert_user_error(zoo_cli("evaluate", run, "--data", empty), "has no labelled rows to evaluate on")


def test_an_unlabelled_test_split_is_left_out_with_a_note(zoo_cli, tmp_path):
    """GLUE's test.tsv has no label column; the hub's test splits have labels -1."""
    import datasets

    (tmp_path / "glue").mkdir()
    write_table(tmp_path / "glue" / "train.tsv", reviews(), text="sentence", label="polarity")
    (tmp_path / "glue" / "test.tsv").write_text("index\tsentence\n0\ta film\n", encoding="utf-8")
    result = train(zoo_cli, tmp_path, tmp_path / "glue", "data.label_column=polarity", "--json")
    assert result.code == 0, result.err
    assert any("test.tsv has no labels: not used for testing" in n for n in json.loads(result.out)["notes"])

    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["negative", "positive"])})
    labelled = datasets.Dataset.from_dict({"text": [t for t, _ in reviews()], "label": [y for _, y in reviews()]}, features=features)
    hidden = datasets.Dataset.from_dict({"text": ["a film", "a story"], "label": [-1, -1]}, features=features)
    datasets.DatasetDict({"train": labelled, "test": hidden}).save_to_disk(tmp_path / "hub")
    result = train(zoo_cli, tmp_path, tmp_path / "hub", "--json")
    assert result.code == 0, result.err
    assert "test" not in json.loads(result.out)["metrics"]


def test_table_mistakes_are_placed(zoo_cli, tmp_path):
    stray = tmp_path / "stray.csv"
    stray.write_text("text,label\na fine film,positive\n\"an unclosed quote,negative\nmore,positive\n", encoding="utf-8")
    assert_user_error(train(zoo_cli, tmp_path, stray), f"{stray}:3: 1 cell,", "read through line 4: an unclosed quote?")
    columns = tmp_path / "pandas.json"
    columns.write_text(json.dumps({"text": {"0": "good", "1": "bad"}, "label": {"0": "positive", "1": "negative"}}), encoding="utf-8")
    assert_user_error(train(zoo_cli, tmp_path, columns), "holds columns of values", "orient='records', lines=True")
    both = tmp_path / "both"
    both.mkdir()
    write_table(both / "train.csv", reviews())
    write_table(both / "train.jsonl", reviews())
    assert_user_error(train(zoo_cli, tmp_path, both), "has 2 train tables: train.csv, train.jsonl")


def test_labels_written_as_floats_match_integers(zoo_cli, tmp_path):
    write_table(tmp_path / "train.jsonl", [(t, 1 if y == "positive" else 0) for t, y in reviews()])
    write_table(tmp_path / "dev.csv", [(t, "1.0" if y == "positive" else "0.0") for t, y in reviews(1)])
    result = train(zoo_cli, tmp_path, tmp_path, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["summary"]["classes"] == "0, 1"
