"""Labelled texts for sentiment: tables, columns, labels, the tokenizer, encoded datasets.

A dataset item is (token ids, class index); batches are (ids (N, L) padded per batch,
lengths (N,), targets (N,)), drawn by length so little compute goes to padding. Texts that
are empty or only whitespace are skipped and counted in the run's notes.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch.utils.data import Dataset

from zoo import splits, tables, text, tokens
from zoo.data import DataBundle, class_names, reused_info
from zoo.errors import ZooError, counted
from zoo.hub import fine_tuning_notes, hub_config
from zoo_tasks.sentiment import LABEL_COLUMNS, TEXT_COLUMNS


@dataclass
class Texts:
    """One split's texts (the rows whose text is not blank) and their labels, as text."""

    texts: tokens.RowTexts
    labels: Any  # pyarrow string array, one label per text
    skipped: int = 0  # rows whose text was empty or whitespace
    first_skipped: str = ""  # where the first of them was

    @property
    def source(self) -> str:
        return self.texts.table.source


class TextDataset(Dataset):
    """(token ids, class index) pairs of some of the texts of a split (`indices`: positions in
    its token ids); `lengths` lets the loader batch texts of like length. Everything is a
    numpy or memory-mapped array, so DataLoader workers share it."""

    def __init__(self, ids: tokens.Tokens, targets: Any, pad_id: int, indices: Any = None) -> None:
        self.ids = ids
        self.targets = targets
        self.pad_id = pad_id
        self.indices = np.arange(len(ids)) if indices is None else indices
        self.lengths = ids.lengths()[self.indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[Any, int]]:
        rows = self.indices[indices]
        return list(zip(self.ids.many(rows), self.targets[rows].tolist()))

    def collate(self, items: Sequence[tuple[Any, int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        ids, lengths = text.pad([i for i, _ in items], self.pad_id)
        return ids, lengths, torch.tensor([t for _, t in items], dtype=torch.int64)


def build_data(config: dict[str, Any]) -> DataBundle:
    """Train/val (and test) datasets; `info` keeps the classes, the tokenizer (as JSON text,
    saved as model/tokenizer.json) and, for a pretrained model, its transformers config."""
    data, model = config["data"], config["model"]
    notes: list[str] = []
    found = read_data(data, notes)
    train_all = found["train"]
    classes = class_names(pc.unique(train_all.labels).to_pylist())
    if len(classes) < 2:
        raise ZooError(f"{train_all.source} has only one label ({classes[0]!r})", "sentiment needs at least two classes")
    targets = {name: encode_labels(split, classes) for name, split in found.items()}
    train_rows, val_rows = split_rows(found, targets["train"], config)
    if val_rows is not None:
        notes.append(f"validating on a seeded random {data['val_fraction']:.0%} of the training texts ({len(val_rows):,}), stratified by class")

    tokenizer, pad_id, pretrained = tokenizer_for(config, train_all.texts.at(train_rows), notes)
    max_length = data["max_length"]
    if pretrained:
        max_length = min(max_length, pretrained["config"].get("max_position_embeddings") or max_length)
    elif "max_positions" in model and max_length > model["max_positions"]:
        raise ZooError(f"data.max_length {max_length} is more than model.max_positions {model['max_positions']}", "raise model.max_positions or lower data.max_length")
    encoded = {name: tokens.token_ids(split.texts, tokenizer, max_length, special_tokens=True) for name, split in found.items()}
    cut = sum(ids.cut for ids in encoded.values())
    if cut:
        notes.append(f"{cut:,} text(s) longer than {max_length} tokens were cut to that length (data.max_length)")

    def dataset(split: str, rows: Any = None) -> TextDataset:
        return TextDataset(encoded[split], targets[split], pad_id, rows)

    train = dataset("train", train_rows)
    val = dataset("val") if "val" in found else dataset("train", val_rows)
    test = dataset("test") if "test" in found else None
    if data["path"] is not None and (note := splits.validation_note(val.targets[val.indices].tolist(), len(classes), "texts")):  # the demo is small on purpose
        notes.append(note)
    counts = f"{counted(len(train), 'training text')}, {counted(len(val), 'validation text')}, {len(classes)} classes ({', '.join(classes[:10])})"
    notes.insert(0, f"{'the demo reviews' if data['path'] is None else train_all.source}: {counts}")
    info = {
        "classes": classes,
        "tokenizer": tokenizer.to_str(),
        "pad_id": pad_id,
        "vocab_size": tokenizer.get_vocab_size(),
        "max_length": max_length,
        "pretrained": pretrained,
        "rows": {"train": len(train), "val": len(val)},
    }
    return DataBundle(train=train, val=val, test=test, info=info, notes=notes, machine_notes=tokens.cache_notes(encoded.values()))


def split_rows(found: dict[str, Texts], targets: Any, config: dict[str, Any]) -> tuple[Any, Any]:
    """(training rows, validation rows) of the train split: all of them and None when the
    data has a validation split, else a seeded random cut of data.val_fraction, stratified by
    the class indices `targets`."""
    size = len(found["train"].texts)
    if "val" in found:
        return np.arange(size), None
    if size < 2:
        raise ZooError(f"{found['train'].source} has {size} text: a validation split needs at least two", "add texts")
    return splits.held_out(size, config["data"]["val_fraction"], config["seed"], labels=targets)


def read_data(data: dict[str, Any], notes: list[str]) -> dict[str, Texts]:
    """The splits at data.path (or the demo), with data.val_path and data.test_path laid
    over; a test table without labels (GLUE's test.tsv) is left out, with a note."""
    found = {"train": labelled_texts(demo_table(), data)} if data["path"] is None else read_splits(Path(data["path"]), data, notes)
    found = splits.laid_over(found, data, lambda path: {"test": single_split(path, data)})
    for texts in found.values():
        if not len(texts.texts):
            raise ZooError(f"{texts.source} has no texts", "it needs rows of text and label")
        if texts.skipped:
            notes.append(f"{texts.skipped:,} row(s) with empty or whitespace-only text skipped (the first: {texts.first_skipped})")
    return found


def read_splits(path: Path, data: dict[str, Any], notes: list[str]) -> dict[str, Texts]:
    found = {}
    for split, table in tables.read_table_splits(path).items():
        if split == "test" and unlabelled(table, data):
            notes.append(f"{table.source} has no labels: not used for testing")
            continue
        found[split] = labelled_texts(table, data)
    return found


def unlabelled(table: tables.Table, data: dict[str, Any]) -> bool:
    """Whether `table` lacks the label column or a single label in it (GLUE's test files,
    the hub's test splits labelled -1)."""
    names = [data["label_column"]] if data["label_column"] else [c for c in table.columns if c.strip().lower() in LABEL_COLUMNS]
    key = next((c for c in names if c in table.columns), None)
    return key is None or tables.label_texts(table.column(key)).null_count == len(table)


def single_split(path: Path, data: dict[str, Any]) -> Texts:
    """The texts at `path` as one split: for a folder with splits, its test (else val) part."""
    return labelled_texts(splits.one_split(tables.read_table_splits(path)), data)


def labelled_texts(table: tables.Table, data: dict[str, Any]) -> Texts:
    """The text and label columns of `table`; rows without text are skipped (counted), rows
    without a label are an error (the first few named together)."""
    text_key = tables.pick_column(table, data["text_column"], TEXT_COLUMNS, "text", "data.text_column")
    label_key = tables.pick_column(table, data["label_column"], LABEL_COLUMNS, "label", "data.label_column")
    rows, first_blank = tokens.filled_rows((table, text_key))
    labels = pc.take(tables.label_texts(table.column(label_key)), pa.array(rows))
    problems = tables.Problems(table)
    problems.add(rows[np.flatnonzero(pc.is_null(labels).to_numpy(zero_copy_only=False))].tolist(), lambda _: f"the {label_key!r} cell is empty or NaN")
    problems.check("label the row or remove it", "label the rows or remove them")
    skipped = len(table) - len(rows)
    return Texts(tokens.RowTexts(table, text_key, rows), labels, skipped, table.place(first_blank) if first_blank is not None else "")


def encode_labels(split: Texts, classes: list[str]) -> Any:
    """Class indices of a split's labels (a numpy array); labels training never saw are an error
    (the first few rows named together)."""
    indices = pc.index_in(split.labels, value_set=pa.array(classes, pa.string()))
    unknown = np.flatnonzero(pc.is_null(indices).to_numpy(zero_copy_only=False))
    rows = split.texts.rows[unknown]  # in the table
    labels = dict(zip(rows[: tables.SHOWN_PROBLEMS].tolist(), split.labels.take(unknown[: tables.SHOWN_PROBLEMS]).to_pylist()))
    problems = tables.Problems(split.texts.table)
    problems.add(rows.tolist(), lambda row: f"label {labels[row]!r} does not occur in the training data")
    problems.check(f"the training labels are {', '.join(classes[:20])}{' ...' if len(classes) > 20 else ''}")
    return indices.to_numpy(zero_copy_only=False).astype(np.int64)


def tokenizer_for(config: dict[str, Any], texts: tokens.RowTexts, notes: list[str]) -> tuple[Any, int, dict[str, Any] | None]:
    """(tokenizer, padding id, pretrained model facts or None): a pretrained model's own
    tokenizer, the tokenizer named by model.tokenizer, or one trained on the training texts."""
    model, optim = config["model"], config["optim"]
    if first := reused_info():  # a resumed run, another device's process: the run's own tokenizer
        from tokenizers import Tokenizer

        return Tokenizer.from_str(first["tokenizer"]), first["pad_id"], first["pretrained"]
    if model.get("pretrained"):
        source = str(model["pretrained"])
        tokenizer, pad_id = text.pretrained_tokenizer(source, "model.pretrained")
        notes += fine_tuning_notes(optim["lr"])
        return tokenizer, pad_id, {"source": source, "config": hub_config(source)}
    if model["tokenizer"]:
        tokenizer, pad_id = text.pretrained_tokenizer(str(model["tokenizer"]), "model.tokenizer")
        notes.append(f"tokenizer {model['tokenizer']} ({tokenizer.get_vocab_size():,} tokens)")
        return tokenizer, pad_id, None
    tokenizer = text.learned_tokenizer([texts], kind=model["tokenizer_kind"], vocab_size=model["vocab_size"], lowercase=model["lowercase"])
    notes.append(f"a {model['tokenizer_kind']} tokenizer of {tokenizer.get_vocab_size():,} tokens trained on the training texts")
    return text.add_cls_sep(tokenizer), 0, None


# The demo: short reviews made up on the spot -------------------------------------------------

_POSITIVE = "gripping wonderful superb moving delightful brilliant charming funny beautiful clever".split()
_NEGATIVE = "dull boring clumsy tedious awful bland predictable lifeless messy forgettable".split()
_SUBJECTS = ["the film", "this movie", "the story", "the acting", "the script", "the music", "the ending", "the cast"]
_TEMPLATES = [
    "{subject} is {word}",
    "{subject} was {word} and {other}",
    "a {word} film",
    "what a {word} movie !",
    "{subject} feels {word} from start to finish",
    "i found {subject} {word}",
    "{subject} is not {opposite} at all",
    "honestly , {subject} is {word} .",
]
DEMO_SIZE = 480


def demo_table() -> tables.Table:
    """480 short movie reviews, positive or negative, the same every time; some say "not"
    before a word of the other side, so word order matters."""
    rng = random.Random(1234)
    texts, labels = [], []
    for i in range(DEMO_SIZE):
        label = ("negative", "positive")[i % 2]
        same, opposite = (_POSITIVE, _NEGATIVE) if label == "positive" else (_NEGATIVE, _POSITIVE)
        template = rng.choice(_TEMPLATES)
        texts.append(template.format(subject=rng.choice(_SUBJECTS), word=rng.choice(same), other=rng.choice(same), opposite=rng.choice(opposite)))
        labels.append(label)
    return tables.in_memory("the demo reviews", {"text": texts, "label": labels})
