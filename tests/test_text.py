"""The text machinery the text tasks share: trained tokenizers and length-bucketed batches."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from torch.utils.data import DistributedSampler, SequentialSampler

from zoo.data import EpochShuffle
from zoo.errors import ZooError
from zoo.text import SPECIAL_TOKENS, LengthBatches, add_cls_sep, decode, pad, read_tokenizer, train_tokenizer
from zoo.tokens import encode

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
    [ids], _ = encode(tokenizer, ["A gripping film"])
    assert tokenizer.token_to_id(SPECIAL_TOKENS[1]) not in ids  # known words, no [UNK]
    assert tokenizer.decode(ids).strip() == "a gripping film"  # lowercased
    [unseen], _ = encode(tokenizer, ["grippingly wonderfulness"])  # new words: made of pieces
    assert len(unseen) >= 2 and tokenizer.token_to_id(SPECIAL_TOKENS[1]) not in unseen
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    reloaded = read_tokenizer(tmp_path / "tokenizer.json")
    assert encode(reloaded, TEXTS[:5]) == encode(tokenizer, TEXTS[:5])


def test_encode_cuts_to_max_length_and_counts_the_cut_texts():
    tokenizer = add_cls_sep(train_tokenizer(TEXTS, vocab_size=300))
    ids, cut = encode(tokenizer, ["a film", *TEXTS[:3]], max_length=5, special_tokens=True)
    assert [len(i) for i in ids] == [4, 5, 5, 5] and cut == 3
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    assert all(i[0] == cls and i[-1] == sep for i in ids)
    assert encode(tokenizer, ["a film"])[0][0] == ids[0][1:-1]  # without special tokens


def test_threads_encode_at_once_with_one_tokenizer_at_their_own_lengths():  # zoo serve's event loop and its threads
    tokenizer = add_cls_sep(train_tokenizer(TEXTS, vocab_size=300))
    lengths = [3, 5, 8, None] * 8
    alone = [encode(tokenizer, TEXTS, length, special_tokens=True) for length in lengths]
    with ThreadPoolExecutor(4) as threads:
        together = list(threads.map(lambda length: encode(tokenizer, TEXTS, length, special_tokens=True), lengths))
    assert together == alone and {max(len(i) for i in ids) for ids, _ in alone[:3]} == {3, 5, 8}
    assert tokenizer.truncation is None  # the tokenizer given is left as it was
    tokenizer.add_tokens(["superbly"])  # a tokenizer given tokens since: cut with them too
    [ids], _ = encode(tokenizer, ["superbly"], 5, special_tokens=True)
    assert ids[1] == tokenizer.token_to_id("superbly")


def test_a_missing_tokenizer_is_a_user_error(tmp_path):
    with pytest.raises(ZooError, match="tokenizer.json does not exist"):
        read_tokenizer(tmp_path / "tokenizer.json")


def test_pad_right_pads_to_the_longest():
    ids, lengths = pad([[5, 6, 7], [8], []], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0], [0, 0, 0]] and lengths.tolist() == [3, 1, 0]


class Lengths(torch.utils.data.Dataset):
    def __init__(self, lengths: list[int]) -> None:
        self.lengths = lengths

    def __len__(self) -> int:
        return len(self.lengths)


def batches_of(lengths: list[int], batch_size: int, *, shuffle: bool, seed: int = 0, **options) -> LengthBatches:
    dataset = Lengths(lengths)
    sampler = EpochShuffle(dataset, seed) if shuffle else SequentialSampler(dataset)
    return LengthBatches(sampler, batch_size, **options)


def test_length_batches_cover_every_row_once_with_little_padding():
    generator = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, 200, (1000,), generator=generator).tolist()
    sampler = batches_of(lengths, 32, shuffle=True, seed=1, pool=10)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 32
    assert sorted(i for batch in batches for i in batch) == list(range(1000))

    def padded(batches: list[list[int]]) -> int:
        return sum(len(b) * max(lengths[i] for i in b) for b in batches)

    random_order = torch.randperm(1000, generator=generator).tolist()
    random_batches = [random_order[i : i + 32] for i in range(0, 1000, 32)]
    assert padded(batches) < 0.7 * padded(random_batches)
    assert len(list(batches_of(lengths, 32, shuffle=True, drop_last=True))) == 31


def test_length_batches_change_each_epoch_and_repeat_with_the_seed_and_epoch():
    lengths = list(range(100))
    first = batches_of(lengths, 8, shuffle=True, seed=3)
    again = batches_of(lengths, 8, shuffle=True, seed=3)
    epoch_zero = list(first)
    assert epoch_zero == list(again) == list(first)
    first.sampler.set_epoch(1)  # as Lightning does before each epoch
    assert list(first) != epoch_zero
    first.sampler.set_epoch(0)  # a resumed run sets the epoch it continues at
    assert list(first) == epoch_zero
    assert list(batches_of([3, 1, 2, 5, 4], 2, shuffle=False)) == [[1, 2], [0, 4], [3]]


def test_length_batches_share_the_data_among_devices():
    """On several devices each one batches the share its DistributedSampler gives it."""
    lengths = torch.randint(1, 50, (101,), generator=torch.Generator().manual_seed(0)).tolist()
    dataset = Lengths(lengths)
    shares = [list(LengthBatches(DistributedSampler(dataset, num_replicas=2, rank=rank, seed=0), 8)) for rank in (0, 1)]
    assert len(shares[0]) == len(shares[1])
    seen = [i for share in shares for batch in share for i in batch]
    assert set(seen) == set(range(101)) and len(seen) == 102  # one index repeated to even the shares


def test_loader_batches_texts_by_length():
    from zoo.data import loader

    class Texts(Lengths):
        def __getitem__(self, index: int) -> int:
            return index

    lengths = [5, 1, 4, 2, 3, 6]
    batches = list(loader(Texts(lengths), {"batch_size": 2, "num_workers": 0}, shuffle=False))
    assert [sorted(lengths[i] for i in batch.tolist()) for batch in batches] == [[1, 2], [3, 4], [5, 6]]


@pytest.mark.parametrize("kind", ["wordpiece", "bpe"])
def test_training_repeats_exactly(kind):
    """Made-up names tie on many merges. `tokenizers` numbers WordPiece's ## pieces in hash-map
    order, so its ties fell differently in each training (huggingface/tokenizers#1794): here five
    trainings gave five vocabularies."""
    rng = random.Random(0)
    names = ["".join(rng.choice("bdeiklmnoprstu") for _ in range(rng.randint(3, 7))) for _ in range(300)]
    texts = [f"{a} will buy {b} for {c}, says Ž{a}." for a, b, c in zip(names, names[1:], names[2:])]
    first, *others = (train_tokenizer(texts, kind=kind, vocab_size=2000).to_str() for _ in range(5))
    assert all(other == first for other in others)


def test_wordpiece_training_refuses_texts_it_cannot_read_twice():
    with pytest.raises(TypeError, match="twice"):
        train_tokenizer(iter(TEXTS))


def test_wordpiece_pieces_are_not_special_tokens():
    tokenizer = train_tokenizer(TEXTS, vocab_size=300)
    assert tokenizer.decode([tokenizer.token_to_id("f"), tokenizer.token_to_id("##i")]) == "fi"  # a special token would be dropped
    assert [token.content for token in tokenizer.get_added_tokens_decoder().values()] == list(SPECIAL_TOKENS)


def test_decoding_joins_sub_words_even_where_an_output_starts_with_one():
    tokenizer = train_tokenizer(TEXTS, vocab_size=120)
    pieces = tokenizer.encode("wonderful photography").tokens
    assert any(piece.startswith("##") for piece in pieces)  # the words are split into pieces
    continuation = next(piece for piece in tokenizer.get_vocab() if piece.startswith("##") and piece[2:].isalpha())
    ids = [tokenizer.token_to_id(continuation), *tokenizer.encode("wonderful photography.").ids]  # an untrained model's output
    assert decode(tokenizer, [ids]) == [f"{continuation[2:]} wonderful photography."]
    tokenizer.decoder = None  # a tokenizer.json without a decoder joins pieces with spaces
    assert decode(tokenizer, [tokenizer.encode("wonderful photography").ids]) == ["wonderful photography"]
    assert all("##" not in text for text in decode(tokenizer, [[i] for i in range(tokenizer.get_vocab_size())]))


def test_decoding_joins_an_apostrophe_within_a_word():
    tokenizer = train_tokenizer(["Carl's party", "don't go", "the dogs' toys"] * 5, vocab_size=120, lowercase=False)
    texts = decode(tokenizer, [tokenizer.encode(text).ids for text in ("Carl's party", "don't go", "the dogs' toys")])
    assert texts == ["Carl's party", "don't go", "the dogs ' toys"]  # before an English ending only: a closing quote stays apart
