"""GAN image data: real images in any format the image readers take. (2-D toy points are
gan/mlp-gan's own data: `zoo_tasks.gan.toy`.)

Images reach the module as uint8 (C, H, W) of one size with their class index (-1 when the
data has no labels); the module scales them to [-1, 1].
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from zoo.data import DataBundle, class_names
from zoo.errors import ZooError
from zoo.images import (
    SURVEYED,
    Fit,
    ImageSource,
    LabelledImages,
    carve,
    encode,
    read_splits,
    sample,
    single_split,
    survey,
    to_tensor,
)
from zoo_tasks.gan import features
from zoo_tasks.gan.adversarial import Numbered

MAX_DEFAULT_SIDE = 64  # images larger than this (or of mixed sizes) are scaled to at most 64 unless data.image_size says otherwise


class GanImages(Dataset):
    """(uint8 image (C, H, W) of the model's size, class index or -1) pairs."""

    def __init__(self, images: ImageSource, targets: Sequence[int], indices: Sequence[int], channels: int, size: Sequence[int]) -> None:
        self.images = images
        self.targets = list(targets)
        self.indices = list(indices)
        self.channels = channels
        self.fit = Fit(size, 1.0)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        index = self.indices[i]
        return self.fit(to_tensor(self.images[index], self.channels)), self.targets[index]


def build_data(config: dict[str, Any]) -> DataBundle:
    """Training and validation images (the validation images are FID's real reference) and
    the facts the model needs again: channels, size, classes."""
    data = config["data"]
    if data["path"] is None:
        raise _no_images(config["model"])
    conditional = bool(config["model"].get("conditional"))
    columns = {"image_column": data["image_column"], "label_column": data["label_column"], "unlabelled": not conditional}
    splits = read_splits(Path(data["path"]), **columns)
    if data["val_path"] is not None:
        splits["val"] = single_split(Path(data["val_path"]), "val_path", columns)
    splits.pop("test", None)  # a GAN is judged on one held-out real set, its validation split
    train_all = splits["train"]
    labelled = all(split.labelled for split in splits.values())
    classes = class_names(train_all.labels) if conditional and labelled else []
    if conditional and len(classes) < 2:
        found = "no labels" if not labelled else f"one class ({classes[0]!r})"
        raise ZooError(f"a conditional GAN needs images of two or more classes; {train_all.source} has {found}",
                       "use class folders or a label column, or train gan/dcgan (unconditional)")
    targets = {name: encode(split, classes) if classes else [-1] * len(split) for name, split in splits.items()}

    notes: list[str] = []
    if "val" in splits:
        train_rows, val_rows = list(range(len(train_all))), None
    else:
        train_rows, val_rows = carve(len(train_all), data, config["seed"])
        how = "the last" if data["val_split"] == "last" else "a seeded random"
        notes.append(f"holding out {how} {data['val_fraction']:.0%} of the images ({len(val_rows)}) as the real reference for FID and KID")
    found = survey(train_all.images, sample(train_rows, SURVEYED, config["seed"]))
    if note := found.conversion_note():
        notes.append(note)
    size = image_size(data["image_size"], found.sizes)
    resized = sum(1 for s in found.sizes if list(s) != size)
    if resized:
        notes.append(f"{resized} of {len(found.sizes)} training images resized to {size[0]}x{size[1]} (scaled to cover, center-cropped)")

    def dataset(split: str, rows: Sequence[int] | None) -> GanImages:
        images = splits[split].images
        return GanImages(images, targets[split], range(len(images)) if rows is None else rows, found.channels, size)

    train = dataset("train", train_rows)
    val = dataset("val", None) if "val" in splits else dataset("train", val_rows)
    space, note = features.resolve(config["metrics"]["features"])
    notes += [note] if note else [f"FID and KID in {space['name']}, on {len(val)} generated and real validation images"]
    info = {
        "kind": "images",
        "channels": found.channels,
        "image_size": size,
        "classes": classes,
        "features": space,
        "rows": {"train": len(train), "val": len(val)},
    }
    if space is not None:  # real training images beside the validation ones give the floor
        floor_rows = sample(train_rows, len(val), config["seed"] + 1)
        val = WithReference(val, dataset("train", floor_rows))
    return DataBundle(train=train, val=Numbered(val), info=info, notes=notes)


class WithReference(Dataset):
    """The validation images, then real training images flagged as the reference that gives
    FID's floor: (image, label, 0) for the first, (image, label, 1) for the others."""

    def __init__(self, val: GanImages, reference: GanImages) -> None:
        self.val = val
        self.reference = reference
        self.rows = len(val)  # the images scored

    def __len__(self) -> int:
        return len(self.val) + len(self.reference)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, int]:
        if i < len(self.val):
            return (*self.val[i], 0)
        return (*self.reference[i - len(self.val)], 1)


def image_size(requested: Any, sizes: Sequence[tuple[int, int]]) -> list[int]:
    """[H, W] the GAN generates: data.image_size (a side, or [H, W]) when set; else the
    images' own size when they share one of at most 64 pixels a side; else a square of their
    median shorter side, at most 64 and rounded down to a multiple of 4."""
    if requested is not None:
        return list(requested) if isinstance(requested, list) else [requested, requested]
    if len(set(sizes)) == 1 and max(sizes[0]) <= MAX_DEFAULT_SIDE:
        return list(sizes[0])
    side = min(MAX_DEFAULT_SIDE, int(statistics.median(min(s) for s in sizes)))
    return [max(12, side - side % 4)] * 2


def evaluation_images(path: Path, config: dict[str, Any], info: dict[str, Any]) -> Numbered:
    """Real images at `path` prepared as the model's own (for a tree with splits, its test or
    else val part; labels read when the model is conditional), and, while the run's data is
    still there, as many of its real training images as the reference for the floor."""
    data = config["data"]
    conditional = bool(info["classes"]) and bool(config["model"].get("conditional"))
    columns = {"image_column": data["image_column"], "label_column": data["label_column"], "unlabelled": not conditional}
    split: LabelledImages = single_split(path, "path", columns)
    targets = encode(split, info["classes"]) if conditional else [-1] * len(split)
    images = GanImages(split.images, targets, range(len(split)), info["channels"], info["image_size"])
    if not Path(data["path"]).exists():
        return Numbered(images)
    train = build_data(config).train
    reference = GanImages(train.images, train.targets, sample(train.indices, len(images), config["seed"] + 1), info["channels"], info["image_size"])
    return Numbered(WithReference(images, reference))


def _no_images(model: dict[str, Any]) -> ZooError:
    """What to do when an image GAN is given no data: pass some, or train on 2-D toy points."""
    formats = "image folders, a table, MNIST IDX files, a datasets folder"
    if model["source"]:
        return ZooError(f"{model['source']!r} (model.source) is trained on images: pass --data ({formats})",
                        "or set model.base: mlp-gan to train it on 2-D toy points (data.toy)")
    return ZooError(f"gan/{model['name']} generates images: pass --data ({formats})",
                    "without --data, `zoo train gan` trains gan/mlp-gan on the 2-D ring of 8 Gaussians")
