"""Text, shared by the text tasks (sentiment, translation, summarization): tokenizers trained
on the user's own texts with Hugging Face `tokenizers`, and batches of similar lengths padded
per batch, so little compute goes to padding.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Sampler

from zoo.errors import ZooError

PAD, UNK, CLS, SEP, MASK, BOS, EOS = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[BOS]", "[EOS]"
SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK, BOS, EOS)  # ids 0..6 in every tokenizer trained here
TOKENIZER_KINDS = ("wordpiece", "bpe")
TOKENIZER_FILE = "tokenizer.json"


def train_tokenizer(
    texts: Iterable[str], kind: str = "wordpiece", vocab_size: int = 8000, lowercase: bool = True, min_frequency: int = 2
) -> Any:
    """A `tokenizers.Tokenizer` learned from `texts`: WordPiece (BERT's normalization and
    splitting, `##` continuations) or byte-level BPE (GPT-2's: never an unknown character).
    The special tokens come first, [PAD] as id 0."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    if kind not in TOKENIZER_KINDS:
        raise ZooError(f"unknown tokenizer kind {kind!r}", f"choose {' or '.join(TOKENIZER_KINDS)}")
    if not isinstance(vocab_size, int) or vocab_size <= len(SPECIAL_TOKENS):
        raise ZooError(f"the vocabulary size must be a whole number above {len(SPECIAL_TOKENS)}, not {vocab_size!r}")
    options = {"vocab_size": vocab_size, "min_frequency": min_frequency, "special_tokens": list(SPECIAL_TOKENS), "show_progress": False}
    if kind == "wordpiece":
        tokenizer = Tokenizer(models.WordPiece(unk_token=UNK))
        tokenizer.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tokenizer.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(**options)
    else:
        tokenizer = Tokenizer(models.BPE(unk_token=UNK))
        steps = [normalizers.NFKC(), *([normalizers.Lowercase()] if lowercase else [])]
        tokenizer.normalizer = normalizers.Sequence(steps)
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), **options)
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def save_tokenizer(tokenizer: Any, folder: Path) -> Path:
    """Write `folder/tokenizer.json` (it travels with the model)."""
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / TOKENIZER_FILE))
    return folder / TOKENIZER_FILE


def load_tokenizer(folder: Path) -> Any:
    """The tokenizer saved in `folder` by `save_tokenizer`."""
    from tokenizers import Tokenizer

    path = folder / TOKENIZER_FILE
    if not path.is_file():
        raise ZooError(f"{path} does not exist", "the model folder is incomplete: train the model again")
    try:
        return Tokenizer.from_file(str(path))
    except Exception as error:  # tokenizers raises its own exception type
        raise ZooError(f"{path} is not a tokenizer file ({error})", "train the model again") from None


def encode(tokenizer: Any, texts: Sequence[str], max_length: int | None = None) -> list[list[int]]:
    """Token ids of each text (no special tokens), cut to `max_length`."""
    encodings = tokenizer.encode_batch(list(texts), add_special_tokens=False)
    return [e.ids[:max_length] if max_length else e.ids for e in encodings]


def pad(sequences: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids (N, longest), lengths (N,)): the sequences right-padded with `pad_id`."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.int64)
    ids = torch.full((len(sequences), int(lengths.max()) if len(sequences) else 0), pad_id, dtype=torch.int64)
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = torch.as_tensor(sequence, dtype=torch.int64)
    return ids, lengths


class LengthBatches(Sampler[list[int]]):
    """Batches of indices whose sequences have similar lengths. Shuffled: each epoch (see
    `set_epoch`) a seeded shuffle, then sorting by length within pools of `pool` batches, cut
    into batches that are shuffled in turn. Not shuffled: sorted by length, for evaluation and
    prediction. Either way every index comes once per epoch."""

    def __init__(self, lengths: Sequence[int], batch_size: int, *, shuffle: bool, seed: int = 0, pool: int = 50) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.pool = pool
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Lightning calls this before each training epoch: a new order every epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        size = len(self.lengths)
        if not self.shuffle:
            order = sorted(range(size), key=self.lengths.__getitem__)
            yield from (order[i : i + self.batch_size] for i in range(0, size, self.batch_size))
            return
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(size, generator=generator).tolist()
        span = self.batch_size * self.pool
        batches = []
        for start in range(0, size, span):
            pooled = sorted(order[start : start + span], key=self.lengths.__getitem__)
            batches += [pooled[i : i + self.batch_size] for i in range(0, len(pooled), self.batch_size)]
        for index in torch.randperm(len(batches), generator=generator).tolist():
            yield batches[index]
