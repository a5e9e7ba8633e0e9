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


@pytest.fixture
def tiny_bart(tmp_path) -> Path:
    """A tiny BART with a tokenizer trained on the demo, saved as the hub would give it."""
    from tokenizers import processors
    from transformers import BartConfig, BartForConditionalGeneration, PreTrainedTokenizerFast

    from zoo.text import BOS, EOS, PAD, SPECIAL_TOKENS, UNK, train_tokenizer
    from zoo_tasks.translation.data import demo_pairs

    pairs = demo_pairs()["train"]
    tokenizer = train_tokenizer([*pairs.sources, *pairs.targets], vocab_size=200)
    tokenizer.post_processor = processors.TemplateProcessing(single=f"$A {EOS}", special_tokens=[(EOS, SPECIAL_TOKENS.index(EOS))])
    folder = tmp_path / "tiny-bart"
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token=PAD, unk_token=UNK, bos_token=BOS, eos_token=EOS).save_pretrained(folder)
    ids = {name: SPECIAL_TOKENS.index(token) for name, token in (("pad_token_id", PAD), ("bos_token_id", BOS), ("eos_token_id", EOS))}
    config = BartConfig(
        vocab_size=tokenizer.get_vocab_size(), d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2,
        encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=48, decoder_start_token_id=ids["eos_token_id"], forced_eos_token_id=None, **ids,
    )
    BartForConditionalGeneration(config).save_pretrained(folder)
    return folder


def test_a_pretrained_seq2seq_model_fine_tunes_and_loads_without_its_folder(zoo_cli, tmp_path, tiny_bart, monkeypatch):
    import shutil

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    run = train(zoo_cli, tmp_path, "--max-epochs", "4", f"model.pretrained={tiny_bart}", "optim.lr=3e-3", "data.batch_size=16", "model.beam=2")
    assert run["summary"]["pretrained"] == str(tiny_bart)
    assert any("is high for fine-tuning" in note for note in run["notes"]) and any("tiny-bart's tokenizer" in note for note in run["notes"])
    # It learns, through BART's own layers and tokenizer: BLEU 0 after 1 epoch, 0.8 after 2, 11-12
    # after these 4 (tiny BARTs from five seeds); the bound leaves room for any float rounding.
    assert run["metrics"]["val"]["bleu"] >= 4
    folder = Path(run["path"])
    sources = ["Drei Katzen schlafen im Schnee.", "Zwei Vögel essen am Strand."]
    before = zoo.load(folder).predict(sources)
    shutil.rmtree(tiny_bart)
    after = zoo.load(folder).predict(sources)
    assert after == before and all(record["output"] for record in after)
    assert_user_error(zoo_cli("train", "translation/gru-attention", f"model.pretrained={tiny_bart}"), "translation/transformer takes it")
    assert_user_error(zoo_cli("train", "translation", f"model.pretrained={tiny_bart}"), "does not exist")


def test_the_demo_settings_apply_only_without_data(tmp_path):
    from zoo.training import resolve_config

    _, demo = resolve_config("translation")
    _, own_data = resolve_config("translation", data=tmp_path / "pairs.csv")
    _, chosen = resolve_config("translation", overrides=["data.batch_size=8"])
    assert (demo["data"]["batch_size"], own_data["data"]["batch_size"], chosen["data"]["batch_size"]) == (16, None, 8)  # None: chosen for the data
    assert own_data["data"]["max_batch_size"] == 64
    assert own_data["optim"]["lr"] == 5e-4 and own_data["optim"]["warmup_epochs"] == 1.0


def test_a_texts_output_does_not_depend_on_the_longer_texts_decoded_beside_it(monkeypatch):
    """Each output is cut at its own source's limit (twice its length plus 10), as if decoded
    alone, whatever the longest source of its batch: shown with a model that never ends."""
    from zoo.seq2seq import module as seq2seq

    never_ends = lambda net, src, lengths, bos, eos, limit, *rest: [[7] * limit for _ in range(len(src))]  # noqa: E731
    monkeypatch.setattr(seq2seq, "decode", never_ends)
    cut: list[list[int]] = []
    monkeypatch.setattr(seq2seq.text, "decode", lambda tokenizer, rows: cut.extend(rows) or ["" for _ in rows])
    module = zoo.create("translation")
    module.outputs(["ein hund", "ein mann mit einem roten hut steht vor einem großen alten haus in der stadt und wartet"], beam=1)
    short, long = sorted(cut, key=len)
    assert len(short) < len(long) <= module.config["model"]["max_output"]
    source_ids, _ = seq2seq.tokens.encode(module.source_tokenizer, ["ein hund"], module.info["max_source"], special_tokens=True)
    assert len(short) == 2 * len(source_ids[0]) + 10
