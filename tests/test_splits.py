"""One home for split names, the part a val_path/test_path plays, and the seeded hold-out."""

from __future__ import annotations

import pytest
import torch

from zoo import splits
from zoo.errors import ZooError


def test_every_usual_name_means_one_split():
    named = {name: splits.split_named(name) for name in ("train", "Training", "dev", "valid", "validation", "VAL", "test", "testing", "extra")}
    assert named == {"train": "train", "Training": "train", "dev": "val", "valid": "val", "validation": "val", "VAL": "val",
                     "test": "test", "testing": "test", "extra": None}
    assert splits.split_mentioned("instances_val2017") == "val" and splits.split_mentioned("annotations") is None


def test_two_names_for_one_split_are_refused_and_others_left_out():
    assert splits.by_split({"dev": 1, "train": 2, "unsupervised": 3}, "data") == {"train": 2, "val": 1}
    with pytest.raises(ZooError, match="data has two val splits: dev and validation"):
        splits.by_split({"dev": 1, "validation": 2, "train": 3}, "data")


def test_a_given_path_plays_its_test_else_its_validation_else_its_whole_part():
    assert splits.one_split({"train": "a", "val": "b", "test": "c"}) == "c"
    assert splits.one_split({"train": "a", "val": "b"}) == "b" and splits.one_split({"train": "a"}) == "a"
    found = splits.laid_over({"train": "t"}, {"val_path": "v.csv", "test_path": None}, lambda path: {"train": path.name})
    assert found == {"train": "t", "val": "v.csv"}


def test_the_hold_out_is_seeded_sorted_and_disjoint():
    train, val = splits.held_out(1000, 0.1, seed=7)
    assert len(val) == 100 and len(train) == 900 and not set(train) & set(val)
    assert list(train) == sorted(train) and list(val) == sorted(val)
    order = torch.randperm(1000, generator=torch.Generator().manual_seed(7))  # the rows runs always had
    assert sorted(order[:100].tolist()) == val.tolist()
    again, other = splits.held_out(1000, 0.1, seed=7), splits.held_out(1000, 0.1, seed=8)
    assert again[1].tolist() == val.tolist() and other[1].tolist() != val.tolist()
    last_train, last_val = splits.held_out(10, 0.2, seed=0, how="last")
    assert last_val.tolist() == [8, 9] and last_train.tolist() == list(range(8))
    assert [len(part) for part in splits.held_out(2, 0.01, seed=0)] == [1, 1]
    with pytest.raises(ZooError, match="a validation split needs at least two"):
        splits.held_out(1, 0.5, seed=0)


def test_a_stratified_hold_out_validates_every_class_in_proportion():
    labels = [i % 3 for i in range(60)]  # the 60 images of 3 classes
    train, val = splits.held_out(60, 0.1, seed=0, labels=labels)
    assert sorted(labels[i] for i in val) == [0, 0, 1, 1, 2, 2] and len(train) == 54
    assert list(val) == sorted(val) and not set(train) & set(val)
    assert splits.held_out(60, 0.1, seed=0, labels=labels)[1].tolist() == val.tolist()
    assert splits.held_out(60, 0.1, seed=1, labels=labels)[1].tolist() != val.tolist()
    uneven = [0] * 50 + [1] * 9 + [2]  # shares 5.08 and 0.92: the one image of class 2 trains
    held = [uneven[i] for i in splits.held_out(60, 0.1, seed=3, labels=uneven)[1]]
    assert sorted(held) == [0, 0, 0, 0, 0, 1]


def test_a_stratified_hold_out_keeps_a_training_row_of_each_class():
    train, val = splits.held_out(8, 0.9, seed=0, labels=[0, 0, 1, 1, 2, 2, 3, 3])
    assert len(val) == 4 and sorted([0, 0, 1, 1, 2, 2, 3, 3][i] for i in train) == [0, 1, 2, 3]
    every_class_once = splits.held_out(10, 0.2, seed=5, labels=list(range(10)))  # nothing to stratify: the plain draw
    assert [part.tolist() for part in every_class_once] == [part.tolist() for part in splits.held_out(10, 0.2, seed=5)]
    last = splits.held_out(10, 0.2, seed=0, how="last", labels=[0] * 8 + [1] * 2)  # the last rows, as asked
    assert last[1].tolist() == [8, 9]


def test_the_note_says_when_validation_is_too_small_to_trust():
    note = splits.validation_note([0, 0, 1, 1, 0, 1], classes=3, noun="images")
    assert note is not None and note.startswith("validation is too small to trust: 6 images")
    assert "steps of 16.7 points" in note and "40 points off" in note and "they cover 2 of the 3 classes" in note
    assert "data.val_fraction" in note and "data.val_path" in note
    covered = splits.validation_note([i % 3 for i in range(60)], classes=4, noun="texts")
    assert covered == ("validation is too small to trust: they cover 3 of the 4 classes "
                       "(hold out more with data.val_fraction, or give data.val_path)")
    assert splits.validation_note([i % 3 for i in range(splits.MIN_TRUSTED_VALIDATION)], classes=3, noun="images") is None
