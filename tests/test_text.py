"""The text machinery the text tasks share: trained tokenizers and length-bucketed batches."""

from __future__ import annotations

import pytest
import torch

from zoo.errors import ZooError
from zoo.text import SPECIAL_TOKENS, LengthBatches, encode, load_tokenizer, pad, save_tokenizer, train_tokenizer

TEXTS = [
    "a gripping film with a superb cast",
    "dull, slow and far too long",
    "The acting is wonderful; the story gripping.",
    "a film I would not watch again",
    "wonderful photography, weak story",
] * 20


@pytest.mark.parametrize("kind", ["wordpiece", "bpe"])
def test_tokenizer_learns_the_texts_and_keeps_special_tokens_first(kind, tmp_path):
    tokenizer = train_tokenizer(TEXTS, kind=kind, vocab_size=300)
    assert [tokenizer.token_to_id(t) for t in SPECIAL_TOKENS] == list(range(len(SPECIAL_TOKENS)))
    assert tokenizer.get_vocab_size() <= 300
    [ids] = encode(tokenizer, ["A gripping film"])
    assert tokenizer.token_to_id(SPECIAL_TOKENS[1]) not in ids  # known words, no [UNK]
    assert tokenizer.decode(ids).strip() == "a gripping film"  # lowercased
    [unseen] = encode(tokenizer, ["grippingly wonderfulness"])  # new words: made of pieces
    assert len(unseen) >= 2 and tokenizer.token_to_id(SPECIAL_TOKENS[1]) not in unseen
    save_tokenizer(tokenizer, tmp_path)
    reloaded = load_tokenizer(tmp_path)
    assert encode(reloaded, TEXTS[:5]) == encode(tokenizer, TEXTS[:5])


def test_encode_cuts_to_max_length():
    tokenizer = train_tokenizer(TEXTS, vocab_size=300)
    assert [len(ids) for ids in encode(tokenizer, TEXTS[:3], max_length=4)] == [4, 4, 4]


def test_tokenizer_mistakes_are_user_errors(tmp_path):
    with pytest.raises(ZooError, match="unknown tokenizer kind 'sentencepiece'"):
        train_tokenizer(TEXTS, kind="sentencepiece")
    with pytest.raises(ZooError, match="vocabulary size"):
        train_tokenizer(TEXTS, vocab_size=3)
    with pytest.raises(ZooError, match="tokenizer.json does not exist"):
        load_tokenizer(tmp_path)


def test_pad_right_pads_to_the_longest():
    ids, lengths = pad([[5, 6, 7], [8], []], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0], [0, 0, 0]] and lengths.tolist() == [3, 1, 0]


def test_length_batches_cover_every_row_once_with_little_padding():
    generator = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, 200, (1000,), generator=generator).tolist()
    sampler = LengthBatches(lengths, batch_size=32, shuffle=True, seed=1, pool=10)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 32
    assert sorted(i for batch in batches for i in batch) == list(range(1000))

    def padded(batches: list[list[int]]) -> int:
        return sum(len(b) * max(lengths[i] for i in b) for b in batches)

    random_order = torch.randperm(1000, generator=generator).tolist()
    random_batches = [random_order[i : i + 32] for i in range(0, 1000, 32)]
    assert padded(batches) < 0.7 * padded(random_batches)


def test_length_batches_change_each_epoch_and_repeat_with_the_seed():
    lengths = list(range(100))
    first = LengthBatches(lengths, 8, shuffle=True, seed=3)
    again = LengthBatches(lengths, 8, shuffle=True, seed=3)
    assert list(first) == list(again)
    epoch_zero = list(first)
    first.set_epoch(1)
    assert list(first) != epoch_zero
    ordered = list(LengthBatches([3, 1, 2, 5, 4], 2, shuffle=False))
    assert ordered == [[1, 2], [0, 4], [3]]
