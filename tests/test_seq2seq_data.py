"""Pairs of texts for translation and summarization, from every layout they come in."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tests.texts import write_table
from zoo.errors import ZooError
from zoo.seq2seq.data import Columns, read_pairs

GERMAN = ["Ein Mann fährt Fahrrad.", "Zwei Hunde spielen im Schnee.", "", "Eine Frau kocht."]
ENGLISH = ["A man rides a bike.", "Two dogs play in the snow.", "An empty source.", "A woman cooks."]


def write_lines(path: Path, lines: list[str]) -> Path:
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def test_two_parallel_files_skip_pairs_with_an_empty_side(tmp_path):
    source, target = write_lines(tmp_path / "train.de", GERMAN), write_lines(tmp_path / "train.en", ENGLISH)
    [(split, pairs)] = read_pairs(f"{source},{target}").items()
    assert split == "train" and list(pairs.sources) == [GERMAN[i] for i in (0, 1, 3)] and pairs.targets[2] == "A woman cooks."
    assert pairs.skipped == 1 and pairs.first_skipped == f"{source}:3" and pairs.place(2) == f"{source}:4"


def test_the_multi30k_folder_layout_reads_its_direction_from_the_folder_name(tmp_path):
    folder = tmp_path / "multi30k_de_en"
    folder.mkdir()
    for split in ("train", "val"):
        write_lines(folder / f"{split}.de.gz", GERMAN)
        write_lines(folder / f"{split}.en.gz", ENGLISH)
    splits = read_pairs(str(folder))
    assert set(splits) == {"train", "val"} and splits["val"].sources[0] == GERMAN[0]
    reverse = read_pairs(str(folder), source_lang="en")
    assert reverse["train"].sources[0] == ENGLISH[0] and reverse["train"].targets[0] == GERMAN[0]
    plain = tmp_path / "data"
    plain.mkdir()
    for file in folder.iterdir():
        (plain / file.name).write_bytes(file.read_bytes())
    with pytest.raises(ZooError, match="cannot tell which of .* is the source.*data.source_lang=de data.target_lang=en"):
        read_pairs(str(plain))
    with pytest.raises(ZooError, match="data.target_lang 'fr' is not one of"):
        read_pairs(str(plain), target_lang="fr")


def test_parallel_files_of_different_lengths_name_both_counts(tmp_path):
    source, target = write_lines(tmp_path / "a.de", GERMAN), write_lines(tmp_path / "a.en", ENGLISH[:3])
    with pytest.raises(ZooError, match=r"a.de has 4 lines but .*a.en has 3"):
        read_pairs(f"{source},{target}")


def test_non_utf8_bytes_are_named_by_line(tmp_path):
    source = tmp_path / "s.de"
    source.write_bytes(b"Ein Mann.\n" + b"Ein M\xe4dchen.\n")
    target = write_lines(tmp_path / "s.en", ["A man.", "A girl."])
    with pytest.raises(ZooError, match=r"s.de:2: bytes that are not UTF-8"):
        read_pairs(f"{source},{target}")


def test_a_file_in_another_encoding_is_one_line_and_bad_rows_are_named_together(tmp_path):
    source = tmp_path / "s.de"
    source.write_bytes(b"".join(b"Ein M\xe4dchen.\n" if i % 2 else b"Ein Mann.\n" for i in range(16)))
    target = write_lines(tmp_path / "s.en", ["A man."] * 16)
    with pytest.raises(ZooError) as raised:
        read_pairs(f"{source},{target}")
    assert str(raised.value) == f"{source}:2: bytes that are not UTF-8 text (b'\\xe4'); 7 more lines like it; save the file as UTF-8"  # one mistake, one line
    table = tmp_path / "pairs.csv"
    table.write_text("source,target\n" + "".join(f"Satz {i},sentence {i}{',x' * (i % 2)}\n" for i in range(14)), encoding="utf-8")
    with pytest.raises(ZooError) as raised:
        read_pairs(str(table))
    shown = [f"{table}:{line}: 3 cells, but the header has 2 columns" for line in (3, 5, 7, 9, 11)]
    assert str(raised.value) == "\n".join([f"{table} has 7 bad rows:", *shown, "and 2 more; fix the rows: a stray separator or quote"])


def test_tables_with_the_tasks_columns(tmp_path):
    table = write_table(tmp_path / "dialogues.jsonl", [("Amanda: I baked cookies.", "Amanda baked cookies."), (" ", "empty")], text="dialogue", label="summary")
    columns = Columns(usual_source=("document", "dialogue"), usual_target=("summary",))
    pairs = read_pairs(str(table), columns)["train"]
    assert list(pairs.sources) == ["Amanda: I baked cookies."] and pairs.skipped == 1
    with pytest.raises(ZooError, match="has no source column 'dialog'.*did you mean 'dialogue'"):
        read_pairs(str(table), Columns(source="dialog", usual_target=("summary",)))


def test_a_folder_of_split_tables_is_not_taken_for_parallel_files(tmp_path):
    """SAMSum's layout: train.jsonl.gz and val.jsonl.gz."""
    rows = [("Amanda: I baked cookies.", "Amanda baked cookies."), ("Tom: Bring some!", "Tom wants some.")]
    write_table(tmp_path / "train.jsonl.gz", rows, text="dialogue", label="summary")
    write_table(tmp_path / "val.jsonl.gz", rows[:1], text="dialogue", label="summary")
    splits = read_pairs(str(tmp_path), Columns(usual_source=("document", "dialogue"), usual_target=("summary",)))
    assert {k: len(v.sources) for k, v in splits.items()} == {"train": 2, "val": 1}


@pytest.mark.parametrize("shared", [True, False])
def test_pairs_become_padded_teacher_forcing_batches(tmp_path, shared):
    from zoo.seq2seq.data import encode_pairs, train_tokenizers
    from zoo.seq2seq.models import IGNORED
    from zoo.text import BOS, EOS, SPECIAL_TOKENS

    source, target = write_lines(tmp_path / "t.de", GERMAN * 5), write_lines(tmp_path / "t.en", ENGLISH * 5)
    pairs = read_pairs(f"{source},{target}")["train"]
    source_tokenizer, target_tokenizer = train_tokenizers(pairs, shared=shared, kind="wordpiece", vocab_size=200, lowercase=False)
    assert (source_tokenizer is target_tokenizer) == shared
    bos, eos = SPECIAL_TOKENS.index(BOS), SPECIAL_TOKENS.index(EOS)
    info = {"source_tokenizer": source_tokenizer.to_str(), "target_tokenizer": target_tokenizer.to_str(), "max_source": 64, "max_target": 6, "start": bos, "end": eos}
    dataset, source_cut, target_cut = encode_pairs(pairs, info)
    assert len(dataset) == 15 and source_cut == 0 and target_cut > 0
    src, src_lengths, decoder_in, decoder_out, rows = dataset.collate([dataset[0], dataset[1]])
    assert rows.tolist() == [0, 1] and dataset.references[1] == ENGLISH[1]
    assert decoder_in[:, 0].tolist() == [bos, bos] and decoder_in.shape == decoder_out.shape
    assert src_lengths.tolist() == [len(dataset[0][0]), len(dataset[1][0])]
    for row in range(2):
        target_ids = dataset[row][1].tolist()
        assert decoder_out[row, len(target_ids)] == eos and decoder_out[row, : len(target_ids)].tolist() == target_ids
        assert decoder_in[row, 1 : len(target_ids) + 1].tolist() == target_ids
        assert (decoder_out[row, len(target_ids) + 1 :] == IGNORED).all()  # padding has no loss
    assert source_tokenizer.decode(dataset[0][0].tolist()) == "Ein Mann fährt Fahrrad."  # cased, and back to the text
