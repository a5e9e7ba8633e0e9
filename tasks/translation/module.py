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
    example_text = "a sentence in the source language"
    # The card's usage names no language: a model translates whatever pair it was trained on.
    usage_shell = ("zoo predict {model} --file sources.txt --beam 4", "zoo predict {model} --file sources.txt --json", "zoo evaluate {model} --data test.src,test.tgt")
    usage_python = ('model.predict(sources, beam=4)  # sources: texts in the source language -> [{"output"}]',)
    limits = (
        "It translates from the source language of its training pairs only, and knows their vocabulary only.",
        "Sources are cut at max_source tokens; outputs stop at model.max_output tokens.",
        "Export is not offered: predict with zoo or zoo.load.",
    )
