"""The plugin metadata the sequence-to-sequence tasks share: their two trained models, the
model and optimizer defaults, and the demo settings. Plain data: importing it imports no torch."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from zoo.plugins import Model, Setting
from zoo.shared_settings import HOLD_OUT, TOKENIZER

SOURCE_COLUMNS = ("source", "src", "input")  # a table's source and target columns, when data.*_column is null
TARGET_COLUMNS = ("target", "tgt", "output")
COPIES = "copies"  # the tag of a model that copies source words (`zoo.seq2seq.copying`)


def trained_models(transformer_params: int, gru_params: int, pointer_params: int, max_positions: int) -> dict[str, Model]:
    """`transformer`, `gru-attention` and `pointer-generator`, with their parameter counts on the task's demo."""
    return {
        "transformer": Model(
            builder="zoo.seq2seq.models:Transformer",
            summary="Vaswani et al. (2017)'s encoder-decoder (pre-norm, tied output), random init; or model.pretrained=NAME_OR_DIR, any AutoModelForSeq2SeqLM",
            params=transformer_params,
            settings={
                "dim": Setting(256, "the model's width (a multiple of model.heads)", range="[1, inf)"),
                "layers": Setting(3, "encoder layers, and as many decoder layers", range="[1, inf)"),
                "heads": Setting(4, "attention heads", range="[1, inf)"),
                "ff_dim": Setting(1024, "the feed-forward layers' width", range="[1, inf)"),
                "dropout": Setting(0.1, "dropout in attention and feed-forward layers", range="[0, 1)"),
                "max_positions": Setting(max_positions, "the longest source or target, in tokens", range="[4, inf)"),
                "pretrained": Setting(None, "a hub name or folder: fine-tune that AutoModelForSeq2SeqLM (its tokenizer too) instead", type=str),
            },
            tags=("pretrained",),
            overrides={"optim": {"lr": 5e-4, "warmup_epochs": 1.0}},  # attention trains unsteadily without warm-up
        ),
        "gru-attention": Model(
            builder="zoo.seq2seq.models:GRUAttention",
            summary="Bahdanau et al. (2015): a bidirectional GRU encoder, a GRU decoder with additive attention",
            params=gru_params,
            settings={
                "embedding_dim": Setting(256, "token vector size", range="[1, inf)"),
                "hidden_size": Setting(512, "GRU units (the encoder's in each direction)", range="[1, inf)"),
                "dropout": Setting(0.2, "dropout on embeddings and before the output layer", range="[0, 1)"),
            },
        ),
        "pointer-generator": Model(
            builder="zoo.seq2seq.pointer:PointerGenerator",
            summary="See et al. (2017): a bidirectional LSTM encoder, an attention decoder that copies source words (names, numbers, unknown words), with coverage",
            params=pointer_params,
            settings={
                "embedding_dim": Setting(128, "token vector size", range="[1, inf)"),
                "hidden_size": Setting(256, "LSTM units (the encoder's in each direction)", range="[1, inf)"),
                "dropout": Setting(0.2, "dropout on embeddings and before the output layer", range="[0, 1)"),
                "coverage": Setting(True, "attend with the coverage (the attention so far) and train with the coverage loss, against repetition"),
                "coverage_weight": Setting(1.0, "the coverage loss's weight in the training loss", range="[0, inf)"),
            },
            tags=(COPIES,),
            overrides={"trainer": {"gradient_clip_val": 2.0}},  # as See et al.: LSTM gradients spike
        ),
    }


SETTINGS: dict[str, Setting] = {
    **TOKENIZER,
    "model.vocab_size": replace(TOKENIZER["model.vocab_size"], default=10000),
    "model.lowercase": replace(TOKENIZER["model.lowercase"], default=False),  # BLEU and ROUGE outputs keep their case
    "model.shared_vocab": Setting(True, "one tokenizer and embedding table for both sides"),
    "model.label_smoothing": Setting(0.1, "the share of the target probability spread over the vocabulary in the training loss", range="[0, 1)"),
    "model.beam": Setting(4, "beam width of zoo predict and zoo evaluate (validation during training decodes greedily)", range="[1, inf)"),
    "model.length_penalty": Setting(1.0, "beam search: scores divided by length to this power (above 1 favours longer outputs)", range="[0, inf)"),
    "model.max_output": Setting(128, "the longest output decoded, in tokens", range="[1, inf)"),
    **HOLD_OUT,
}
OPTIM_DEFAULTS: dict[str, Any] = {"name": "adamw", "lr": 1e-3, "weight_decay": 0.01, "scheduler": "cosine"}
# The demo pairs are few and short: small batches, a higher learning rate, no warm-up.
DEMO: dict[str, Any] = {"data": {"batch_size": 16}, "optim": {"lr": 1e-3, "warmup_epochs": 0.0}, "trainer": {"max_epochs": 8}}
