"""The lead baseline: a summary made of the document's first sentences."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from zoo.seq2seq.metrics import sentences_on_lines


class Lead(nn.Module):
    """The first `sentences` sentences of each document, a line break or . ! ? ending one (in a
    dialogue, each turn is at least one). It has no weights: it is scored as it is."""

    def __init__(self, sentences: int) -> None:  # model.sentences: its default and range are declared in zoo_tasks.summarization
        super().__init__()
        self.sentences = sentences

    def forward(self, documents: Sequence[str]) -> list[str]:
        return [" ".join(sentences_on_lines(document).splitlines()[: self.sentences]) for document in documents]
