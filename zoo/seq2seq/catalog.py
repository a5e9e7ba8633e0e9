"""The plugin metadata the sequence-to-sequence tasks share: their two trained models, the
model and optimizer defaults, and the demo settings. Plain data: importing it imports no torch."""

from __future__ import annotations

from typing import Any

from zoo.plugins import Model


def trained_models(transformer_params: int, gru_params: int, max_positions: int) -> dict[str, Model]:
    """`transformer` and `gru-attention`, with their parameter counts on the task's demo."""
    return {
        "transformer": Model(
            builder="zoo.seq2seq.models:Transformer",
            summary="Vaswani et al. (2017)'s encoder-decoder (pre-norm, tied output), random init; or model.pretrained=NAME_OR_DIR, any AutoModelForSeq2SeqLM",
            params=transformer_params,
            defaults={"dim": 256, "layers": 3, "heads": 4, "ff_dim": 1024, "dropout": 0.1, "max_positions": max_positions, "pretrained": None},
            tags=("pretrained",),
            overrides={"optim": {"lr": 5e-4, "warmup_epochs": 1.0}},  # attention trains unsteadily without warm-up
        ),
        "gru-attention": Model(
            builder="zoo.seq2seq.models:GRUAttention",
            summary="Bahdanau et al. (2015): a bidirectional GRU encoder, a GRU decoder with additive attention",
            params=gru_params,
            defaults={"embedding_dim": 256, "hidden_size": 512, "dropout": 0.2},
        ),
    }


MODEL_DEFAULTS: dict[str, Any] = {
    "tokenizer_kind": "wordpiece",  # or bpe (byte-level)
    "vocab_size": 10000,
    "lowercase": False,  # BLEU and ROUGE outputs keep their case
    "shared_vocab": True,  # one tokenizer and embedding table for both sides
    "label_smoothing": 0.1,
    "beam": 4,  # zoo predict and zoo evaluate; validation during training decodes greedily
    "length_penalty": 1.0,
    "max_output": 128,  # tokens
}
SPLIT_DEFAULTS: dict[str, Any] = {"val_fraction": 0.1, "val_path": None, "test_path": None}
OPTIM_DEFAULTS: dict[str, Any] = {"name": "adamw", "lr": 1e-3, "weight_decay": 0.01, "scheduler": "cosine"}
# The demo pairs are few and short: small batches, a higher learning rate, no warm-up.
DEMO: dict[str, Any] = {"data": {"batch_size": 16}, "optim": {"lr": 1e-3, "warmup_epochs": 0.0}, "trainer": {"max_epochs": 8}}
