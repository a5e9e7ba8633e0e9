"""See et al. (2017)'s pointer-generator network with coverage, from scratch.

A bidirectional LSTM encodes the source; an LSTM decoder attends over it (additive attention,
fed the coverage: the sum of the attention of the steps before). Each output token is drawn from
a mixture: with probability p_gen from the vocabulary, else copied from a source position chosen
by the attention, so names, numbers and words never seen in training come through. Source words
the vocabulary lacks have ids past it (`zoo.seq2seq.copying`): the output distribution spans the
vocabulary and them. The coverage loss, the overlap of each step's attention with the coverage,
discourages attending to (and so repeating) what was already said.

One change from the paper, for speed: the decoder LSTM is fed the previous token only, not the
previous context too, so in training it runs over the whole target at once; the attention and
coverage still go step by step.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from zoo.seq2seq.copying import UNK_ID
from zoo.seq2seq.decoding import Tensors
from zoo.seq2seq.models import padding_mask

SMALLEST_PROBABILITY = 1e-12  # the floor of output probabilities before their log (extended ids a row lacks are 0)


class Penalized(NamedTuple):
    """A network's output when its training loss has a term of its own beside the cross-entropy."""

    logits: torch.Tensor  # (N, T, V): here log-probabilities, which cross-entropy reads unchanged
    penalty: torch.Tensor  # () already weighted, added to the training loss
    name: str  # what the training log calls it


class PointerGenerator(nn.Module):
    def __init__(
        self,
        src_vocab: int,
        tgt_vocab: int,
        pad_id: int,
        shared_vocab: bool,
        *,
        embedding_dim: int,
        hidden_size: int,
        dropout: float,
        coverage: bool,
        coverage_weight: float,
    ) -> None:
        super().__init__()
        if not shared_vocab or src_vocab != tgt_vocab:
            raise ValueError("it copies source tokens into the output, so both sides need one vocabulary: set model.shared_vocab=true")
        self.vocab, self.pad_id = tgt_vocab, pad_id
        self.coverage, self.coverage_weight = coverage, coverage_weight
        self.embedding = nn.Embedding(tgt_vocab, embedding_dim, padding_idx=pad_id)
        self.encoder = nn.LSTM(embedding_dim, hidden_size, batch_first=True, bidirectional=True)
        self.reduce_hidden = nn.Linear(2 * hidden_size, hidden_size)  # the decoder's first state, from both directions' last
        self.reduce_cell = nn.Linear(2 * hidden_size, hidden_size)
        self.decoder = nn.LSTM(embedding_dim, hidden_size, batch_first=True)
        self.attention_keys = nn.Linear(2 * hidden_size, hidden_size)
        self.attention_query = nn.Linear(hidden_size, hidden_size, bias=False)
        self.attention_coverage = nn.Linear(1, hidden_size, bias=False)
        self.attention_score = nn.Linear(hidden_size, 1, bias=False)
        self.hidden_output = nn.Linear(3 * hidden_size, hidden_size)  # [state; context] -> vocabulary, as the paper's two layers
        self.output = nn.Linear(hidden_size, tgt_vocab)
        self.generate = nn.Linear(3 * hidden_size + embedding_dim, 1)  # p_gen from the context, state and input
        self.dropout = nn.Dropout(dropout)

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        """Embeddings, extended ids read as [UNK]."""
        return self.dropout(self.embedding(ids.masked_fill(ids >= self.vocab, UNK_ID)))

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> Tensors:
        lengths = src_lengths.clamp_min(1)
        packed = nn.utils.rnn.pack_padded_sequence(self._embed(src), lengths.cpu(), batch_first=True, enforce_sorted=False)
        states, (hidden, cell) = self.encoder(packed)
        states, _ = nn.utils.rnn.pad_packed_sequence(states, batch_first=True, total_length=src.shape[1])
        both = lambda last: torch.cat([last[0], last[1]], dim=-1)  # noqa: E731 (2, N, H) -> (N, 2H)
        return {
            "states": states, "keys": self.attention_keys(states), "mask": padding_mask(lengths, src.shape[1]),
            "copy_ids": src, "hidden": F.relu(self.reduce_hidden(both(hidden))), "cell": F.relu(self.reduce_cell(both(cell))),
        }

    def _attention(self, memory: Tensors, query: torch.Tensor, coverage: torch.Tensor) -> torch.Tensor:
        """Attention weights (N, S) of a query (N, H) (the decoder state projected) given the coverage (N, S)."""
        features = memory["keys"] + query[:, None]
        if self.coverage:  # the coverage's term, w_c c_i, as a broadcast product (a Linear(1, H) is a slow matmul)
            features = torch.addcmul(features, coverage[..., None].to(features.dtype), self.attention_coverage.weight[:, 0])
        scores = self.attention_score(torch.tanh(features)).squeeze(-1).float()
        return scores.masked_fill(memory["mask"], -float("inf")).softmax(dim=-1)

    def _log_probs(self, memory: Tensors, outputs: torch.Tensor, weights: torch.Tensor, embedded: torch.Tensor) -> torch.Tensor:
        """Log-probabilities (N, T, V + extended) of the mixture, from decoder outputs (N, T, H),
        attention (N, T, S) and decoder inputs (N, T, E)."""
        context = weights.to(memory["states"].dtype) @ memory["states"]
        state_context = torch.cat([outputs, context], dim=-1)
        vocabulary = self.output(self.dropout(self.hidden_output(state_context))).float().softmax(dim=-1)
        generating = torch.sigmoid(self.generate(torch.cat([state_context, embedded], dim=-1)).float())
        copy_ids = memory["copy_ids"]
        width = max(self.vocab, int(copy_ids.max()) + 1)
        probabilities = F.pad(generating * vocabulary, (0, width - self.vocab))
        index = copy_ids[:, None].expand(-1, weights.shape[1], -1)
        probabilities = probabilities.scatter_add(2, index, (1 - generating) * weights)
        return probabilities.clamp_min(SMALLEST_PROBABILITY).log()

    def start(self, memory: Tensors) -> Tensors:
        return {"hidden": memory["hidden"], "cell": memory["cell"], "coverage": torch.zeros_like(memory["mask"], dtype=torch.float)}

    def step(self, memory: Tensors, state: Tensors, tokens: torch.Tensor) -> tuple[torch.Tensor, Tensors]:
        embedded = self._embed(tokens[:, None])
        outputs, (hidden, cell) = self.decoder(embedded, (state["hidden"][None].contiguous(), state["cell"][None].contiguous()))
        weights = self._attention(memory, self.attention_query(outputs[:, 0]), state["coverage"])
        log_probs = self._log_probs(memory, outputs, weights[:, None], embedded)[:, 0]
        return log_probs, {"hidden": hidden[0], "cell": cell[0], "coverage": state["coverage"] + weights}

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor) -> Penalized | torch.Tensor:
        """Teacher forcing: log-probabilities (N, T, V + extended), with coverage the weighted
        coverage loss too, averaged over the target's tokens."""
        memory = self.encode(src, src_lengths)
        embedded = self._embed(tgt_in)
        outputs, _ = self.decoder(embedded, (memory["hidden"][None], memory["cell"][None]))
        queries = self.attention_query(outputs)
        coverage = torch.zeros_like(memory["mask"], dtype=torch.float)
        steps, overlaps = [], []
        for t in range(tgt_in.shape[1]):
            weights = self._attention(memory, queries[:, t], coverage)
            if self.coverage:
                overlaps.append(torch.minimum(weights, coverage).sum(dim=-1))
                coverage = coverage + weights
            steps.append(weights)
        log_probs = self._log_probs(memory, outputs, torch.stack(steps, dim=1), embedded)
        if not self.coverage:
            return log_probs
        real = (tgt_in != self.pad_id).float()
        overlap = (torch.stack(overlaps, dim=1) * real).sum() / real.sum().clamp_min(1)
        return Penalized(log_probs, self.coverage_weight * overlap, "coverage")
