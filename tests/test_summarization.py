"""Summarization: the lead baseline scores like rouge-score says; the demo learns to summarize
each dialogue; tables of documents and summaries; bad tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import zoo
from tests.test_errors import assert_user_error
from tests.texts import write_table
from zoo.seq2seq.metrics import summary_scores
from zoo_tasks.summarization.lead import Lead

DIALOGUES = [
    ("Ann: The bus is late again.\nBob: Take the train! It leaves at six.\nAnn: Good idea.", "Ann will take the train at six."),
    ("Kim: Lunch at noon? Joe: Sure.\nKim: The usual place.", "Kim and Joe will have lunch at noon."),
    ("Eva: My cat is ill. I am at the vet.\nLiz: Poor thing!", "Eva's cat is ill and she is at the vet."),
    ("Tom: Did you finish the report?\nSam: Almost. Tonight.\nTom: Thanks.\nSam: No problem.", "Sam will finish the report tonight."),
]


def test_lead_takes_the_first_sentences_of_lines_and_sentence_ends():
    assert Lead(2)(["Ann: Hi. How are you?\nBob: Fine!", "One line only"]) == ["Ann: Hi. How are you?", "One line only"]
    assert Lead(3)([DIALOGUES[0][0]]) == ["Ann: The bus is late again. Bob: Take the train! It leaves at six."]


def test_lead_sentences_are_checked_by_the_config_not_the_builder(zoo_cli):
    assert_user_error(zoo_cli("train", "summarization/lead", "model.sentences=0", "--print-config"),
                      "model.sentences must be a whole number in [1, inf), not 0")


def test_lead_is_scored_on_validation_without_training_and_predicts(zoo_cli, tmp_path):
    train = write_table(tmp_path / "train.jsonl", DIALOGUES * 3, text="dialogue", label="summary")
    val = write_table(tmp_path / "val.jsonl", DIALOGUES, text="dialogue", label="summary")
    result = zoo_cli("train", "summarization/lead", "--data", train, "data.val_path=" + str(val), "model.sentences=2",
                     "--output", tmp_path / "runs", "--json")
    assert result.code == 0, result.err
    run = json.loads(result.out)
    expected = summary_scores(Lead(2)([d for d, _ in DIALOGUES]), [s for _, s in DIALOGUES])
    assert run["metrics"]["val"] == pytest.approx(expected)
    assert run["epochs"] == 0 and any("no weights to train" in note for note in run["notes"])
    assert not any(note.startswith("batch size") for note in run["notes"]), run["notes"]  # nothing learns from batches here
    folder = Path(run["path"])
    assert "| Ann: The bus is late again. Bob: Take the train! It leaves at six. Ann: Good idea. |" in (folder / "plots" / "samples.md").read_text()
    result = zoo_cli("predict", folder, "A: One. Two.\nB: Three.", "--json")
    assert json.loads(result.out)["predictions"] == [{"input": "A: One. Two.\nB: Three.", "output": "A: One. Two."}]
    assert zoo.evaluate(folder, val)["metrics"] == pytest.approx(expected)


def test_the_demo_learns_to_summarize_what_each_dialogue_says(zoo_cli, tmp_path):
    """The plain task command trains the default pointer-generator, which copies the people from
    the dialogue into its summary (the transformer wrote the most common names whatever the input);
    4 of the demo's 12 epochs do it (ROUGE-1 96 after 3)."""
    result = zoo_cli("train", "summarization", "--output", tmp_path / "runs", "--json", "--max-epochs", "4")
    assert result.code == 0, result.err
    run = json.loads(result.out)
    assert run["model"] == "pointer-generator" and run["metrics"]["val"]["rouge1"] >= 80
    model = zoo.load(run["path"])
    shopping = "Maria: Can you buy lemons on your way home?\nJake: Sure, how many?\nMaria: Four, please."
    meeting = "Lena: Are we still meeting on Friday?\nOmar: Yes! The park at six?\nLena: Perfect, see you there."
    first, second = (record["output"] for record in model.predict([shopping, meeting]))
    assert first.startswith("Jake will buy ") and first.endswith(" for Maria."), first
    assert second.startswith("Lena and Omar will meet at "), second


def test_a_table_without_a_summary_column_is_refused(zoo_cli, tmp_path):
    table = write_table(tmp_path / "chats.csv", DIALOGUES, text="document", label="abstract")
    assert_user_error(zoo_cli("train", "summarization", "--data", table, "--output", tmp_path / "runs"), "data.target_column")
    assert not (tmp_path / "runs").exists()


def test_predict_reads_documents_from_a_table_file(zoo_cli, tmp_path):
    data = write_table(tmp_path / "chats.jsonl", DIALOGUES, text="dialogue", label="summary")
    run = json.loads(zoo_cli("train", "summarization/lead", "--data", data, "model.sentences=1", "--output", tmp_path / "runs", "--json").out)
    result = zoo_cli("predict", run["path"], "--file", data, "--json")
    assert result.code == 0, result.err
    assert [p["output"] for p in json.loads(result.out)["predictions"]] == ["Ann: The bus is late again.", "Kim: Lunch at noon?", "Eva: My cat is ill.", "Tom: Did you finish the report?"]
    assert_user_error(zoo_cli("predict", run["path"], "--file", write_table(tmp_path / "x.csv", DIALOGUES, text="chat", label="summary")), "no document column")
