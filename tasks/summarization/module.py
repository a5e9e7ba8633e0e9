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
    usage_shell = ("zoo predict {model} --file dialogues.jsonl --json", "zoo evaluate {model} --data samsum/test.jsonl")
    usage_python = ('model.predict(["Maria: Can you buy lemons?\\nJake: Sure, how many?"], beam=4)  # [{"output"}]',)
    limits = (
        "It summarizes documents like its training documents; names, places and numbers can come out wrong.",
        "Documents are cut at max_source tokens; summaries stop at model.max_output tokens.",
        "Export is not offered: predict with zoo or zoo.load.",
    )


class LeadModule(TextToTextModule):
    """The first sentences of each document (`zoo_tasks.summarization.lead.Lead`), scored like a
    trained model on the same validation pairs."""

    scores = staticmethod(summary_scores)
    headline = "rouge1"
    columns = COLUMNS
    example_text = EXAMPLE
    module_keys = Seq2SeqModule.module_keys  # the task's tokenizer and decoding settings: lead reads text
    usage_shell = SummarizationModule.usage_shell
    usage_python = ('model.predict(["Maria: Can you buy lemons?\\nJake: Sure, how many?"])  # [{"output"}]',)
    limits = ("It learns nothing: it copies the first sentences, the baseline a trained summarizer must beat.",)

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

    def interface(self) -> dict[str, Any]:
        return {"input": "documents as text; a line break or . ! ? ends a sentence", "sentences": self.net.sentences, "output": "the first sentences"}

    def describe(self) -> dict[str, Any]:
        return {"sentences": self.net.sentences}
