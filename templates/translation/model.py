"""The model of {{app_name}}. It is yours: change it, and `zoo train --config config.yaml` trains it.

zoo calls `Translator(src_vocab=..., tgt_vocab=..., pad_id=..., shared_vocab=..., **model_keys)`,
where the first four come from the tokenizers and `model_keys` are the other keys of the
`model:` section in config.yaml (here `embedding_dim`, `hidden_size` and `dropout`; the tokenizer
and decoding keys are zoo's). Source ids (N, S) are padded with `pad_id` after each source's
`src_lengths[i]` tokens.

Training calls `forward(src, src_lengths, tgt_in)` with the target shifted right (teacher
forcing) and wants next-token logits (N, T, tgt_vocab); zoo applies the label-smoothed
cross-entropy. Greedy and beam search call `encode` once, then `start` and `step` one token at a
time; `encode` and `step` return dicts of tensors whose first dimension is the batch, which beam
search repeats and reorders, so the model needs no search code of its own.
"""

import torch
from torch import nn


class Translator(nn.Module):
    """A GRU encoder and a GRU decoder that attends over the encoder's states with dot-product
    attention (Luong et al. 2015), predicting from its state and what it attended to."""

    def __init__(self, src_vocab: int, tgt_vocab: int, pad_id: int, shared_vocab: bool, embedding_dim: int = 64, hidden_size: int = 128, dropout: float = 0.1) -> None:
        super().__init__()
        self.src_embedding = nn.Embedding(src_vocab, embedding_dim, padding_idx=pad_id)
        self.tgt_embedding = self.src_embedding if shared_vocab else nn.Embedding(tgt_vocab, embedding_dim, padding_idx=pad_id)
        self.encoder = nn.GRU(embedding_dim, hidden_size, batch_first=True)
        self.decoder = nn.GRUCell(embedding_dim, hidden_size)
        self.output = nn.Linear(2 * hidden_size, tgt_vocab)
        self.dropout = nn.Dropout(dropout)

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        states, _ = self.encoder(self.dropout(self.src_embedding(src)))  # a state per source token
        mask = torch.arange(src.shape[1], device=src.device)[None, :] < src_lengths[:, None]  # real tokens
        last = states[torch.arange(len(src), device=src.device), src_lengths - 1]  # before the padding
        return {"states": states, "mask": mask, "last": last}

    def start(self, memory: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"hidden": memory["last"]}

    def step(self, memory: dict[str, torch.Tensor], state: dict[str, torch.Tensor], tokens: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        hidden = self.decoder(self.dropout(self.tgt_embedding(tokens)), state["hidden"])
        scores = (memory["states"] @ hidden[:, :, None]).squeeze(-1).masked_fill(~memory["mask"], -float("inf"))
        context = (scores.softmax(dim=-1)[:, :, None] * memory["states"]).sum(dim=1)
        return self.output(self.dropout(torch.cat([hidden, context], dim=-1))), {"hidden": hidden}

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        memory = self.encode(src, src_lengths)
        state = self.start(memory)
        logits = []
        for t in range(tgt_in.shape[1]):
            step_logits, state = self.step(memory, state, tgt_in[:, t])
            logits.append(step_logits)
        return torch.stack(logits, dim=1)
