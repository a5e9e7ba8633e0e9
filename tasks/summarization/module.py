"""Summarization's modules: the shared sequence-to-sequence module scored with ROUGE, and the
lead baseline's, which reads texts and has nothing to train."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from zoo.seq2seq.data import TextPairs
from zoo.seq2seq.metrics import summary_scores
from zoo.seq2seq.module import Seq2SeqModule, TextToTextModule
from zoo_tasks.summarization.data import COLUMNS, EXAMPLE


class SummarizationModule(Seq2SeqModule):
    """ROUGE-1 picks the best checkpoint; ROUGE-2, -L and -Lsum are logged beside it."""

    scores = staticmethod(summary_scores)
    headline = "rouge1"
    columns = COLUMNS
    example_text = EXAMPLE


class LeadModule(TextToTextModule):
    """The first sentences of each document (`zoo_tasks.summarization.lead.Lead`), scored like a
    trained model on the same validation pairs."""

    scores = staticmethod(summary_scores)
    headline = "rouge1"
    columns = COLUMNS
    example_text = EXAMPLE
    module_keys = Seq2SeqModule.module_keys  # the task's tokenizer and decoding settings: lead reads text

    def __init__(self, config: dict[str, Any], info: dict[str, Any]) -> None:
        super().__init__(config, info)
        self.net = self.build_net()

    def evaluation_step(self, batch: torch.Tensor, split: str) -> None:
        loader = self.trainer.val_dataloaders if split == "val" else self.trainer.test_dataloaders
        self.keep_outputs(batch, self.net(loader.dataset.source_texts.take(batch.tolist())))

    def outputs(self, texts: list[str], beam: int | None) -> list[str]:
        return self.net(texts)

    def evaluation_dataset(self, path: Path) -> Dataset:
        return TextPairs(self.evaluation_pairs(path))

    def describe(self) -> dict[str, Any]:
        return {"sentences": self.net.sentences}
