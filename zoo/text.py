"""Text, shared by the text tasks (sentiment, translation, summarization): tokenizers trained
on the user's own texts with Hugging Face `tokenizers`, and batches of similar lengths padded
per batch, so little compute goes to padding.
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import BatchSampler, RandomSampler, Sampler

from zoo import cache
from zoo.data import BATCH_ORDER, epoch_seed
from zoo.errors import ZooError
from zoo.files import read_text, reading
from zoo.tokens import RowTexts

PAD, UNK, CLS, SEP, MASK, BOS, EOS = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[BOS]", "[EOS]"
SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK, BOS, EOS)  # ids 0..6 in every tokenizer trained here
TOKENIZER_FILE = "tokenizer.json"
CONTINUATION = "##"  # WordPiece's mark of a piece inside a word
APOSTROPHE = re.compile(r"(?<=\w) ' (?=(?:s|t|d|m|re|ve|ll)\b)", re.IGNORECASE)  # Carl's, don't, we're: as BERT's splitting spaces it out


def train_tokenizer(
    texts: Iterable[str | list[str]], kind: str = "wordpiece", vocab_size: int = 8000, lowercase: bool = True, min_frequency: int = 2
) -> Any:
    """A `tokenizers.Tokenizer` learned from `texts` (or batches of texts): WordPiece (BERT's normalization and
    splitting, `##` continuations) or byte-level BPE (GPT-2's: never an unknown character).
    The special tokens come first, [PAD] as id 0. WordPiece reads `texts` twice (a list, or
    another re-iterable). `kind` and `vocab_size` are the config's model.tokenizer_kind and
    model.vocab_size, checked by its schema (`zoo.shared_settings`)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    options = {"vocab_size": vocab_size, "min_frequency": min_frequency, "special_tokens": list(SPECIAL_TOKENS), "show_progress": False}
    if kind == "wordpiece":
        if iter(texts) is texts:
            raise TypeError("train_tokenizer reads the texts twice for WordPiece: pass a list or another re-iterable, not an iterator")
        tokenizer = Tokenizer(models.WordPiece(unk_token=UNK))
        tokenizer.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tokenizer.decoder = decoders.WordPiece()
        pieces = _continuation_pieces(texts, tokenizer.normalizer)
        trainer = trainers.WordPieceTrainer(**{**options, "special_tokens": [*SPECIAL_TOKENS, *pieces]})
        tokenizer.train_from_iterator(texts, trainer)
        return _without_added(tokenizer, pieces)
    tokenizer = Tokenizer(models.BPE(unk_token=UNK))
    steps = [normalizers.NFKC(), *([normalizers.Lowercase()] if lowercase else [])]
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), **options)
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def _continuation_pieces(texts: Iterable[str | list[str]], normalizer: Any) -> list[str]:
    """The piece "##c" for each character c of the normalized texts but spaces and punctuation (split off
    before training, so never inside a word), in code-point order. Given to the WordPiece trainer
    first, they get fixed ids: `tokenizers` numbers them in hash-map order, and the ids break ties
    between equally frequent merges, so two trainings on the same texts learned different
    vocabularies (huggingface/tokenizers#1794)."""
    characters: set[str] = set()
    for item in texts:
        characters.update(normalizer.normalize_str(item if isinstance(item, str) else "\n".join(item)))
    return [CONTINUATION + c for c in sorted(characters) if not c.isspace() and not unicodedata.category(c).startswith("P")]


def _without_added(tokenizer: Any, pieces: list[str]) -> Any:
    """`tokenizer` with `pieces` in its vocabulary only: the trainer also made them added tokens,
    which would split "##c" out of a text and drop it when decoding."""
    from tokenizers import Tokenizer

    saved = json.loads(tokenizer.to_str())
    dropped = set(pieces)
    saved["added_tokens"] = [token for token in saved["added_tokens"] if token["content"] not in dropped]
    return Tokenizer.from_str(json.dumps(saved))


TOKENIZER_TEXTS = 200_000  # a vocabulary is learned from at most this many texts of each side


def learned_tokenizer(corpus: Sequence[RowTexts], kind: str, vocab_size: int, lowercase: bool) -> Any:
    """`train_tokenizer` on the texts of `corpus` (at most TOKENIZER_TEXTS of each, evenly
    spread: millions of texts teach a vocabulary no more than that many do), kept in the data
    cache under those texts and settings, so a second run on the same data reuses it."""
    corpus = [texts.at(np.linspace(0, len(texts) - 1, TOKENIZER_TEXTS).astype(np.int64)) if len(texts) > TOKENIZER_TEXTS else texts for texts in corpus]
    name = cache.key("tokenizer 2", [texts.key() for texts in corpus], kind, vocab_size, lowercase)  # 2: WordPiece's ## pieces in a fixed order
    file = cache.entry("tokenizers", name) / TOKENIZER_FILE
    if file.is_file():
        return read_tokenizer(file)
    tokenizer = train_tokenizer(_Batches(corpus), kind, vocab_size, lowercase)
    with cache.writing("tokenizers", name) as partial:
        (partial / TOKENIZER_FILE).write_text(tokenizer.to_str())
    return tokenizer


class _Batches:
    """The texts of `corpus` in batches, read afresh on each pass."""

    def __init__(self, corpus: Sequence[RowTexts]) -> None:
        self.corpus = corpus

    def __iter__(self) -> Iterator[list[str]]:
        return itertools.chain.from_iterable(texts.batches() for texts in self.corpus)


def read_tokenizer(path: Path) -> Any:
    """The `tokenizers.Tokenizer` saved in `path` (a tokenizer.json)."""
    from tokenizers import Tokenizer

    text = read_text(path)
    with reading(path, "a tokenizer file (tokenizer.json, as Hugging Face tokenizers saves it)"):
        return Tokenizer.from_str(text)


def decode(tokenizer: Any, sequences: Sequence[Sequence[int]]) -> list[str]:
    """The texts of token id sequences: special tokens dropped, sub-words joined into words.
    A WordPiece tokenizer's decoder leaves the `##` of a continuation that opens a text (an
    untrained model's output can start with one), and one without a decoder joins its pieces
    with spaces: both are joined here. BERT's splitting makes an apostrophe a piece of its own,
    which the decoder spaces out (`Carl ' s`): before an English ending (s, t, re, ve...) it is
    joined again (`Carl's`)."""
    texts = tokenizer.decode_batch([[int(i) for i in ids] for ids in sequences])
    return [tidy_wordpiece(tokenizer, text) for text in texts]


def tidy_wordpiece(tokenizer: Any, text: str) -> str:
    """A decoded text with a WordPiece tokenizer's leftover `##` and spaced apostrophes joined
    (see `decode`); other tokenizers' texts as they are."""
    from tokenizers import models

    if not isinstance(tokenizer.model, models.WordPiece):
        return text
    continuation = re.compile(rf"(?:^|\s){re.escape(tokenizer.model.continuing_subword_prefix)}")
    return APOSTROPHE.sub("'", continuation.sub("", text))


def add_cls_sep(tokenizer: Any) -> Any:
    """Make `tokenizer` frame every text as [CLS] text [SEP] (with special tokens on), as
    BERT-style encoders expect."""
    from tokenizers import processors

    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{CLS} $A {SEP}", special_tokens=[(CLS, tokenizer.token_to_id(CLS)), (SEP, tokenizer.token_to_id(SEP))]
    )
    return tokenizer


def pretrained_tokenizer(source: str, key: str) -> tuple[Any, int]:
    """(tokenizer, padding id) from `source`: a tokenizer.json, a folder holding one (a zoo
    model or run folder too), or a Hugging Face tokenizer (hub name or saved folder). `key`
    names the setting in messages."""
    from tokenizers import Tokenizer

    hint = "name a hub model or a folder saved with save_pretrained" if key == "model.pretrained" else "name a hub tokenizer, a tokenizer.json or a folder with one"
    path = Path(source).expanduser()
    if path.is_file():
        return _with_pad_id(read_tokenizer(path))
    if source.startswith((".", "/", "~")) and not path.is_dir():
        raise ZooError(f"{key}: {path} does not exist", hint)
    for candidate in (path, path / "model"):
        if (candidate / TOKENIZER_FILE).is_file() and not (candidate / "tokenizer_config.json").is_file():
            return _with_pad_id(read_tokenizer(candidate / TOKENIZER_FILE))
    from transformers import AutoTokenizer

    try:
        loaded = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as error:
        from zoo.hub import cannot_load

        raise cannot_load(key, source, error, hint) from None
    backend = getattr(loaded, "backend_tokenizer", None)
    if backend is None:
        raise ZooError(f"{key} {source!r} has no fast (tokenizers) version", "use a tokenizer that ships a tokenizer.json")
    tokenizer = Tokenizer.from_str(backend.to_str())
    tokenizer.no_padding()
    pad_id = loaded.pad_token_id if loaded.pad_token_id is not None else loaded.eos_token_id
    return tokenizer, pad_id if pad_id is not None else 0


def _with_pad_id(tokenizer: Any) -> tuple[Any, int]:
    """(tokenizer, the id of its [PAD] token, or 0 without one)."""
    pad_id = tokenizer.token_to_id(PAD)
    return tokenizer, pad_id if pad_id is not None else 0


def checked_texts(texts: Sequence[str] | str) -> list[str]:
    """The texts to predict on, stripped (one string is one text); an empty one, or one that
    is not a string, is a ZooError naming its position."""
    if isinstance(texts, str):
        texts = [texts]
    for number, item in enumerate(texts, start=1):
        if not isinstance(item, str) or not item.strip():
            problem = "empty" if isinstance(item, str) else f"not a string but {type(item).__name__}"
            raise ZooError(f"text {number} is {problem}", "pass non-empty strings")
    return [t.strip() for t in texts]


def cli_texts(args: Sequence[str], file: str | None, example: str) -> list[str]:
    """`zoo predict` texts: the arguments, then the non-blank lines of `--file`."""
    texts = list(args)
    if file is not None:
        texts += [line.strip() for line in read_text(Path(file)).splitlines() if line.strip()]
    if not texts:
        raise ZooError("no texts to predict", f'pass texts (zoo predict RUN "{example}") or --file lines.txt')
    return texts


def pad(sequences: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids (N, longest), lengths (N,)): the sequences (lists or numpy arrays) right-padded with `pad_id`."""

    lengths = np.fromiter(map(len, sequences), np.int64, len(sequences))
    ids = np.full((len(sequences), int(lengths.max()) if len(sequences) else 0), pad_id, dtype=np.int64)
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = sequence
    return torch.from_numpy(ids), torch.from_numpy(lengths)


class LengthBatches(BatchSampler):
    """Batches of similar lengths from the indices `sampler` yields (a random, sequential or
    distributed sampler over a dataset with `lengths`): each run of `pool` batches' worth of
    indices is sorted by length and cut into batches; when the sampler shuffles, the batches'
    order is shuffled too. Every index comes once per epoch.

    It has BatchSampler's signature, so on several devices Lightning rebuilds it around a
    DistributedSampler and each device batches its own share."""

    def __init__(self, sampler: Sampler[int], batch_size: int, drop_last: bool = False, pool: int = 50) -> None:
        super().__init__(sampler, batch_size, drop_last)
        dataset = getattr(sampler, "dataset", None) or getattr(sampler, "data_source", None)
        if dataset is None or not hasattr(dataset, "lengths"):
            raise ValueError("LengthBatches needs a sampler over a dataset with `lengths`")
        self.lengths = dataset.lengths
        self.pool = pool
        self.shuffle = isinstance(sampler, RandomSampler) or bool(getattr(sampler, "shuffle", False))

    def __iter__(self) -> Iterator[list[int]]:

        order = np.fromiter(self.sampler, np.int64)
        lengths = np.asarray(self.lengths)
        span = self.batch_size * self.pool
        batches = []
        for start in range(0, len(order), span):
            pooled = order[start : start + span]
            pooled = pooled[np.argsort(lengths[pooled], kind="stable")]
            batches += [pooled[i : i + self.batch_size] for i in range(0, len(pooled), self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        if self.shuffle:  # the batches' order follows the sampler's epoch, as its order does
            seed = epoch_seed(getattr(self.sampler, "seed", 0), getattr(self.sampler, "epoch", 0), BATCH_ORDER)
            generator = torch.Generator().manual_seed(seed)
            batches = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
        for batch in batches:
            yield batch.tolist()
