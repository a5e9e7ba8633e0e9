"""Greedy and beam-search decoding, on a toy model whose every score is known."""

from __future__ import annotations

import itertools

import pytest
import torch

from zoo.seq2seq.decoding import beam_search, decode, greedy, length_normalized

BOS, EOS, VOCAB = 0, 1, 5


class Markov(torch.nn.Module):
    """Next-token logits from a fixed table by the last token, plus a bias per source."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.table = 2 * torch.randn(VOCAB, VOCAB, generator=generator)
        self.table[:, BOS] = -1e9  # BOS is never generated

    def encode(self, src, src_lengths):
        return {"bias": torch.nn.functional.one_hot(src[:, 0], VOCAB).float() * 1.5}

    def start(self, memory):
        return {"steps": torch.zeros(memory["bias"].shape[0], 1)}

    def step(self, memory, state, tokens):
        return self.table[tokens] + memory["bias"], {"steps": state["steps"] + 1}

    def log_prob(self, source: int, tokens: list[int]) -> float:
        memory = self.encode(torch.tensor([[source]]), None)
        total, last = 0.0, BOS
        for token in tokens:
            logits, _ = self.step(memory, {"steps": torch.zeros(1, 1)}, torch.tensor([last]))
            total += float(logits.log_softmax(-1)[0, token])
            last = token
        return total


def exhaustive(model: Markov, source: int, max_length: int, penalty: float) -> list[int]:
    """The best output over every sequence ended by EOS; cut at max_length only when none ends."""
    words = [t for t in range(VOCAB) if t not in (BOS, EOS)]
    ended, cut = [], []
    for n in range(max_length + 1):
        for body in itertools.product(words, repeat=n):
            if n < max_length:
                ended.append((length_normalized(model.log_prob(source, [*body, EOS]), n + 1, penalty), list(body)))
            else:
                cut.append((length_normalized(model.log_prob(source, list(body)), n, penalty), list(body)))
    return max(ended or cut)[1]


@pytest.mark.parametrize("penalty", [0.0, 1.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_wide_enough_beam_finds_the_best_sequence(penalty, seed):
    model = Markov(seed)
    sources = torch.tensor([[2], [3], [4]])
    found = beam_search(model, sources, torch.ones(3), BOS, EOS, max_length=4, beam=27, length_penalty=penalty)
    assert found == [exhaustive(model, s, 4, penalty) for s in (2, 3, 4)]


def test_beams_beat_or_match_greedy_and_batches_change_nothing():
    model = Markov(3)
    sources = torch.tensor([[2], [3], [4], [2]])
    ones = torch.ones(4)
    batched = beam_search(model, sources, ones, BOS, EOS, max_length=6, beam=3, length_penalty=1.0)
    alone = [beam_search(model, sources[i : i + 1], ones[:1], BOS, EOS, max_length=6, beam=3, length_penalty=1.0)[0] for i in range(4)]
    assert batched == alone
    greedy_out = greedy(model, sources, ones, BOS, EOS, max_length=6)
    assert decode(model, sources, ones, BOS, EOS, max_length=6, beam=1) == greedy_out

    def normalized(source: int, tokens: list[int]) -> float:
        ended = tokens + [EOS] if len(tokens) < 6 else tokens
        return length_normalized(model.log_prob(source, ended), len(ended), 1.0)

    for source, beamed, plain in zip([2, 3, 4, 2], batched, greedy_out):
        if len(plain) < 6:  # greedy's output ended: a beam's ended one is as likely or more
            assert normalized(source, beamed) >= normalized(source, plain) - 1e-6


def test_an_ending_beats_filler_that_never_ends():
    """Filler a model keeps choosing (a token after itself, never EOS) scores better per token
    than a sentence that ends: the beam returns the sentence, where greedy follows the filler."""
    model = Markov(0)
    model.table[:] = -5.0
    model.table[BOS, 2], model.table[2, EOS] = 4.0, 2.0  # "2" and the end: likely, a little less than filler
    model.table[2, 3], model.table[3, 3] = 2.5, 9.0  # filler "3 3 3 ...": nearly certain once started
    found = beam_search(model, torch.tensor([[4]]), torch.ones(1), BOS, EOS, max_length=12, beam=4, length_penalty=1.0)
    assert found == [[2]]
    assert greedy(model, torch.tensor([[4]]), torch.ones(1), BOS, EOS, max_length=12) == [[2, 3] + [3] * 10]  # greedy follows the filler


def test_greedy_stops_at_eos_and_at_max_length():
    model = Markov(0)
    model.table[:, EOS] = -1e9  # never ends
    assert [len(o) for o in greedy(model, torch.tensor([[2], [3]]), torch.ones(2), BOS, EOS, max_length=5)] == [5, 5]
    model.table[:, EOS] = 1e9  # ends at once
    assert greedy(model, torch.tensor([[2]]), torch.ones(1), BOS, EOS, max_length=5) == [[]]
    assert beam_search(model, torch.tensor([[2]]), torch.ones(1), BOS, EOS, max_length=5, beam=2) == [[]]
