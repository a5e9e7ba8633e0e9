"""Generation metrics from the reference implementations: sacreBLEU's corpus BLEU and chrF
(default settings: 13a tokenization, exponential smoothing), and Google's `rouge-score`
(ROUGE-1/2/L/Lsum F-measures with its Porter stemmer), as percentages.

torchmetrics' own versions were not used: on the same outputs its BLEU and chrF differ from
sacreBLEU's, and its ROUGE-Lsum needs NLTK data downloaded at run time.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence

ROUGE_KEYS = ("rouge1", "rouge2", "rougeL", "rougeLsum")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def translation_scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """{"bleu", "chrf"}: sacreBLEU's corpus scores of the hypotheses against one reference each."""
    import sacrebleu

    refs = [list(references)]
    return {"bleu": sacrebleu.corpus_bleu(list(hypotheses), refs).score, "chrf": sacrebleu.corpus_chrf(list(hypotheses), refs).score}


def sentences_on_lines(text: str) -> str:
    """A text with one sentence per line, as ROUGE-Lsum reads summaries (split after . ! ?)."""
    return "\n".join(part for line in text.splitlines() for part in _SENTENCE_END.split(line.strip()) if part)


def summary_scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """The mean ROUGE-1, -2, -L and -Lsum F-measures (x100) of the hypotheses against one
    reference each; for ROUGE-Lsum both sides are put one sentence per line first."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(ROUGE_KEYS), use_stemmer=True)
    scores = [scorer.score(sentences_on_lines(r), sentences_on_lines(h)) for h, r in zip(hypotheses, references)]
    return {key: 100 * statistics.fmean(s[key].fmeasure for s in scores) if scores else 0.0 for key in ROUGE_KEYS}
