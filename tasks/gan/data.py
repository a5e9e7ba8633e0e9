"""GAN data: real images (any format the image readers take) or points of a 2-D toy distribution.

Images reach the module as uint8 (C, H, W) of one size with their class index (-1 when the
data has no labels); the module scales them to [-1, 1]. Points are float (2,) tensors.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset, TensorDataset

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
from zoo_tasks.gan import features, toy

MAX_DEFAULT_SIDE = 64  # images larger than this (or of mixed sizes) are scaled to at most 64 unless data.image_size says otherwise
TOY_VAL_POINTS = 2500  # samples scored per evaluation, as in VEEGAN and PacGAN
SCHEDULERS = ("none", "step", "cosine")


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
    """Toy points without data.path, else real images; `info` says which (`kind`)."""
    if config["optim"]["scheduler"] not in SCHEDULERS:
        raise ZooError(f"optim.scheduler={config['optim']['scheduler']} is not offered for GANs", f"choose {', '.join(SCHEDULERS)}")
    model = config["model"]
    toy_model = model["name"] == "mlp-gan" and not model["source"]
    if config["data"]["path"] is None:
        if not toy_model and not model["source"]:
            raise ZooError(f"gan/{model['name']} generates images: pass --data (image folders, a table, MNIST IDX files, a datasets folder)",
                           "without --data, `zoo train gan` trains gan/mlp-gan on the 2-D ring of 8 Gaussians")
        return toy_data(config)
    if toy_model:
        raise ZooError("gan/mlp-gan learns 2-D points, not images", "drop --data (it trains on data.toy: ring or grid), or train gan/dcgan on images")
    return image_data(config)


def toy_data(config: dict[str, Any]) -> DataBundle:
    """data.toy_points training points and 2,500 validation points of data.toy."""
    data = config["data"]
    if data["toy_points"] < 1:
        raise ZooError(f"data.toy_points must be 1 or more, not {data['toy_points']}")
    modes, std = toy.modes_of(data["toy"])
    generator = torch.Generator().manual_seed(config["seed"])
    train = toy.sample(data["toy"], data["toy_points"], generator)
    val = toy.sample(data["toy"], TOY_VAL_POINTS, generator)
    info = {"kind": "toy", "toy": data["toy"], "modes": modes.tolist(), "std": std, "rows": {"train": len(train), "val": len(val)}}
    notes = [f"the {data['toy']} of {len(modes)} Gaussians (std {std}): {len(train):,} training points; {len(val):,} generated points are scored per validation"]
    return DataBundle(train=TensorDataset(train), val=Numbered(TensorDataset(val)), info=info, notes=notes)


def image_data(config: dict[str, Any]) -> DataBundle:
    """Training and validation images (the validation images are FID's real reference) and
    the facts the model needs again: channels, size, classes."""
    data = config["data"]
    conditional = bool(config["model"].get("conditional"))
    if not 0 < data["val_fraction"] < 1:
        raise ZooError(f"data.val_fraction must be between 0 and 1, not {data['val_fraction']}")
    if data["val_split"] not in ("random", "last"):
        raise ZooError(f"data.val_split must be 'random' or 'last', not {data['val_split']!r}")
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


class Numbered(Dataset):
    """An evaluation dataset's items with their index last: the index picks each sample's
    noise, so the generated samples are the same on any number of devices."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.rows = getattr(dataset, "rows", len(dataset))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[Any, ...]:
        return (*self.dataset[i], i)


def image_size(requested: Any, sizes: Sequence[tuple[int, int]]) -> list[int]:
    """[H, W] the GAN generates: data.image_size (a side, or [H, W]) when set; else the
    images' own size when they share one of at most 64 pixels a side; else a square of their
    median shorter side, at most 64 and rounded down to a multiple of 4."""
    if requested is not None:
        sides = requested if isinstance(requested, list) else [requested, requested]
        if len(sides) != 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sides):
            raise ZooError(f"data.image_size must be a number of pixels or [height, width], not {requested!r}", "or null for the data's own size")
        return list(sides)
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
    train = image_data(config).train
    reference = GanImages(train.images, train.targets, sample(train.indices, len(images), config["seed"] + 1), info["channels"], info["image_size"])
    return Numbered(WithReference(images, reference))
