"""Data at scale: tables read once into the cache and memory-mapped, token ids as flat cached
arrays, a changed file noticed, workers that share the arrays, `zoo cache`."""

from __future__ import annotations

import json
import mmap
import os
import pickle
from pathlib import Path

import pytest

from tests.texts import reviews, write_table
from zoo import cache, tables
from zoo.errors import ZooError


@pytest.fixture
def own_cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("ZOO_CACHE", str(folder))
    return folder


def entries(folder: Path, kind: str) -> list[str]:
    return sorted(p.name for p in (folder / kind).iterdir()) if (folder / kind).is_dir() else []


def test_a_table_is_read_once_memory_mapped_and_a_changed_file_is_noticed(tmp_path, own_cache):
    data = write_table(tmp_path / "reviews.csv", reviews(2))
    first = tables.read_table(data)
    assert len(first) == 20 and first.columns == ["text", "label"] and entries(own_cache, "tables") == [first.digest]
    again = tables.read_table(data)
    assert again.digest == first.digest and entries(own_cache, "tables") == [first.digest]  # no second entry
    assert again.data.column("text").chunks[0].buffers()[2].address  # Arrow buffers, not Python strings
    write_table(data, reviews(3))
    changed = tables.read_table(data)
    assert changed.digest != first.digest and len(changed) == 30 and len(entries(own_cache, "tables")) == 2


def test_a_bad_cell_found_by_a_column_check_is_named_by_its_line(tmp_path, own_cache, zoo_cli):
    """Quoted cells span two lines each, so row and line numbers differ; the line is named."""
    rows = [(f'"a review\nover two lines {i}"', "positive" if i % 2 else "negative") for i in range(3000)]
    rows[2500] = ('"this one\nhas no label"', "")
    path = tmp_path / "long.csv"
    path.write_text("text,label\n" + "".join(f"{t},{label}\n" for t, label in rows), encoding="utf-8")
    result = zoo_cli("train", "sentiment", "--data", path, "--output", tmp_path / "runs")
    assert result.code == 2 and f"{path}:{2 + 2 * 2500}: the 'label' cell is empty or NaN" in result.err
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("a,y\n" + "".join(f"{i},{2 * i}\n" for i in range(5000)).replace("4321,8642", "4321,8_642"), encoding="utf-8")
    result = zoo_cli("train", "linear-regression", "--data", numbers, "--output", tmp_path / "runs")
    assert result.code == 2 and f"{numbers}:{4321 + 2}: column 'y' holds '8_642', not a number" in result.err
    assert not (tmp_path / "runs").exists()


def test_json_lines_whose_values_differ_in_kind_read_as_text(tmp_path, own_cache):
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"text": "good", "label": 1}\n\n{"text": "bad", "label": "neg"}\n{"text": 3, "label": 0.0}\n', encoding="utf-8")
    table = tables.read_table(path)
    assert table.data.column("label").to_pylist() == ["1", "neg", "0.0"] and table.place(2) == f"{path}:4"
    assert tables.label_texts(table.column("label")).to_pylist() == ["1", "neg", "0"]


def test_token_ids_are_cached_flat_arrays_that_workers_share(tmp_path, own_cache):
    import torch

    from zoo.config import defaults, merge
    from zoo.data import loader
    from zoo.plugins import find_task
    from zoo_tasks.sentiment.data import build_data

    data = write_table(tmp_path / "reviews.csv", reviews(8))
    task = find_task("sentiment")
    config = merge(defaults(task, "textcnn"), {"data": {"path": str(data)}})
    bundle = build_data(config)
    block = bundle.train.ids.blocks[0]
    assert isinstance(block.mapping, mmap.mmap) and block.folder.parent == own_cache / "tokens"
    assert len(pickle.dumps(bundle.train.ids)) < len(bundle.info["tokenizer"]) + 2000  # a worker started by pickling maps the files again
    assert len(entries(own_cache, "tokenizers")) == 1
    again = build_data(config)  # the second run: the same tokenizer and ids, from the cache
    assert again.train.ids.blocks[0].folder == block.folder and again.info["tokenizer"] == bundle.info["tokenizer"]
    assert len(entries(own_cache, "tokens")) == 1 and len(entries(own_cache, "tokenizers")) == 1

    def batches(workers: int) -> list[list[list[int]]]:
        batches = loader(bundle.train, {**config["data"], "num_workers": workers, "batch_size": 8}, shuffle=True, seed=3)
        return [ids.tolist() for ids, _, _ in batches]

    torch.set_num_threads(1)  # forking after OpenMP threads ran needs one thread
    assert batches(2) == batches(0)


def test_texts_beyond_one_block_train_at_once_while_a_background_process_fills_the_cache(tmp_path, own_cache, monkeypatch):
    """More texts than a block: nothing is encoded before training; what a batch reads is
    encoded then, a background process writes the cache block by block, and the ids and the
    batches are the same before and after it has."""
    import time

    from tokenizers import Tokenizer

    from zoo import tokens
    from zoo.config import defaults, merge
    from zoo.data import loader
    from zoo.plugins import find_task
    from zoo_tasks.sentiment.data import build_data

    monkeypatch.setattr(tokens, "BLOCK_TEXTS", 16)
    task = find_task("sentiment")
    config = merge(defaults(task, "textcnn"), {"data": {"path": str(write_table(tmp_path / "reviews.csv", reviews(8)))}})
    first = build_data(config)
    ids = first.train.ids
    assert len(ids.names) == 5 and any("blocks (16 texts each) were in the data cache" in note for note in first.machine_notes)
    expected, _ = tokens.encode(Tokenizer.from_str(first.info["tokenizer"]), list(ids.texts), first.info["max_length"], special_tokens=True)
    assert [i.tolist() for i in ids.many(range(len(ids)))] == expected
    assert list(first.train.lengths) == [len(ids.texts[i].encode()) for i in first.train.indices]  # bytes: known before encoding

    def batches(bundle) -> list[list[list[int]]]:
        return [i.tolist() for i, _, _ in loader(bundle.train, {**config["data"], "num_workers": 0, "batch_size": 8}, shuffle=True, seed=3)]

    before = batches(first)
    deadline = time.monotonic() + 120
    while any(tokens._finished(name) is None for name in ids.names):
        assert time.monotonic() < deadline, "the background process did not fill the cache"
        time.sleep(0.2)
    again = build_data(config)
    assert not again.train.ids.missing and not any("were in the data cache" in note for note in again.machine_notes)
    assert [i.tolist() for i in again.train.ids.many(range(len(ids)))] == expected and batches(again) == before
    process = tokens._filler["process"]
    tokens._stop_filling()
    assert process.returncode == 0 and not tokens._filler
    assert not [p for p in (own_cache / "tokens").iterdir() if p.name.endswith(".partial")]


def test_workers_are_chosen_for_the_machine_unless_set(monkeypatch):
    from zoo.data import AUTO_WORKERS_FROM, worker_count

    cores = len(os.sched_getaffinity(0))
    assert worker_count(None, AUTO_WORKERS_FROM - 1) == 0
    assert worker_count(None, AUTO_WORKERS_FROM) == max(0, min(8, cores - 1))
    assert worker_count(3, 10) == 3
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(cores))  # one process per core on this node: no room for workers
    assert worker_count(None, 10**6) == 0


def test_zoo_cache_says_where_it_is_and_clear_empties_only_its_own_folders(tmp_path, own_cache, zoo_cli):
    tables.read_table(write_table(tmp_path / "reviews.jsonl", reviews(1)))
    (own_cache / "notes.txt").write_text("a user's file in the same folder")
    shown = zoo_cli("cache", "--json")
    assert shown.code == 0 and json.loads(shown.out)["path"] == str(own_cache) and json.loads(shown.out)["bytes"] > 0
    cleared = zoo_cli("cache", "clear")
    assert cleared.code == 0 and f"Cleared the data cache at {own_cache}" in cleared.out
    assert cache.size() == 0 and not (own_cache / "tables").exists() and (own_cache / "notes.txt").is_file()


def test_a_damaged_cache_entry_is_named_with_what_to_do(tmp_path, own_cache):
    data = write_table(tmp_path / "reviews.csv", reviews(1))
    table = tables.read_table(data)
    (own_cache / "tables" / table.digest / "table.arrow").write_bytes(b"not arrow")
    with pytest.raises(ZooError, match=r"table.arrow is not a data cache file.*zoo cache clear"):
        tables.read_table(data).data
    (own_cache / "tables" / table.digest / "shape.json").write_text("[]")
    with pytest.raises(ZooError, match=r"shape.json holds an array, not a data cache file.*zoo cache clear"):
        tables.read_table(data)
