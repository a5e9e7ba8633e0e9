"""Summarization data: tables of documents and summaries (see `zoo.seq2seq.data`), or the demo."""

from __future__ import annotations

import random
from typing import Any

from zoo import tables
from zoo.data import DataBundle
from zoo.seq2seq import data as seq2seq
from zoo.seq2seq.data import Columns, Pairs, TextPairs
from zoo_tasks.summarization import DOCUMENT_COLUMNS, SUMMARY_COLUMNS

COLUMNS = Columns(usual_source=DOCUMENT_COLUMNS, usual_target=SUMMARY_COLUMNS, roles=("document", "summary"))
EXAMPLE = "Anna: Are we still meeting on Friday?\nTom: Yes! The cinema at six?\nAnna: Perfect, see you there."

_NAMES = ["Anna", "Tom", "Maria", "Jake", "Lena", "Omar", "Sara", "Ben"]
_PLACES = ["the cinema", "the park", "the station", "the library", "the cafe", "the gym"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_TIMES = ["five", "six", "seven", "eight", "noon"]
_ITEMS = ["apples", "eggs", "bread rolls", "tomatoes", "lemons"]
_COUNTS = ["two", "three", "four", "six", "ten"]
_EVENTS = ["the party", "the meeting", "the match", "the concert", "the class"]
DEMO_SIZE = 600


def _dialogue(rng: random.Random) -> tuple[str, str]:
    first, second = rng.sample(_NAMES, 2)
    kind = rng.randrange(3)
    if kind == 0:
        place, day, time = rng.choice(_PLACES), rng.choice(_DAYS), rng.choice(_TIMES)
        lines = [f"{first}: Are we still meeting on {day}?", f"{second}: Yes! {place[0].upper() + place[1:]} at {time}?", f"{first}: Perfect, see you there."]
        return "\n".join(lines), f"{first} and {second} will meet at {place} on {day} at {time}."
    if kind == 1:
        item, count = rng.choice(_ITEMS), rng.choice(_COUNTS)
        lines = [f"{first}: Can you buy {item} on your way home?", f"{second}: Sure, how many?", f"{first}: {count[0].upper() + count[1:]}, please."]
        return "\n".join(lines), f"{second} will buy {count} {item} for {first}."
    event, day = rng.choice(_EVENTS), rng.choice(_DAYS)
    lines = [f"{first}: I can't come to {event} on {day}, I'm sick.", f"{second}: Oh no, get well soon!"]
    return "\n".join(lines), f"{first} is sick and will miss {event} on {day}."


def demo_pairs() -> dict[str, Pairs]:
    """600 short chat dialogues with one-sentence summaries, the same every time, in the style
    of SAMSum: "Anna: Can you buy eggs on your way home?\\nTom: Sure, how many?\\nAnna: Six,
    please." -> "Tom will buy six eggs for Anna."."""
    rng = random.Random(1234)
    dialogues, summaries = zip(*(_dialogue(rng) for _ in range(DEMO_SIZE)))
    table = tables.in_memory("the demo dialogues", {"dialogue": list(dialogues), "summary": list(summaries)})
    return {"train": seq2seq.pairs_of(table, "dialogue", table, "summary")}


def build_data(config: dict[str, Any]) -> DataBundle:
    """Token datasets for the trained models; for lead, the texts as they are."""
    if config["model"]["name"] != "lead":
        return seq2seq.build_data(config, COLUMNS, demo_pairs)
    found, notes = seq2seq.read_splits(config, COLUMNS, demo_pairs)
    notes.insert(0, seq2seq.counts_note(found))
    datasets = {split: TextPairs(pairs) for split, pairs in found.items()}
    info = {"rows": {"train": len(datasets["train"]), "val": len(datasets["val"])}}
    return DataBundle(train=datasets["train"], val=datasets["val"], test=datasets.get("test"), info=info, notes=notes)
