"""The pointer-generator: its beam finds the best sequence over the extended vocabulary, coverage
cuts repetition, unknown source words get ids of their own and come back as written, and a short
training copies names it never saw into its summaries, through zoo predict and a reloaded folder."""

from __future__ import annotations

import itertools
import json
import random
import shutil
from pathlib import Path

import pytest
import torch

import zoo
from tests.test_errors import assert_user_error
from tests.texts import write_table
from zoo import text
from zoo.seq2seq.copying import UNK_ID, Copying
from zoo.seq2seq.decoding import beam_search, greedy, length_normalized
from zoo.seq2seq.models import sequence_loss
from zoo.seq2seq.pointer import Penalized, PointerGenerator

PAD, BOS, EOS = 0, 5, 6


def tiny(vocab: int, coverage: bool = True, seed: int = 0) -> PointerGenerator:
    torch.manual_seed(seed)
    return PointerGenerator(vocab, vocab, PAD, True, embedding_dim=16, hidden_size=32, dropout=0.0, coverage=coverage, coverage_weight=1.0)


def test_a_wide_enough_beam_finds_the_best_sequence_over_the_extended_vocabulary():
    """Every output of up to 3 tokens over 3 words, EOS and one copied unknown word (id 9):
    the beam as wide as all of them returns the best, scored as beam search scores."""
    model = tiny(vocab=9).eval().requires_grad_(False)
    src, lengths = torch.tensor([[7, 9, 8, EOS]]), torch.tensor([4])
    memory = model.encode(src, lengths)
    assert model.step(memory, model.start(memory), torch.tensor([BOS]))[0].shape == (1, 10)

    def log_prob(tokens: list[int]) -> float:
        state, total = model.start(memory), 0.0
        for last, token in zip([BOS, *tokens], tokens):
            log_probs, state = model.step(memory, state, torch.tensor([last]))
            total += log_probs[0, token].item()
        return total

    words, longest = [7, 8, 9], 3
    for penalty in (0.0, 1.0):
        scored = [(length_normalized(log_prob([*body, EOS]), n + 1, penalty), list(body))
                  for n in range(longest) for body in itertools.product(words, repeat=n)]
        found = beam_search(model, src, lengths, BOS, EOS, max_length=longest, beam=len(words) ** longest, length_penalty=penalty)
        assert found == [max(scored)[1]]


def repeated_trigrams(outputs: list[list[int]]) -> int:
    return sum(len(row) - 2 - len({tuple(row[i : i + 3]) for i in range(len(row) - 2)}) for row in outputs if len(row) > 2)


def test_coverage_cuts_repeated_trigrams():
    """Copying 12 distinct tokens after 40 training steps: without coverage the decoder loops
    over what it already wrote (about a thousand repeated trigrams in 100 outputs, seeds 0-2),
    with coverage it mostly does not (30-70)."""
    vocab, length = 40, 12
    repeats = {}
    for coverage in (False, True):
        model = tiny(vocab, coverage)
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
        generator = torch.Generator().manual_seed(0)
        for _ in range(40):
            body = torch.stack([torch.randperm(vocab - 7, generator=generator)[:length] + 7 for _ in range(32)])
            src = torch.cat([body, torch.full((32, 1), EOS)], dim=1)
            output = model(src, torch.full((32,), length + 1), torch.cat([torch.full((32, 1), BOS), body], dim=1))
            loss = sequence_loss(output.logits, src) + output.penalty if isinstance(output, Penalized) else sequence_loss(output, src)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        body = torch.stack([torch.randperm(vocab - 7, generator=torch.Generator().manual_seed(99 + i))[:length] + 7 for i in range(100)])
        src = torch.cat([body, torch.full((100, 1), EOS)], dim=1)
        repeats[coverage] = repeated_trigrams(greedy(model.eval(), src, torch.full((100,), length + 1), BOS, EOS, max_length=2 * length))
    assert repeats[False] > 200 and repeats[True] < repeats[False] / 4, repeats


def test_unknown_source_words_get_ids_of_their_own_and_decode_as_written():
    tokenizer = text.train_tokenizer(["Anna will buy eggs for Tom.", "Tom: Sure, eggs."] * 5, lowercase=False)
    copying = Copying(tokenizer, tokenizer)
    vocab = tokenizer.get_vocab_size()
    source = "Žofia: buy eggs, Tom. Ørjan: Žofia."
    ids = tokenizer.encode(source).ids
    assert ids.count(UNK_ID) == 3
    extended, words = copying.source(ids, lambda: source)
    assert words == ["Žofia", "Ørjan"] and [i for i in extended if i >= vocab] == [vocab, vocab + 1, vocab]
    assert copying.source(tokenizer.encode("Tom: eggs").ids, lambda: pytest.fail("a text without [UNK] is not read")) == (tokenizer.encode("Tom: eggs").ids, [])
    target = "Ørjan, Žofia, Ŋora will buy eggs."
    tagged = copying.target(tokenizer.encode(target, add_special_tokens=False).ids, lambda: target, words)
    assert [i for i in tagged if i >= vocab or i == UNK_ID] == [vocab + 1, vocab, UNK_ID]  # Ŋora is not in the source: [UNK]
    assert copying.decode([tagged], [words]) == ["Ørjan, Žofia, will buy eggs."]  # [UNK] dropped, as decode drops it


def dialogues(count: int, seed: int) -> list[tuple[str, str]]:
    """Chats with made-up names, so a summary is right only by copying them."""
    rng = random.Random(seed)
    name = lambda: rng.choice("BDKLMNPRST") + "".join(rng.choice("abdeiklmnoprstu") for _ in range(rng.randint(3, 6)))  # noqa: E731
    rows = []
    for _ in range(count):
        first, second, item = name(), name(), rng.choice(["eggs", "bread", "apples", "milk", "rice"])
        rows.append((f"{first}: Can you buy {item}?\n{second}: Sure.", f"{second} will buy {item} for {first}."))
    return rows


def test_a_short_training_copies_names_never_seen_and_unknown_words_into_summaries(zoo_cli, tmp_path):
    data = write_table(tmp_path / "chats.jsonl", dialogues(300, seed=0), text="dialogue", label="summary")
    result = zoo_cli("train", "summarization/pointer-generator", "--data", data, "--output", tmp_path / "runs", "--json", "--max-epochs", "6",
                     "model.embedding_dim=32", "model.hidden_size=64", "model.dropout=0", "optim.lr=3e-3", "data.batch_size=16")
    assert result.code == 0, result.err
    folder = Path(json.loads(result.out)["path"])
    chats = ["Žofia: Can you buy milk?\nGrzegorz: Sure.", "Xavier: Can you buy eggs?\nQuyen: Sure."]  # Ž: a character never seen, so [UNK]
    result = zoo_cli("predict", folder, *chats, "--json")
    assert result.code == 0, result.err
    outputs = [record["output"] for record in json.loads(result.out)["predictions"]]
    assert outputs == ["Grzegorz will buy milk for Žofia.", "Quyen will buy eggs for Xavier."]
    moved = shutil.copytree(folder / "model", tmp_path / "elsewhere")
    assert [record["output"] for record in zoo.load(moved).predict(chats)] == outputs


def test_a_vocabulary_per_side_is_refused(zoo_cli):
    assert_user_error(zoo_cli("train", "translation/pointer-generator", "model.shared_vocab=false", "--max-epochs", "1"),
                      "model 'pointer-generator' rejected its settings: it copies source tokens into the output, so both sides need one vocabulary")
