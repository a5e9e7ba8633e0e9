"""Encoder-decoder networks from scratch, for translation and summarization.

Each takes source ids (N, S) with their lengths (N,) and, for training, the target fed to the
decoder (N, T: BOS + target, teacher forcing), returning next-token logits (N, T, V). For
generation each also decodes step by step (`encode`, `start`, `step`; see `decoding`).
Padding is id `pad_id` on both sides and never attended to.

The `model.*` keys arrive keyword-only and always given: their defaults are declared once, in
`zoo.seq2seq.catalog`, and checked there before a run.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from zoo.hub import hub_model
from zoo.seq2seq.decoding import Tensors


def padding_mask(lengths: torch.Tensor, width: int) -> torch.Tensor:
    """(N, width) True where a position is padding."""
    return torch.arange(width, device=lengths.device)[None, :] >= lengths[:, None]


class SinusoidalPositions(nn.Module):
    """Vaswani et al.'s fixed sine/cosine positions, added to embeddings scaled by sqrt(d)."""

    def __init__(self, dim: int, max_positions: int) -> None:
        super().__init__()
        position = torch.arange(max_positions)[:, None]
        frequency = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))
        table = torch.zeros(max_positions, dim)
        table[:, 0::2] = torch.sin(position * frequency)
        table[:, 1::2] = torch.cos(position * frequency[: dim // 2])
        self.register_buffer("table", table, persistent=False)
        self.scale = math.sqrt(dim)

    def forward(self, embedded: torch.Tensor, offset: int = 0) -> torch.Tensor:
        return embedded * self.scale + self.table[offset : offset + embedded.shape[1]]


class Transformer(nn.Module):
    """Vaswani et al. (2017)'s encoder-decoder from `torch.nn` transformer layers (pre-norm),
    sinusoidal positions, the output layer tied to the target embeddings, and source and target
    embeddings shared when both sides use one vocabulary."""

    def __init__(
        self,
        src_vocab: int,
        tgt_vocab: int,
        pad_id: int,
        shared_vocab: bool,
        *,
        dim: int,
        layers: int,
        heads: int,
        ff_dim: int,
        dropout: float,
        max_positions: int,
    ) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not a multiple of heads {heads}")
        self.pad_id, self.heads = pad_id, heads
        self.tgt_embedding = nn.Embedding(tgt_vocab, dim, padding_idx=pad_id)
        self.src_embedding = self.tgt_embedding if shared_vocab else nn.Embedding(src_vocab, dim, padding_idx=pad_id)
        for embedding in {id(e): e for e in (self.src_embedding, self.tgt_embedding)}.values():
            nn.init.normal_(embedding.weight, std=dim**-0.5)
            with torch.no_grad():
                embedding.weight[pad_id] = 0
        self.positions = SinusoidalPositions(dim, max_positions)
        self.dropout = nn.Dropout(dropout)
        options = {"d_model": dim, "nhead": heads, "dim_feedforward": ff_dim, "dropout": dropout, "batch_first": True, "norm_first": True}
        self.encoder = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(**options), layers, norm=nn.LayerNorm(dim), enable_nested_tensor=False  # pre-norm has no nested fast path
        )
        self.decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(**options), layers, norm=nn.LayerNorm(dim))

    def _embed(self, embedding: nn.Embedding, ids: torch.Tensor, offset: int = 0) -> torch.Tensor:
        return self.dropout(self.positions(embedding(ids), offset))

    def _encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = padding_mask(src_lengths, src.shape[1])
        return self.encoder(self._embed(self.src_embedding, src), src_key_padding_mask=mask), mask

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        memory, memory_mask = self._encode(src, src_lengths)
        causal = nn.Transformer.generate_square_subsequent_mask(tgt_in.shape[1], device=tgt_in.device, dtype=torch.bool)
        hidden = self.decoder(
            self._embed(self.tgt_embedding, tgt_in), memory, tgt_mask=causal, tgt_is_causal=True,
            tgt_key_padding_mask=tgt_in == self.pad_id, memory_key_padding_mask=memory_mask,
        )
        return hidden @ self.tgt_embedding.weight.T  # tied output layer

    # Step decoding with a key-value cache: the encoder's keys and values are projected once per
    # layer, and each step attends from the new token only, over the cached keys and values of
    # the tokens before it. It computes what `forward` does (test), through the same weights.

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(N, T, dim) -> (N, heads, T, dim / heads)."""
        return x.unflatten(-1, (self.heads, -1)).transpose(1, 2)

    def _attend(self, attention: nn.MultiheadAttention, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, allowed: torch.Tensor | None = None) -> torch.Tensor:
        dim = query.shape[-1]
        query = self._split_heads(F.linear(query, attention.in_proj_weight[:dim], attention.in_proj_bias[:dim]))
        attended = F.scaled_dot_product_attention(query, keys, values, attn_mask=allowed)
        return attention.out_proj(attended.transpose(1, 2).flatten(2))

    def _project(self, attention: nn.MultiheadAttention, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The keys and values of `x` for `attention`, split into heads."""
        dim = x.shape[-1]
        keys, values = F.linear(x, attention.in_proj_weight[dim:], attention.in_proj_bias[dim:]).chunk(2, dim=-1)
        return self._split_heads(keys), self._split_heads(values)

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> Tensors:
        memory, mask = self._encode(src, src_lengths)
        encoded = {"allowed": ~mask[:, None, None, :]}  # (N, 1, 1, S): which source positions to attend to
        for i, layer in enumerate(self.decoder.layers):
            encoded[f"keys{i}"], encoded[f"values{i}"] = self._project(layer.multihead_attn, memory)
        return encoded

    def start(self, memory: Tensors) -> Tensors:
        empty = memory["keys0"][:, :, :0]
        return {f"{kind}{i}": empty for i in range(len(self.decoder.layers)) for kind in ("self_keys", "self_values")}

    def step(self, memory: Tensors, state: Tensors, tokens: torch.Tensor) -> tuple[torch.Tensor, Tensors]:
        x = self._embed(self.tgt_embedding, tokens[:, None], offset=state["self_keys0"].shape[2])
        cache: Tensors = {}
        for i, layer in enumerate(self.decoder.layers):  # a pre-norm nn.TransformerDecoderLayer, one position
            normed = layer.norm1(x)
            keys, values = self._project(layer.self_attn, normed)
            cache[f"self_keys{i}"] = keys = torch.cat([state[f"self_keys{i}"], keys], dim=2)
            cache[f"self_values{i}"] = values = torch.cat([state[f"self_values{i}"], values], dim=2)
            x = x + layer.dropout1(self._attend(layer.self_attn, normed, keys, values))
            x = x + layer.dropout2(self._attend(layer.multihead_attn, layer.norm2(x), memory[f"keys{i}"], memory[f"values{i}"], memory["allowed"]))
            x = x + layer.dropout3(layer.linear2(layer.dropout(layer.activation(layer.linear1(layer.norm3(x))))))
        return self.decoder.norm(x[:, 0]) @ self.tgt_embedding.weight.T, cache


class GRUAttention(nn.Module):
    """Bahdanau et al. (2015): a bidirectional GRU encoder, and a GRU decoder that at each step
    attends over the encoder states with additive attention and predicts from its state, the
    context and the previous token."""

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
    ) -> None:
        super().__init__()
        self.pad_id = pad_id
        self.tgt_embedding = nn.Embedding(tgt_vocab, embedding_dim, padding_idx=pad_id)
        self.src_embedding = self.tgt_embedding if shared_vocab else nn.Embedding(src_vocab, embedding_dim, padding_idx=pad_id)
        self.encoder = nn.GRU(embedding_dim, hidden_size, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * hidden_size, hidden_size)  # the decoder's first state
        self.attention_query = nn.Linear(hidden_size, hidden_size, bias=False)
        self.attention_keys = nn.Linear(2 * hidden_size, hidden_size, bias=False)
        self.attention_score = nn.Linear(hidden_size, 1, bias=False)
        self.decoder = nn.GRUCell(embedding_dim + 2 * hidden_size, hidden_size)
        self.output = nn.Linear(hidden_size + 2 * hidden_size + embedding_dim, tgt_vocab)
        self.dropout = nn.Dropout(dropout)

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> Tensors:
        embedded = self.dropout(self.src_embedding(src))
        packed = nn.utils.rnn.pack_padded_sequence(embedded, src_lengths.clamp_min(1).cpu(), batch_first=True, enforce_sorted=False)
        states, _ = self.encoder(packed)
        states, _ = nn.utils.rnn.pad_packed_sequence(states, batch_first=True, total_length=src.shape[1])
        mask = padding_mask(src_lengths.clamp_min(1), src.shape[1])
        mean = states.masked_fill(mask[..., None], 0).sum(1) / src_lengths.clamp_min(1)[:, None]
        return {"states": states, "keys": self.attention_keys(states), "mask": mask, "first": torch.tanh(self.bridge(mean))}

    def start(self, memory: Tensors) -> Tensors:
        return {"hidden": memory["first"]}

    def step(self, memory: Tensors, state: Tensors, tokens: torch.Tensor) -> tuple[torch.Tensor, Tensors]:
        embedded = self.dropout(self.tgt_embedding(tokens))
        scores = self.attention_score(torch.tanh(memory["keys"] + self.attention_query(state["hidden"])[:, None])).squeeze(-1)
        weights = scores.masked_fill(memory["mask"], -float("inf")).softmax(dim=-1)
        context = (weights[..., None] * memory["states"]).sum(dim=1)
        hidden = self.decoder(torch.cat([embedded, context], dim=-1), state["hidden"])
        logits = self.output(self.dropout(torch.cat([hidden, context, embedded], dim=-1)))
        return logits, {"hidden": hidden}

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        memory = self.encode(src, src_lengths)
        state = self.start(memory)
        steps = []
        for t in range(tgt_in.shape[1]):
            logits, state = self.step(memory, state, tgt_in[:, t])
            steps.append(logits)
        return torch.stack(steps, dim=1)


IGNORED = -100  # the decoder-output id of padding: no loss (PyTorch's default ignore_index)


def sequence_loss(logits: torch.Tensor, tgt_out: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Token-level cross-entropy over the targets that are not `IGNORED` (padding)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), tgt_out.reshape(-1), ignore_index=IGNORED, label_smoothing=label_smoothing)


class PretrainedSeq2Seq(nn.Module):
    """Any transformers `AutoModelForSeq2SeqLM` (T5, BART, Marian, ...): `forward` for teacher
    forcing like the models above, and `generate`, which decodes with transformers' own
    `generate` (its key-value cache, and the model's own generation settings) instead of
    `decoding`."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        attention = ~padding_mask(src_lengths, src.shape[1])
        return self.model(input_ids=src, attention_mask=attention, decoder_input_ids=tgt_in, use_cache=False).logits

    @torch.inference_mode()
    def generate(self, src: torch.Tensor, src_lengths: torch.Tensor, end: int, max_length: int, beam: int, length_penalty: float) -> list[list[int]]:
        """The output ids of each source, without the start id and from `end` on."""
        attention = (~padding_mask(src_lengths, src.shape[1])).long()
        output = self.model.generate(
            input_ids=src, attention_mask=attention, max_new_tokens=max_length, num_beams=beam, length_penalty=length_penalty, do_sample=False,
        )
        sequences = [row[1:] for row in output.tolist()]  # after the decoder's start id
        return [row[: row.index(end)] if end in row else row for row in sequences]


def pretrained(source: str, hf_config: dict[str, Any]) -> PretrainedSeq2Seq:
    """`AutoModelForSeq2SeqLM` from `source` (a hub name or folder; see `zoo.hub.hub_model`)."""
    from transformers import AutoModelForSeq2SeqLM

    return PretrainedSeq2Seq(hub_model(AutoModelForSeq2SeqLM, source, hf_config))
