"""Sentiment: the demo end to end, every data format, the three models, pretrained models and
tokenizers, prediction from the command line and from Python."""

from __future__ import annotations

import copy
import csv
import json
import shutil
from pathlib import Path

import pytest
import torch

import zoo
from tests.texts import glue_folder, reviews, write_table

TINY = {
    "textcnn": ["model.embedding_dim=16", "model.maps=8"],
    "bilstm": ["model.embedding_dim=16", "model.hidden_size=16"],
    "transformer": ["model.hidden_size=32", "model.layers=1", "model.heads=2", "model.intermediate_size=64"],
}


def train(zoo_cli, tmp_path: Path, *args: str):
    result = zoo_cli("train", *args, "--output", tmp_path / "runs", "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_demo_trains_in_seconds_and_predicts(zoo_cli, tmp_path):
    run = train(zoo_cli, tmp_path, "sentiment")
    assert run["metrics"]["val"]["acc"] >= 0.9
    assert {"f1", "precision/positive", "recall/negative"} <= set(run["metrics"]["val"])
    folder = Path(run["path"])
    with open(folder / "logs" / "metrics.csv", newline="") as file:
        epochs = [(float(r["val/acc"]), float(r["val/loss"])) for r in csv.DictReader(file) if r.get("val/acc")]
    best = max(acc for acc, _ in epochs)
    later_of_ties = [loss for acc, loss in epochs if acc == best][-1]
    assert run["metrics"]["val"]["loss"] == pytest.approx(later_of_ties)  # a tie keeps the later epoch
    assert (folder / "model" / "tokenizer.json").is_file()
    assert json.loads((folder / "model" / "config.json").read_text())["info"]["tokenizer"] == {"file": "tokenizer.json"}
    assert (folder / "plots" / "confusion_matrix.png").is_file()

    (tmp_path / "lines.txt").write_text("what a wonderful movie\n\nthe script is dull\n", encoding="utf-8")
    result = zoo_cli("predict", folder, "a superb film", "--file", tmp_path / "lines.txt", "--json")
    assert result.code == 0, result.err
    records = json.loads(result.out)["predictions"]
    assert [r["input"] for r in records] == ["a superb film", "what a wonderful movie", "the script is dull"]
    assert [r["label"] for r in records] == ["positive", "positive", "negative"]
    assert all(r["score"] == max(r["scores"].values()) and abs(sum(r["scores"].values()) - 1) < 1e-4 for r in records)

    text = zoo_cli("predict", folder, "a superb film")
    assert text.code == 0 and text.out.startswith("positive 0.") and text.out.rstrip().endswith("a superb film")

    model = zoo.load(folder)
    from_python = model.predict(["a superb film", "what a wonderful movie", "the script is dull"])
    assert [r["label"] for r in from_python] == [r["label"] for r in records]
    assert model.predict("a superb film")[0]["score"] == pytest.approx(records[0]["score"], abs=1e-6)

    evaluated = zoo_cli("evaluate", folder, "--data", write_table(tmp_path / "eval.csv", reviews(1)), "--json")
    assert evaluated.code == 0, evaluated.err
    assert json.loads(evaluated.out)["rows"] == 10
    own = zoo_cli("evaluate", folder, "--json")  # the run's validation texts, with the saved tokenizer
    assert own.code == 0, own.err
    assert json.loads(own.out)["metrics"]["acc"] == pytest.approx(run["metrics"]["val"]["acc"])


@pytest.mark.parametrize("name", ["bilstm", "transformer"])
def test_other_models_train(zoo_cli, tmp_path, name):
    run = train(zoo_cli, tmp_path, f"sentiment/{name}", "--max-epochs", "2", *TINY[name])
    assert 0 <= run["metrics"]["val"]["acc"] <= 1
    assert zoo.load(run["path"]).predict(["a gripping film"])[0]["label"] in ("positive", "negative")


@pytest.mark.parametrize("name", ["textcnn", "bilstm", "transformer"])
def test_padding_never_changes_a_prediction(name):
    """A text scores the same alone and beside a longer one: padding is masked (textcnn,
    transformer) or never computed (bilstm's packed sequences)."""
    hparams = {key.removeprefix("model."): int(value) for key, value in (o.split("=") for o in TINY[name])}
    module = zoo.create(f"sentiment/{name}", **hparams).eval()
    ids = torch.tensor([[2, 10, 11, 12, 3, 0, 0, 0, 0], [2, 10, 11, 12, 13, 14, 15, 16, 3]])
    with torch.no_grad():
        batched = module(ids, torch.tensor([5, 9]))
        alone = module(ids[:1, :5], torch.tensor([5]))
    assert torch.allclose(batched[0], alone[0], atol=1e-5)


def test_textcnn_reads_its_token_table_as_it_would_convolve(monkeypatch):
    """Without gradients textcnn sums rows of a token table instead of convolving: the same
    logits, the table made again after the weights change, and convolutions past its size cap."""
    from zoo_tasks.sentiment.models import TextCNN

    torch.manual_seed(0)
    net = TextCNN(50, 3, 0, embedding_dim=16, widths=[2, 3, 5], maps=8, dropout=0.5).eval()
    lengths = torch.tensor([1, 4, 9, 6])
    ids = torch.randint(1, 50, (4, 9)) * (torch.arange(9) < lengths[:, None])

    def both() -> tuple[torch.Tensor, torch.Tensor]:
        with torch.enable_grad():
            convolved = net(ids, lengths).detach()
        with torch.inference_mode():
            return convolved, net(ids, lengths)

    convolved, read = both()
    assert net._table._made is not None and torch.allclose(read, convolved, atol=1e-5)
    with torch.no_grad():
        net.convolutions[1].weight.mul_(-2)
        net.embedding.weight[7] += 1
    convolved_again, read_again = both()
    assert not torch.allclose(convolved_again, convolved, atol=1e-3) and torch.allclose(read_again, convolved_again, atol=1e-5)
    net.eval()  # a switch of mode clears it; made again under autocast, it is still float32
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        net(ids, lengths)
    assert net._table._made[1].dtype == torch.float32 and copy.deepcopy(net)._table._made is None
    monkeypatch.setattr(TextCNN, "TABLE_BYTES", 1000)
    assert net._token_table() is None and torch.allclose(both()[1], convolved_again, atol=1e-5)


@pytest.mark.parametrize("file", ["data.csv", "data.tsv", "data.jsonl", "data.csv.gz", "data.parquet"])
def test_table_formats(zoo_cli, tmp_path, file):
    data = write_table(tmp_path / file, reviews(), text="review", label="sentiment")
    run = train(zoo_cli, tmp_path, "sentiment", "--data", data, "--max-epochs", "1", *TINY["textcnn"])
    assert run["summary"]["classes"] == "negative, positive"


def test_glue_sst2_layout_as_it_is(zoo_cli, tmp_path):
    """train.tsv.gz + dev.tsv validate on dev; GLUE's unlabelled test.tsv is left out, said so."""
    folder = glue_folder(tmp_path / "SST-2")
    run = train(zoo_cli, tmp_path, "sentiment", "--data", folder, "--max-epochs", "1", *TINY["textcnn"])
    assert run["summary"]["classes"] == "0, 1"
    assert any("40 training texts, 8 validation texts" in n for n in run["notes"])
    assert any("test.tsv has no labels" in n for n in run["notes"])
    assert "test" not in run["metrics"]


def test_datasets_folder_with_class_labels_and_three_classes(zoo_cli, tmp_path):
    import datasets

    rows = reviews() + [("it was a film", "neutral"), ("a movie about a family", "neutral")] * 4
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["negative", "neutral", "positive"])})
    columns = {"text": [t for t, _ in rows], "label": [y for _, y in rows]}
    split = datasets.Dataset.from_dict(columns, features=features)
    datasets.DatasetDict({"train": split, "validation": split.select(range(12)), "test": split.select(range(6))}).save_to_disk(tmp_path / "ds")
    run = train(zoo_cli, tmp_path, "sentiment", "--data", tmp_path / "ds", "--max-epochs", "1", *TINY["textcnn"])
    assert run["summary"]["classes"] == "negative, neutral, positive"
    assert run["metrics"]["test"]["acc"] >= 0


def test_bpe_tokenizer_and_a_tokenizer_from_another_run(zoo_cli, tmp_path):
    first = train(zoo_cli, tmp_path, "sentiment", "--max-epochs", "1", "model.tokenizer_kind=bpe", "model.vocab_size=300", *TINY["textcnn"])
    assert any("a bpe tokenizer of" in n for n in first["notes"])
    second = train(zoo_cli, tmp_path, "sentiment/bilstm", "--max-epochs", "1", f"model.tokenizer={first['path']}", *TINY["bilstm"])
    shared = [(Path(run["path"]) / "model" / "tokenizer.json").read_text() for run in (first, second)]
    assert json.loads(shared[0])["model"] == json.loads(shared[1])["model"]


@pytest.fixture
def tiny_pretrained(tmp_path) -> Path:
    """A tiny BERT classifier with its tokenizer, saved as the hub would give it (3 labels)."""
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    from zoo.text import add_cls_sep, train_tokenizer

    folder = tmp_path / "tiny-bert"
    tokenizer = add_cls_sep(train_tokenizer([t for t, _ in reviews()], vocab_size=150))
    special = {"pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]", "mask_token": "[MASK]"}
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, **special).save_pretrained(folder)
    config = BertConfig(vocab_size=tokenizer.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, max_position_embeddings=64, num_labels=3)
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder


def test_pretrained_model_fine_tunes_with_its_own_tokenizer_and_loads_without_it(zoo_cli, tmp_path, tiny_pretrained):
    run = train(zoo_cli, tmp_path, "sentiment/transformer", "--max-epochs", "2", f"model.pretrained={tiny_pretrained}", "optim.lr=5e-5")
    assert run["summary"]["pretrained"] == str(tiny_pretrained)
    assert not any("is high for fine-tuning" in n for n in run["notes"])
    module = zoo.load(run["path"])
    [before] = module.predict(["a gripping film"])
    shutil.rmtree(tiny_pretrained)  # the saved run stands alone
    [after] = zoo.load(run["path"]).predict(["a gripping film"])
    assert after == before
    assert set(after["scores"]) == {"negative", "positive"}


def test_a_high_learning_rate_for_fine_tuning_is_pointed_out(zoo_cli, tmp_path, tiny_pretrained):
    run = train(zoo_cli, tmp_path, "sentiment/transformer", "--max-epochs", "1", f"model.pretrained={tiny_pretrained}")
    assert any("is high for fine-tuning" in n for n in run["notes"])


def test_resume_keeps_the_runs_tokenizer(zoo_cli, tmp_path):
    """A resumed run reuses its own tokenizer (another `tokenizers` version may learn another)."""
    first = train(zoo_cli, tmp_path, "sentiment", "--max-epochs", "1", *TINY["textcnn"])
    folder = Path(first["path"])
    saved = (folder / "model" / "tokenizer.json").read_text()
    resumed = zoo_cli("train", "--resume", folder, "--max-epochs", "2", "--json")
    assert resumed.code == 0, resumed.err
    assert json.loads(resumed.out)["epochs"] == 2
    assert (folder / "model" / "tokenizer.json").read_text() == saved


def test_other_devices_processes_rebuild_the_data_with_rank_zeros_tokenizer(zoo_cli, tmp_path, monkeypatch):
    """A process Lightning launches for another device runs the same command again; it finds
    the run folder in the environment and reuses the tokenizer rank 0 trained (data_info.json)."""
    from zoo import training
    from zoo.data import reusing
    from zoo.run import RUN_DIR_ENV

    run = train(zoo_cli, tmp_path, "sentiment", "--max-epochs", "1", *TINY["textcnn"])
    folder = Path(run["path"])
    monkeypatch.setenv(RUN_DIR_ENV, str(folder))
    first = training._rank_zero_data_info()
    assert first["tokenizer"] == (folder / "model" / "tokenizer.json").read_text()
    _, config = training.resolve_config(config=folder / "config.yaml")
    from zoo_tasks.sentiment.data import build_data

    with reusing(first):
        assert build_data(config).info["tokenizer"] == first["tokenizer"]
