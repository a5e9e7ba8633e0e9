"""The encoder-decoder networks: step-by-step decoding agrees with teacher forcing, padding
changes nothing, and 150 steps learn to copy."""

from __future__ import annotations

import pytest
import torch

from zoo.seq2seq.decoding import decode
from zoo.seq2seq.models import GRUAttention, Transformer, sequence_loss
from zoo.seq2seq.pointer import Penalized, PointerGenerator

PAD, BOS, EOS, VOCAB = 0, 1, 2, 12


def build(name: str, shared: bool = True) -> torch.nn.Module:
    torch.manual_seed(0)
    if name == "transformer":
        return Transformer(VOCAB, VOCAB, PAD, shared, dim=32, layers=2, heads=4, ff_dim=64, dropout=0.0, max_positions=64)
    if name == "pointer-generator":
        return PointerGenerator(VOCAB, VOCAB, PAD, True, embedding_dim=16, hidden_size=32, dropout=0.0, coverage=True, coverage_weight=1.0)
    return GRUAttention(VOCAB, VOCAB, PAD, shared, embedding_dim=16, hidden_size=32, dropout=0.0)


def logits_of(output: torch.Tensor | Penalized) -> torch.Tensor:
    return output.logits if isinstance(output, Penalized) else output


MODELS = ["transformer", "gru-attention", "pointer-generator"]


@pytest.mark.parametrize("name", MODELS)
def test_step_by_step_decoding_matches_teacher_forcing_and_padding_is_ignored(name):
    model = build(name, shared=name == "pointer-generator").eval()
    src = torch.tensor([[5, 6, 7, 8, 2], [9, 10, 2, PAD, PAD]])
    lengths = torch.tensor([5, 3])
    tgt_in = torch.tensor([[BOS, 4, 5, 6], [BOS, 7, 8, 9]])
    with torch.no_grad():
        forced = logits_of(model(src, lengths, tgt_in))
        memory = model.encode(src, lengths)
        state = model.start(memory)
        stepped = []
        for t in range(tgt_in.shape[1]):
            logits, state = model.step(memory, state, tgt_in[:, t])
            stepped.append(logits)
        alone = logits_of(model(src[1:, :3], lengths[1:], tgt_in[1:]))  # the second source without its padding
    assert forced.shape == (2, 4, VOCAB)
    assert torch.allclose(torch.stack(stepped, dim=1), forced, atol=1e-5)
    assert torch.allclose(alone[0], forced[1], atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_150_steps_learn_to_copy(name):
    model = build(name)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(1)
    for _ in range(150):
        body = torch.randint(3, VOCAB, (32, 4), generator=generator)
        src = torch.cat([body, torch.full((32, 1), EOS)], dim=1)
        tgt_in = torch.cat([torch.full((32, 1), BOS), body], dim=1)
        loss = sequence_loss(logits_of(model(src, torch.full((32,), 5), tgt_in)), src)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    tests = torch.tensor([[3, 4, 5, 6, EOS], [11, 10, 9, 8, EOS]])
    for beam in (1, 3):
        assert decode(model, tests, torch.tensor([5, 5]), BOS, EOS, max_length=8, beam=beam) == [[3, 4, 5, 6], [11, 10, 9, 8]]
