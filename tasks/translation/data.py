"""Translation data: parallel files or tables (see `zoo.seq2seq.data`), or the demo."""

from __future__ import annotations

import random
from typing import Any

from zoo import tables
from zoo.data import DataBundle
from zoo.seq2seq import data as seq2seq
from zoo.seq2seq.data import Columns, Pairs

_NUMBERS = [("zwei", "two"), ("drei", "three"), ("vier", "four"), ("fünf", "five"), ("sechs", "six"), ("viele", "many")]
_NOUNS = [("Hunde", "dogs"), ("Katzen", "cats"), ("Kinder", "children"), ("Männer", "men"), ("Frauen", "women"), ("Vögel", "birds")]
_VERBS = [("spielen", "play"), ("laufen", "run"), ("schlafen", "sleep"), ("essen", "eat"), ("warten", "wait")]
_PLACES = [("im Park", "in the park"), ("am Strand", "on the beach"), ("im Schnee", "in the snow"), ("auf der Straße", "on the street")]
DEMO_SIZE = 600


def demo_pairs() -> dict[str, Pairs]:
    """600 short German sentences with their English translations, the same every time:
    "Drei Hunde spielen im Park." -> "Three dogs play in the park.", some joined by "und"."""
    rng = random.Random(1234)

    def clause() -> tuple[str, str]:
        (gn, en), (gs, es), (gv, ev), (gp, ep) = (rng.choice(words) for words in (_NUMBERS, _NOUNS, _VERBS, _PLACES))
        return f"{gn} {gs} {gv} {gp}", f"{en} {es} {ev} {ep}"

    sources, targets = [], []
    for _ in range(DEMO_SIZE):
        german, english = clause()
        if rng.random() < 0.3:
            second_german, second_english = clause()
            german, english = f"{german} und {second_german}", f"{english} and {second_english}"
        sources.append(german[0].upper() + german[1:] + ".")
        targets.append(english[0].upper() + english[1:] + ".")
    table = tables.in_memory("the demo pairs", {"source": sources, "target": targets})
    return {"train": seq2seq.pairs_of(table, "source", table, "target")}


def build_data(config: dict[str, Any]) -> DataBundle:
    return seq2seq.build_data(config, Columns(), demo_pairs)
