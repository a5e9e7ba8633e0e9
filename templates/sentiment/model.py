"""The model of {{app_name}}. It is yours: change it, and `zoo train --config config.yaml` trains it.

zoo calls `ReviewNet(vocab_size=..., num_classes=..., pad_id=..., **model_keys)`, where the first
three come from the tokenizer and the data and `model_keys` are the other keys of the `model:`
section in config.yaml (here `embedding_dim`, `hidden_size` and `dropout`; the tokenizer keys are
zoo's). The input is a batch of token ids (N, L), each text padded with `pad_id` after its
`lengths[i]` tokens; the output is one logit per class, (N, num_classes). zoo applies the
cross-entropy loss, the softmax and the class names.
"""

import torch
from torch import nn


class ReviewNet(nn.Module):
    """A fastText-style classifier (Joulin et al. 2016): the mean of the text's token
    embeddings, one hidden layer, then a linear layer to the classes. Padding is left out of
    the mean, so a text scores the same however long the others in its batch are."""

    def __init__(self, vocab_size: int, num_classes: int, pad_id: int, embedding_dim: int = 64, hidden_size: int = 64, dropout: float = 0.2) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        self.hidden = nn.Sequential(nn.Linear(embedding_dim, hidden_size), nn.ReLU(), nn.Dropout(dropout))
        self.classifier = nn.Linear(hidden_size, num_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = torch.arange(ids.shape[1], device=ids.device)[None, :] < lengths[:, None]  # (N, L): real tokens
        summed = (self.embedding(ids) * mask[..., None]).sum(dim=1)
        mean = summed / lengths.clamp_min(1)[:, None]
        return self.classifier(self.hidden(mean))
