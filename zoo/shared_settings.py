"""Config keys that several tasks take alike, declared once. Plain data: no torch."""

from __future__ import annotations

from zoo.plugins import Setting
from zoo.splits import HOLD_OUTS

HOLD_OUT = {
    "data.val_fraction": Setting(0.1, "the share of the training rows held out for validation, when the data has no validation split", range="(0, 1)"),
    "data.val_path": Setting(None, "a validation split of its own (a file or folder) instead of the hold-out", type=str, path=True),
    "data.test_path": Setting(None, "a test split, scored once at the end", type=str, path=True),
}
HOLD_OUT_ORDER = {
    "data.val_split": Setting("random", "which training rows are held out: a seeded random draw, or the last rows in order", choices=HOLD_OUTS),
}
IMAGE_PATH_COLUMNS = ("path", "image", "file", "filename", "filepath", "image_path", "img")
IMAGE_LABEL_COLUMNS = ("label", "class", "target", "category", "labels")
IMAGE_COLUMNS = {
    "data.image_column": Setting(None, f"tables and datasets: the column of images or image paths (default: {', '.join(IMAGE_PATH_COLUMNS[:3])}..., then the first image column)",
                                 type=str, column=True, usual=IMAGE_PATH_COLUMNS),
    "data.label_column": Setting(None, f"tables and datasets: the column of labels (default: {', '.join(IMAGE_LABEL_COLUMNS)})", type=str, column=True, usual=IMAGE_LABEL_COLUMNS),
}
TOKENIZER = {
    "model.tokenizer_kind": Setting("wordpiece", "the tokenizer learned from the training texts: WordPiece (BERT's) or byte-level BPE (GPT-2's)", choices=("wordpiece", "bpe")),
    "model.vocab_size": Setting(16000, "the learned tokenizer's vocabulary size", range="[8, inf)"),  # above the 7 special tokens (zoo.text)
    "model.lowercase": Setting(True, "lowercase texts before tokenizing"),
}
