"""Words copied from the source that the vocabulary lacks: See et al. (2017)'s extended vocabulary.

A model that copies (tagged `copies` in its catalog entry) reads each source's unknown tokens
([UNK]: a WordPiece word with a character never seen in training) under ids of their own:
vocabulary size + k for the source's k-th distinct unknown word. It can output such an id, which
decodes to the word as the source wrote it; a target's [UNK] that is one of its source's unknown
words gets the same id, so the model learns to copy it. Texts are read again (and tokenized with
offsets) only for the rare sources and targets that hold an [UNK].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from zoo import text

UNK_ID = text.SPECIAL_TOKENS.index(text.UNK)


def _unknown_words(tokenizer: Any, source: str, ids: Sequence[int], special_tokens: bool) -> list[str]:
    """The text of each [UNK] among `ids` (the first tokens of `source`, as `tokenizer` encodes it), in order."""
    encoding = tokenizer.encode(source, add_special_tokens=special_tokens)
    return [source[start:end] for token, (start, end) in zip(encoding.ids[: len(ids)], encoding.offsets) if token == UNK_ID]


class Copying:
    """The extended ids of sources and targets, and the texts of outputs holding them."""

    def __init__(self, source_tokenizer: Any, target_tokenizer: Any) -> None:
        self.source_tokenizer, self.target_tokenizer = source_tokenizer, target_tokenizer
        self.vocab = target_tokenizer.get_vocab_size()

    def source(self, ids: Sequence[int], read: Callable[[], str]) -> tuple[list[int], list[str]]:
        """(the source's ids, each [UNK] replaced by vocab + k, the distinct unknown words k);
        `read` gives the source's text, read only when it holds an [UNK]."""
        ids = [int(i) for i in ids]
        if UNK_ID not in ids:
            return ids, []
        words = iter(_unknown_words(self.source_tokenizer, read(), ids, special_tokens=True))
        distinct: list[str] = []
        for position, token in enumerate(ids):
            if token == UNK_ID:
                word = next(words, "")
                if word not in distinct:
                    distinct.append(word)
                ids[position] = self.vocab + distinct.index(word)
        return ids, distinct

    def target(self, ids: Sequence[int], read: Callable[[], str], source_words: Sequence[str]) -> list[int]:
        """The target's ids, each [UNK] that is one of `source_words` replaced by its extended id."""
        ids = [int(i) for i in ids]
        if UNK_ID not in ids or not source_words:
            return ids
        words = iter(_unknown_words(self.target_tokenizer, read(), ids, special_tokens=False))
        for position, token in enumerate(ids):
            if token == UNK_ID and (word := next(words, None)) in source_words:
                ids[position] = self.vocab + list(source_words).index(word)
        return ids

    def decode(self, sequences: Sequence[Sequence[int]], words: Sequence[Sequence[str]]) -> list[str]:
        """`text.decode`, with each extended id the unknown word of its row's source."""
        plain = [row for row, ids in enumerate(sequences) if all(i < self.vocab for i in ids)]
        texts = dict(zip(plain, text.decode(self.target_tokenizer, [sequences[row] for row in plain])))
        return [texts[row] if row in texts else self._decode_copied(ids, row_words) for row, (ids, row_words) in enumerate(zip(sequences, words))]

    def _decode_copied(self, ids: Sequence[int], words: Sequence[str]) -> str:
        tokenizer = self.target_tokenizer
        pieces = [  # special tokens dropped, as decode drops them; an id past the row's words names none
            tokenizer.id_to_token(i) if i < self.vocab else words[i - self.vocab]
            for i in ids if len(text.SPECIAL_TOKENS) <= i < self.vocab + len(words)
        ]
        joined = tokenizer.decoder.decode(pieces) if tokenizer.decoder is not None else " ".join(pieces)
        return text.tidy_wordpiece(tokenizer, joined)
