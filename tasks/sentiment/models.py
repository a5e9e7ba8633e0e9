"""Sentiment networks: token ids (N, L) and their lengths (N,) in, class logits (N, C) out.

`textcnn` and `bilstm` learn their own word embeddings; `transformer` is a BERT-style encoder
from a transformers config, or any pretrained `AutoModelForSequenceClassification`.

The `model.*` keys arrive keyword-only and always given: their defaults are declared once, in
the task's `Model.settings` (zoo_tasks.sentiment), and checked there before a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from zoo.hub import hub_model
from zoo.inference import WeightsCache, predicting


def word_embeddings(vocab_size: int, dim: int, pad_id: int) -> nn.Embedding:
    """Embeddings learned from scratch, uniform in ±0.25 as Kim (2014) starts words without
    pretrained vectors (PyTorch's N(0, 1) start is too large for Adam's steps to reshape in a
    few epochs); padding stays zero."""
    embedding = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
    nn.init.uniform_(embedding.weight, -0.25, 0.25)
    with torch.no_grad():
        embedding.weight[pad_id] = 0
    return embedding


class TextCNN(nn.Module):
    """Kim (2014): word embeddings (CNN-rand: random, uniform in ±0.25), one convolution per
    filter width, max-over-time pooling, dropout and a linear layer.

    The texts of a batch are laid end to end and convolved as one sequence, so the work follows
    the number of tokens, not the batch size times the longest text (in a batch of 32 random
    SST-2 sentences, 60% of a padded batch is padding). Each text keeps at least `max(widths)`
    places, padded, as it would in a padded batch; only windows that start inside a text and
    end inside its places are pooled (a text shorter than a width pools its first window), so
    a text scores the same alone or beside others.

    Without gradients (prediction, evaluation) the convolutions are read from a table: the
    embedding and the convolutions are both linear, so what a token adds to a filter at each of
    its taps depends on the token alone, and is worked out once for the whole vocabulary (until
    the weights change). A window is then the sum of `width` table rows, not a product with the
    filters: the same numbers, up to rounding, at a fraction of the work (TABLE_BYTES caps it)."""

    TABLE_BYTES = 256 * 2**20

    def __init__(self, vocab_size: int, num_classes: int, pad_id: int, embedding_dim: int, widths: Sequence[int], maps: int, dropout: float) -> None:
        super().__init__()
        self.embedding = word_embeddings(vocab_size, embedding_dim, pad_id)
        self.convolutions = nn.ModuleList(nn.Conv1d(embedding_dim, maps, width) for width in widths)
        self.widths = list(widths)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(maps * len(widths), num_classes)
        self._table = WeightsCache()

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        widest = max(self.widths)
        ids = F.pad(ids, (0, max(0, widest - ids.shape[1])), value=self.embedding.padding_idx or 0)
        places = lengths.clamp_min(widest)  # each text's places in the joined sequence
        if len(ids) == 1:  # one text: nothing to join, its windows are the first ones
            features = self._convolved(ids[0, : int(places[0])])
            pooled = [f[:, : max(1, int(lengths[0]) - width + 1)].amax(dim=1)[None] for width, f in zip(self.widths, features)]
            return self.classifier(self.dropout(torch.cat(pooled, dim=1)))
        kept = torch.arange(ids.shape[1], device=ids.device)[None, :] < places[:, None]
        starts = torch.cumsum(places, 0) - places  # where each text begins
        pooled = []
        for width, features in zip(self.widths, self._convolved(ids[kept])):  # features: (maps, total places - width + 1)
            windows = (lengths - width + 1).clamp_min(1)  # windows of each text that stay inside it
            offsets = torch.minimum(torch.arange(int(windows.max()), device=ids.device)[None, :], windows[:, None] - 1)
            each_text = features.index_select(1, (starts[:, None] + offsets).flatten()).view(-1, len(lengths), offsets.shape[1])
            pooled.append(each_text.amax(dim=2).T)  # (N, maps)
        return self.classifier(self.dropout(torch.cat(pooled, dim=1)))

    def _convolved(self, ids: torch.Tensor) -> list[torch.Tensor]:
        """relu(convolution) of each width over one sequence of token ids: (maps, len - width + 1) each."""
        table = self._token_table() if predicting(self) else None
        if table is None:
            embedded = self.embedding(ids).T[None]  # (1, E, len)
            return [F.relu(convolution(embedded))[0] for convolution in self.convolutions]
        rows = table[ids]  # (len, taps x maps): what each token adds at each tap of each filter
        maps, column, convolved = self.convolutions[0].out_channels, 0, []
        for width, convolution in zip(self.widths, self.convolutions):
            windows = len(ids) - width + 1
            total = convolution.bias + rows[:windows, column : column + maps]
            for tap in range(1, width):
                total += rows[tap : tap + windows, column + tap * maps : column + (tap + 1) * maps]
            convolved.append(F.relu(total).T)
            column += width * maps
        return convolved

    def _token_table(self) -> torch.Tensor | None:
        """(vocabulary, taps x maps): each token's embedding times each filter's weights at each
        tap, tap 0 of the first width first; None when it would take more than TABLE_BYTES or
        the weights are not float32 (a half-precision sum of taps would round differently)."""
        weights = [self.embedding.weight, *(c.weight for c in self.convolutions)]
        taps = sum(self.widths) * self.convolutions[0].out_channels
        if weights[0].dtype != torch.float32 or len(weights[0]) * taps * 4 > self.TABLE_BYTES:
            return None

        def make() -> torch.Tensor:
            filters = torch.cat([c.weight.permute(2, 0, 1).flatten(0, 1) for c in self.convolutions])  # (taps x maps, E)
            return self.embedding.weight @ filters.T

        return self._table.get(weights, make)

    def train(self, mode: bool = True) -> TextCNN:
        self._table.clear()  # training changes the weights, and frees the table's memory meanwhile
        return super().train(mode)


class BiLSTM(nn.Module):
    """Word embeddings (as textcnn's), a bidirectional LSTM over packed sequences (no steps spent on
    padding), the last forward and first backward states joined, dropout, a linear layer."""

    def __init__(self, vocab_size: int, num_classes: int, pad_id: int, embedding_dim: int, hidden_size: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.embedding = word_embeddings(vocab_size, embedding_dim, pad_id)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers=layers, bidirectional=True, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(2 * hidden_size, num_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        embedded = self.dropout(self.embedding(ids))
        packed = nn.utils.rnn.pack_padded_sequence(embedded, lengths.clamp_min(1).cpu(), batch_first=True, enforce_sorted=False)
        _, (hidden, _) = self.lstm(packed)
        last_forward, last_backward = hidden[-2], hidden[-1]
        return self.classifier(self.dropout(torch.cat([last_forward, last_backward], dim=1)))


class SequenceClassifier(nn.Module):
    """A transformers `...ForSequenceClassification` model behind the (ids, lengths)
    interface; the attention mask is built from the lengths."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = torch.arange(ids.shape[1], device=ids.device)[None, :] < lengths[:, None]
        return self.model(input_ids=ids, attention_mask=mask.long()).logits


def textcnn(vocab_size: int, num_classes: int, pad_id: int, *, embedding_dim: int, widths: Sequence[int], maps: int, dropout: float) -> TextCNN:
    return TextCNN(vocab_size, num_classes, pad_id, embedding_dim, widths, maps, dropout)


def bilstm(vocab_size: int, num_classes: int, pad_id: int, *, embedding_dim: int, hidden_size: int, layers: int, dropout: float) -> BiLSTM:
    return BiLSTM(vocab_size, num_classes, pad_id, embedding_dim, hidden_size, layers, dropout)


def transformer(
    vocab_size: int,
    num_classes: int,
    pad_id: int,
    *,
    hidden_size: int,
    layers: int,
    heads: int,
    intermediate_size: int,
    dropout: float,
    max_positions: int,
) -> SequenceClassifier:
    """A BERT-style encoder from a `transformers.BertConfig`, random init; the [CLS] token's
    state classifies."""
    from transformers import BertConfig, BertForSequenceClassification

    if hidden_size % heads:
        raise ValueError(f"hidden_size {hidden_size} is not a multiple of heads {heads}")
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate_size,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        max_position_embeddings=max_positions,
        pad_token_id=pad_id,
        num_labels=num_classes,
    )
    return SequenceClassifier(BertForSequenceClassification(config))


def pretrained(source: str, hf_config: dict[str, Any], classes: list[str]) -> SequenceClassifier:
    """`AutoModelForSequenceClassification` from `source` (a hub name or folder) with a new
    classification layer for `classes` (see `zoo.hub.hub_model`)."""
    from transformers import AutoModelForSequenceClassification

    labels = {"id2label": dict(enumerate(classes)), "label2id": {c: i for i, c in enumerate(classes)}}
    return SequenceClassifier(hub_model(AutoModelForSequenceClassification, source, hf_config, labels, ignore_mismatched_sizes=True))
