"""Translation's module: the shared sequence-to-sequence module, scored with sacreBLEU and chrF."""

from __future__ import annotations

from zoo.seq2seq.data import Columns
from zoo.seq2seq.metrics import translation_scores
from zoo.seq2seq.module import Seq2SeqModule


class TranslationModule(Seq2SeqModule):
    """BLEU picks the best checkpoint; chrF is logged beside it."""

    scores = staticmethod(translation_scores)
    headline = "bleu"
    columns = Columns()
    example_text = "Ein Mann fährt Fahrrad."
