"""Pairs of texts for sequence to sequence (source -> target), by split, from:

    parallel files   `train.de,train.en` (line i of one is line i of the other), gzipped or not
    a folder         `train.SRC` and `train.TGT`, with `val`/`valid`/`dev` and `test` files beside
                     them (the Multi30k layout); which side is the source comes from
                     data.source_lang / data.target_lang, or the folder's name (`multi30k_de_en`)
    a table          CSV, TSV, JSONL, parquet or a datasets folder (see `zoo.tables`) with a
                     source and a target column

Pairs with an empty side are skipped and counted; every kept pair remembers where it was read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from zoo import splits, tables, text, tokens
from zoo.data import DataBundle, reused_info
from zoo.errors import ZooError, counted
from zoo.hub import fine_tuning_notes, hub_config
from zoo.plugins import find_task
from zoo.seq2seq.catalog import COPIES, SOURCE_COLUMNS, TARGET_COLUMNS
from zoo.seq2seq.copying import Copying
from zoo.seq2seq.models import IGNORED

_PARALLEL = re.compile(r"^(?P<split>[a-z]+)\.(?P<lang>[A-Za-z][A-Za-z_-]{0,9})(\.gz)?$")


@dataclass
class Pairs:
    """One split's pairs whose sides both hold text (as texts read from the Arrow columns when
    indexed), with how many were skipped for an empty side and where the first of them was."""

    sources: tokens.RowTexts
    targets: tokens.RowTexts
    skipped: int = 0
    first_skipped: str = ""
    name: str = ""  # what messages call the pairs, when not their table's name

    @property
    def source(self) -> str:
        return self.name or self.sources.table.source

    def __len__(self) -> int:
        return len(self.sources)

    def place(self, index: int) -> str:
        """Where pair `index` was read."""
        return self.sources.table.place(int(self.sources.rows[index]))

    def at(self, positions: Any) -> Pairs:
        """The pairs at `positions`."""
        return Pairs(self.sources.at(positions), self.targets.at(positions), name=self.name)


def pairs_of(source_table: tables.Table, source_key: str, target_table: tables.Table, target_key: str, name: str = "") -> Pairs:
    """The rows of two aligned columns where both sides hold text."""
    rows, first_blank = tokens.filled_rows((source_table, source_key), (target_table, target_key))
    skipped = len(source_table) - len(rows)
    first = source_table.place(first_blank) if first_blank is not None else ""
    return Pairs(tokens.RowTexts(source_table, source_key, rows), tokens.RowTexts(target_table, target_key, rows), skipped, first, name)


def read_parallel(source_file: Path, target_file: Path) -> Pairs:
    """Two line-aligned text files; different line counts stop with both counts named."""
    sources, targets = tables.read_lines(source_file), tables.read_lines(target_file)
    if len(sources) != len(targets):
        raise ZooError(
            f"{source_file} has {len(sources):,} lines but {target_file} has {len(targets):,}",
            "parallel files need one line per sentence, line i of one translating line i of the other",
        )
    return pairs_of(sources, "line", targets, "line", f"{source_file} + {target_file.name}")


@dataclass(frozen=True)
class Columns:
    """Which table columns hold the sources and the targets: as named, else the first of the
    usual names (a task's own: document/dialogue and summary, source and target)."""

    source: str | None = None
    target: str | None = None
    usual_source: tuple[str, ...] = SOURCE_COLUMNS
    usual_target: tuple[str, ...] = TARGET_COLUMNS
    roles: tuple[str, str] = ("source", "target")  # what messages call them


def read_table_pairs(table: tables.Table, columns: Columns) -> Pairs:
    """Two columns of a table as pairs (a missing one is named, with the columns there are)."""
    source_key = tables.pick_column(table, columns.source, columns.usual_source, columns.roles[0], "data.source_column")
    target_key = tables.pick_column(table, columns.target, columns.usual_target, columns.roles[1], "data.target_column")
    return pairs_of(table, source_key, table, target_key)


def parallel_folder(folder: Path, source_lang: str | None, target_lang: str | None) -> dict[str, tuple[Path, Path]] | None:
    """The (source file, target file) of each split in a folder of `split.lang` files, or
    None when the folder has none."""
    found: dict[str, dict[str, Path]] = {}
    for file in sorted(folder.iterdir()):
        match = _PARALLEL.match(file.name) if tables.table_suffix(file) not in tables.TABLE_SUFFIXES else None
        split = splits.split_named(match["split"]) if match else None
        if match and split:
            found.setdefault(split, {})[match["lang"]] = file
    if "train" not in found:
        return None
    languages = sorted(found["train"])
    if len(languages) != 2:
        raise ZooError(f"{folder} has train files for {len(languages)} languages ({', '.join(languages)})", "keep the two of one language pair")
    source_lang, target_lang = direction(folder, languages, source_lang, target_lang)
    pairs = {}
    for split, files in found.items():
        if source_lang in files and target_lang in files:
            pairs[split] = (files[source_lang], files[target_lang])
    return pairs


def direction(folder: Path, languages: list[str], source_lang: str | None, target_lang: str | None) -> tuple[str, str]:
    """(source, target) language: as configured, else as the folder's name orders them."""
    if source_lang or target_lang:
        source_lang = source_lang or next(lang for lang in languages if lang != target_lang)
        target_lang = target_lang or next(lang for lang in languages if lang != source_lang)
        for lang, key in ((source_lang, "data.source_lang"), (target_lang, "data.target_lang")):
            if lang not in languages:
                raise ZooError(f"{key} {lang!r} is not one of {folder}'s languages ({', '.join(languages)})")
        return source_lang, target_lang
    words = re.split(r"[^A-Za-z]+", folder.resolve().name)
    for first, second in zip(words, words[1:]):
        if {first, second} == set(languages):
            return first, second
    raise ZooError(
        f"cannot tell which of {folder}'s languages ({', '.join(languages)}) is the source",
        f"set data.source_lang={languages[0]} data.target_lang={languages[1]} (or the other way round)",
    )


def read_pairs(spec: str, columns: Columns = Columns(), source_lang: str | None = None, target_lang: str | None = None) -> dict[str, Pairs]:
    """The pairs named by `spec` (see the module's docstring), by split."""
    if "," in spec and not Path(spec).exists():
        names = spec.split(",")
        if len(names) != 2:
            raise ZooError(f"--data {spec!r} names {len(names)} files", "name two line-aligned files: SOURCE,TARGET")
        return {"train": read_parallel(Path(names[0]), Path(names[1]))}
    path = Path(spec)
    if path.is_dir() and not tables.is_datasets_folder(path):
        folder = parallel_folder(path, source_lang, target_lang)
        if folder is not None:
            return {split: read_parallel(source, target) for split, (source, target) in folder.items()}
    return {split: read_table_pairs(table, columns) for split, table in tables.read_table_splits(path).items()}


# Token ids ------------------------------------------------------------------------------------


def train_tokenizers(pairs: Pairs, shared: bool, kind: str, vocab_size: int, lowercase: bool) -> tuple[Any, Any]:
    """(source tokenizer, target tokenizer) trained on the pairs: one joint tokenizer (the same
    object twice) when `shared`, else one per side of `vocab_size` each. Ids 0..6 are the
    special tokens of `zoo.text` on both sides."""
    if shared:
        joint = text.learned_tokenizer([pairs.sources, pairs.targets], kind=kind, vocab_size=vocab_size, lowercase=lowercase)
        return joint, joint
    return (
        text.learned_tokenizer([pairs.sources], kind=kind, vocab_size=vocab_size, lowercase=lowercase),
        text.learned_tokenizer([pairs.targets], kind=kind, vocab_size=vocab_size, lowercase=lowercase),
    )


class PairDataset(Dataset):
    """(source ids, target ids, row) triples, target ids without special tokens, with the texts
    they came from (the references the outputs are scored against); `lengths` (both sides
    together) lets the loader batch pairs of like length. Batches are (source (N, S), source
    lengths (N,), decoder input `start` + target (N, T), decoder output target + `end` (N, T),
    padded with `IGNORED`, rows (N,)). The ids are read from the data cache (`zoo.tokens.Tokens`).
    With `copying`, unknown source words have extended ids on both sides (`zoo.seq2seq.copying`)."""

    def __init__(self, sources: tokens.Tokens, targets: tokens.Tokens, pairs: Pairs, start: int, end: int, copying: Copying | None = None) -> None:
        self.sources, self.targets = sources, targets
        self.source_texts, self.references = pairs.sources, pairs.targets
        self.start, self.end = start, end
        self.copying = copying
        self.lengths = sources.lengths() + targets.lengths()

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index: int) -> tuple[Any, Any, int]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[Any, Any, int]]:
        return list(zip(self.sources.many(indices), self.targets.many(indices), indices))

    def copied_words(self, rows: Sequence[int]) -> list[list[str]]:
        """The unknown source words of each row, by extended id (see `zoo.seq2seq.copying`)."""
        assert self.copying is not None
        return [self.copying.source(ids, lambda row=row: self.source_texts[row])[1] for ids, row in zip(self.sources.many(rows), rows)]

    def _extended(self, source: Any, target: Any, row: int) -> tuple[list[int], list[int], int]:
        assert self.copying is not None
        source, words = self.copying.source(source, lambda: self.source_texts[row])
        return source, self.copying.target(target, lambda: self.references[row], words), row

    def collate(self, items: Sequence[tuple[Any, Any, int]]) -> tuple[torch.Tensor, ...]:
        if self.copying is not None:
            items = [self._extended(*item) for item in items]
        source, source_lengths = text.pad([s for s, _, _ in items])
        decoder_in, _ = text.pad([[self.start, *t] for _, t, _ in items])
        decoder_out, _ = text.pad([[*t, self.end] for _, t, _ in items], IGNORED)
        return source, source_lengths, decoder_in, decoder_out, torch.tensor([r for _, _, r in items])


class TextPairs(Dataset):
    """Sources and references as texts, for a model that reads text itself (summarization's
    lead); batches are the rows (N,)."""

    def __init__(self, pairs: Pairs) -> None:
        self.source_texts = pairs.sources
        self.references = pairs.targets

    def __len__(self) -> int:
        return len(self.source_texts)

    def __getitem__(self, index: int) -> int:
        return index

    @staticmethod
    def collate(rows: Sequence[int]) -> torch.Tensor:
        return torch.tensor(rows)


def encode_pairs(pairs: Pairs, info: dict[str, Any]) -> tuple[PairDataset, int, int]:
    """(dataset, sources cut, targets cut) with the tokenizers and limits of `info` (see
    `build_data`): sources cut to max_source tokens (with the special tokens a pretrained
    tokenizer adds, such as T5's </s>), targets to max_target - 1 (room for the end)."""
    source_tokenizer, target_tokenizer = tokenizers_of(info)
    sources = tokens.token_ids(pairs.sources, source_tokenizer, info["max_source"], special_tokens=True)
    targets = tokens.token_ids(pairs.targets, target_tokenizer, info["max_target"] - 1, special_tokens=False)
    copying = Copying(source_tokenizer, target_tokenizer) if info.get("copies") else None
    return PairDataset(sources, targets, pairs, info["start"], info["end"], copying), sources.cut, targets.cut


def tokenizers_of(info: dict[str, Any]) -> tuple[Any, Any]:
    """The (source, target) tokenizers kept in `info`."""
    from tokenizers import Tokenizer

    return Tokenizer.from_str(info["source_tokenizer"]), Tokenizer.from_str(info["target_tokenizer"])


def read_configured(config: dict[str, Any], spec: str, usual: Columns) -> dict[str, Pairs]:
    """The pairs at `spec`, read with the task's usual column names under data.source_column /
    data.target_column, and data.source_lang / data.target_lang."""
    data = config["data"]
    columns = Columns(data.get("source_column"), data.get("target_column"), usual.usual_source, usual.usual_target, usual.roles)
    return read_pairs(spec, columns, data.get("source_lang"), data.get("target_lang"))


def read_splits(config: dict[str, Any], usual: Columns, demo: Callable[[], dict[str, Pairs]]) -> tuple[dict[str, Pairs], list[str]]:
    """The configured pairs (or the demo's) by split, a validation split always among them,
    with notes on what was skipped or split off."""
    data = config["data"]
    notes: list[str] = []
    found = demo() if data["path"] is None else read_configured(config, data["path"], usual)
    found = splits.laid_over(found, data, lambda path: read_configured(config, str(path), usual))
    for pairs in found.values():
        if not len(pairs):
            raise ZooError(f"{pairs.source} has no pairs", "it needs a source and a target per line or row")
        if pairs.skipped:
            notes.append(f"{pairs.skipped:,} pair(s) with an empty side skipped (the first: {pairs.first_skipped})")
    if "val" not in found:
        if len(found["train"]) < 2:
            raise ZooError(f"{found['train'].source} has one pair: a validation split needs at least two", "add pairs")
        train_rows, val_rows = splits.held_out(len(found["train"]), data["val_fraction"], config["seed"])
        found["val"] = found["train"].at(val_rows)
        found["train"] = found["train"].at(train_rows)
        notes.append(f"validating on a seeded random {data['val_fraction']:.0%} of the pairs ({len(val_rows):,})")
    if data["path"] is not None and len(found["val"]) < splits.MIN_TRUSTED_VALIDATION:  # the demo is small on purpose
        notes.append(f"validation is too small to trust: {counted(len(found['val']), 'pair')}, so its scores swing from run to run "
                     "(hold out more with data.val_fraction, or give data.val_path)")
    return found, notes


def counts_note(found: dict[str, Pairs]) -> str:
    """Where the pairs came from and how many there are for training and validation."""
    return f"{found['train'].source}: {counted(len(found['train']), 'training pair')}, {counted(len(found['val']), 'validation pair')}"


def build_data(config: dict[str, Any], usual: Columns, demo: Callable[[], dict[str, Pairs]]) -> DataBundle:
    """Train/val (and test) pair datasets of a sequence-to-sequence task; `info` keeps the
    tokenizers (as JSON text) and the length limits."""
    found, notes = read_splits(config, usual, demo)
    info = reused_info() or _tokenizer_info(config, found["train"], notes)
    datasets, cut = {}, [0, 0]
    for split, pairs in found.items():
        datasets[split], source_cut, target_cut = encode_pairs(pairs, info)
        cut = [cut[0] + source_cut, cut[1] + target_cut]
    if cut[0] or cut[1]:
        notes.append(f"cut to data.max_source {info['max_source']} / data.max_target {info['max_target']} tokens: {cut[0]} source(s), {cut[1]} target(s)")
    notes.insert(0, f"{counts_note(found)}; {info['tokenizers']}")
    info = {**info, "rows": {"train": len(datasets["train"]), "val": len(datasets["val"])}}
    cached = tokens.cache_notes(ids for dataset in datasets.values() for ids in (dataset.sources, dataset.targets))
    return DataBundle(train=datasets["train"], val=datasets["val"], test=datasets.get("test"), info=info, notes=notes, machine_notes=cached)


def _tokenizer_info(config: dict[str, Any], train: Pairs, notes: list[str]) -> dict[str, Any]:
    """The tokenizers (JSON text), the decoder's start and end ids and the length limits: a
    pretrained model's own, or tokenizers trained on the training pairs."""
    data, model = config["data"], config["model"]
    info: dict[str, Any] = {"max_source": data["max_source"], "max_target": data["max_target"], "pretrained": None}
    if model.get("pretrained"):
        source = str(model["pretrained"])
        tokenizer, _ = text.pretrained_tokenizer(source, "model.pretrained")
        hf_config = hub_config(source)
        end = hf_config.get("eos_token_id")
        start = hf_config.get("decoder_start_token_id")
        if end is None or start is None:
            raise ZooError(f"model.pretrained {source!r} has no decoder_start_token_id or eos_token_id in its config", "name an encoder-decoder model (AutoModelForSeq2SeqLM)")
        limit = hf_config.get("max_position_embeddings") or data["max_source"]
        notes += fine_tuning_notes(config["optim"]["lr"])
        return {
            **info, "source_tokenizer": tokenizer.to_str(), "target_tokenizer": tokenizer.to_str(), "shared_vocab": True,
            "start": start, "end": end, "max_source": min(data["max_source"], limit), "max_target": min(data["max_target"], limit),
            "pretrained": {"source": source, "config": hf_config}, "tokenizers": f"{source}'s tokenizer ({tokenizer.get_vocab_size():,} tokens)",
        }
    source_tokenizer, target_tokenizer = train_tokenizers(train, model["shared_vocab"], model["tokenizer_kind"], model["vocab_size"], model["lowercase"])
    sides = "one shared tokenizer" if model["shared_vocab"] else "a tokenizer per side"
    entry = None if model["source"] else find_task(config["task"]).models.get(model["name"])
    return {
        **info, "source_tokenizer": source_tokenizer.to_str(), "target_tokenizer": target_tokenizer.to_str(), "shared_vocab": model["shared_vocab"],
        "copies": entry is not None and COPIES in entry.tags,
        "start": text.SPECIAL_TOKENS.index(text.BOS), "end": text.SPECIAL_TOKENS.index(text.EOS),
        "tokenizers": f"{sides} ({model['tokenizer_kind']}, {source_tokenizer.get_vocab_size():,} tokens)",
    }
