"""Batched greedy and beam-search decoding for any model that decodes step by step.

A model offers `encode(src, src_lengths) -> memory`, `start(memory) -> state` and
`step(memory, state, tokens) -> (logits (N, V), state)`, where memory and state are dicts of
tensors whose first dimension is the batch: decoding repeats and reorders them along it, so a
model needs no beam-search code of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

Tensors = dict[str, torch.Tensor]


class StepDecoder(Protocol):
    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> Tensors: ...
    def start(self, memory: Tensors) -> Tensors: ...
    def step(self, memory: Tensors, state: Tensors, tokens: torch.Tensor) -> tuple[torch.Tensor, Tensors]: ...


def select(tensors: Tensors, index: torch.Tensor) -> Tensors:
    """Rows `index` of every tensor (repeating, reordering or dropping batch entries)."""
    return {name: value.index_select(0, index) for name, value in tensors.items()}


@torch.inference_mode()
def greedy(model: StepDecoder, src: torch.Tensor, src_lengths: torch.Tensor, bos: int, eos: int, max_length: int) -> list[list[int]]:
    """The most likely next token at every step, for each source; stops at EOS (not returned)
    or after `max_length` tokens."""
    memory = model.encode(src, src_lengths)
    state = model.start(memory)
    batch = src.shape[0]
    tokens = torch.full((batch,), bos, dtype=torch.long, device=src.device)
    outputs: list[list[int]] = [[] for _ in range(batch)]
    done = torch.zeros(batch, dtype=torch.bool, device=src.device)
    for _ in range(max_length):
        logits, state = model.step(memory, state, tokens)
        tokens = logits.argmax(dim=-1)
        for row in (~done).nonzero().flatten().tolist():
            if tokens[row] != eos:
                outputs[row].append(int(tokens[row]))
        done |= tokens == eos
        if bool(done.all()):
            break
    return outputs


@dataclass
class _Finished:
    """The best complete hypotheses of one source: (length-normalized score, tokens)."""

    size: int
    hypotheses: list[tuple[float, list[int]]] = field(default_factory=list)

    def add(self, score: float, tokens: list[int]) -> None:
        self.hypotheses.append((score, tokens))
        self.hypotheses.sort(key=lambda h: -h[0])
        del self.hypotheses[self.size :]

    def full(self) -> bool:
        return len(self.hypotheses) >= self.size

    def worst(self) -> float:
        return self.hypotheses[-1][0] if self.full() else -float("inf")


def length_normalized(score: float, length: int, penalty: float) -> float:
    """A hypothesis's log-probability divided by length**penalty, its length counting the
    EOS (0: the raw log-probability, which favors short outputs; 1: the per-token average)."""
    return score / max(1, length) ** penalty


@torch.inference_mode()
def beam_search(
    model: StepDecoder,
    src: torch.Tensor,
    src_lengths: torch.Tensor,
    bos: int,
    eos: int,
    max_length: int,
    beam: int = 4,
    length_penalty: float = 1.0,
) -> list[list[int]]:
    """The best hypothesis of a beam of `beam` per source, all sources decoded together.

    Each step extends every live hypothesis by every token and keeps, per source, the `beam`
    best that do not end; those that end (EOS) join the source's finished list, scored by
    `length_normalized`. A source is done when `beam` finished hypotheses beat the best any
    live one could still reach. At `max_length` a hypothesis that never ended counts only for a
    source without any that did: else a long run of filler, its log-probability divided by its
    length, could outscore a summary that ended."""
    memory = model.encode(src, src_lengths)
    batch, device = src.shape[0], src.device
    rows = torch.arange(batch, device=device).repeat_interleave(beam)
    memory = select(memory, rows)
    state = model.start(memory)
    tokens = torch.full((batch * beam,), bos, dtype=torch.long, device=device)
    scores = torch.full((batch, beam), -float("inf"), device=device)
    scores[:, 0] = 0.0  # one live hypothesis per source at first: the beams start identical
    sequences: list[list[int]] = [[] for _ in range(batch * beam)]
    finished = [_Finished(beam) for _ in range(batch)]
    done = [False] * batch
    for length in range(1, max_length + 1):
        logits, state = model.step(memory, state, tokens)
        log_probs = logits.float().log_softmax(dim=-1)
        vocab = log_probs.shape[-1]
        totals = (scores.reshape(-1, 1) + log_probs).reshape(batch, beam * vocab)
        best, flat = totals.topk(min(2 * beam, beam * vocab), dim=1)
        origins, next_tokens, new_scores = [], [], []
        for b in range(batch):
            kept: list[tuple[int, int, float]] = []
            if not done[b]:
                for score, index in zip(best[b].tolist(), flat[b].tolist()):
                    origin, token = b * beam + index // vocab, index % vocab
                    if score == -float("inf"):
                        break
                    if token == eos:
                        finished[b].add(length_normalized(score, length, length_penalty), sequences[origin])
                    else:
                        kept.append((origin, token, score))
                    if len(kept) == beam:
                        break
                # Log-probabilities only fall as a hypothesis grows: the best live one can reach
                # at most its score now, divided by the longest length when longer is rewarded.
                longest = max_length if length_penalty > 0 else length
                reachable = length_normalized(kept[0][2], longest, length_penalty) if kept else -float("inf")
                done[b] = not kept or (finished[b].full() and finished[b].worst() >= reachable)
            while len(kept) < beam:  # a finished source keeps dummy beams, scored out
                kept.append((b * beam, eos, -float("inf")))
            for origin, token, score in kept:
                origins.append(origin)
                next_tokens.append(token)
                new_scores.append(score)
        if all(done):
            break
        index = torch.tensor(origins, device=device)
        sequences = [sequences[o] + [t] for o, t in zip(origins, next_tokens)]
        tokens = torch.tensor(next_tokens, device=device)
        scores = torch.tensor(new_scores, device=device).reshape(batch, beam)
        state = select(state, index)
    else:
        for b in range(batch):  # out of length: live hypotheses count as they are, for a source none of whose ended
            for k in range(beam):
                if not finished[b].hypotheses and scores[b, k] > -float("inf"):
                    finished[b].add(length_normalized(float(scores[b, k]), max_length, length_penalty), sequences[b * beam + k])
    return [f.hypotheses[0][1] if f.hypotheses else [] for f in finished]


def decode(model: Any, src: torch.Tensor, src_lengths: torch.Tensor, bos: int, eos: int, max_length: int, beam: int = 1, length_penalty: float = 1.0) -> list[list[int]]:
    """Greedy decoding for `beam` 1, else beam search."""
    if beam <= 1:
        return greedy(model, src, src_lengths, bos, eos, max_length)
    return beam_search(model, src, src_lengths, bos, eos, max_length, beam, length_penalty)
