"""Generation metrics equal the reference implementations on the same outputs."""

from __future__ import annotations

import pytest
import sacrebleu
from rouge_score import rouge_scorer

from zoo.seq2seq.metrics import sentences_on_lines, summary_scores, translation_scores

HYPOTHESES = ["A man rides a bike down the street.", "Two dogs play in the snow", "A woman is cooking. She smiles at us!"]
REFERENCES = ["A man is riding a bicycle on the street.", "Two dogs are playing in the snow.", "A woman cooks dinner. She is smiling."]


def test_bleu_and_chrf_are_sacrebleus():
    scores = translation_scores(HYPOTHESES, REFERENCES)
    assert scores["bleu"] == pytest.approx(sacrebleu.corpus_bleu(HYPOTHESES, [REFERENCES]).score, abs=1e-9)
    assert scores["chrf"] == pytest.approx(sacrebleu.corpus_chrf(HYPOTHESES, [REFERENCES]).score, abs=1e-9)
    assert translation_scores(REFERENCES, REFERENCES)["bleu"] == pytest.approx(100)


def test_rouge_is_rouge_scores_mean_f_measure():
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True)
    expected = [scorer.score(r.replace(". ", ".\n"), h.replace(". ", ".\n").replace("! ", "!\n")) for h, r in zip(HYPOTHESES, REFERENCES)]
    scores = summary_scores(HYPOTHESES, REFERENCES)
    for key in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        assert scores[key] == pytest.approx(100 * sum(e[key].fmeasure for e in expected) / 3, abs=1e-9)
    assert scores["rougeLsum"] != scores["rougeL"]  # sentence-level LCS: a real difference here


def test_sentences_go_one_per_line():
    assert sentences_on_lines("It rained. We stayed in!\nThen what? Nothing") == "It rained.\nWe stayed in!\nThen what?\nNothing"
