"""Labelled images for classification: splits, classes, image size, transforms, statistics.

Images reach the network as uint8 (C, H, W) tensors of one size; the module scales and
normalizes them, so batches travel to the device as bytes.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from zoo.data import DataBundle, class_names
from zoo.errors import ZooError, counted
from zoo.images import SURVEYED, Fit, ImageSource, LabelledImages, TensorImages, carve, encode, in_threads, read_splits, sample, survey, to_tensor
from zoo.splits import laid_over, validation_note
from zoo_tasks.classification.models import ARCHITECTURES, input_size

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MAX_NATIVE_SIDE = 256  # larger images are scaled down to 224 unless data.image_size says otherwise
DEFAULT_SIDE = 224
STATISTICS_SAMPLE = 512  # images used for the per-channel mean and std


class ImageDataset(Dataset):
    """(uint8 image (C, H, W), class index) pairs: `images[indices[i]]` through `transform`."""

    def __init__(self, images: ImageSource, targets: Sequence[int], indices: Sequence[int], channels: int, transform: Any) -> None:
        self.images = images
        self.targets = list(targets)
        self.indices = list(indices)
        self.channels = channels
        self.transform = transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        index = self.indices[i]
        image = to_tensor(self.images[index], self.channels)
        return self.transform(image), self.targets[index]


def build_data(config: dict[str, Any]) -> DataBundle:
    """Train/val (and test) datasets and the facts the model needs: classes, channels, size,
    normalization statistics, and the sizing recipe used again at prediction time."""
    data = config["data"]
    notes: list[str] = []
    splits = read_data(data)
    train_all = splits["train"]
    classes = class_names(train_all.labels)
    if len(classes) < 2:
        raise ZooError(f"{train_all.source} has only one class ({classes[0]!r})", "classification needs at least two")
    targets = {name: encode(split, classes) for name, split in splits.items()}

    if "val" in splits:
        train_rows, val_rows = list(range(len(train_all))), None
    else:
        train_rows, val_rows = carve(len(train_all), data, config["seed"], targets["train"])
        how = "the last" if data["val_split"] == "last" else "a seeded random"
        stratified = "" if data["val_split"] == "last" else ", stratified by class"
        notes.append(f"validating on {how} {data['val_fraction']:.0%} of the training images ({len(val_rows)}){stratified}")

    found = survey(train_all.images, sample(train_rows, SURVEYED, config["seed"]))
    if note := found.conversion_note():
        notes.append(note)
    recipe = preprocessing(config, found.sizes, found.channels)
    eval_transform = transforms(recipe, augment="none")
    train_transform = transforms(recipe, augment=data["augment"])

    def dataset(split: str, rows: Sequence[int] | None, transform: Any) -> ImageDataset:
        images = splits[split].images
        indices = range(len(images)) if rows is None else rows
        return ImageDataset(images, targets[split], indices, found.channels, transform)

    train = dataset("train", train_rows, train_transform)
    val = dataset("val", None, eval_transform) if "val" in splits else dataset("train", val_rows, eval_transform)
    if data["path"] is not None and (note := validation_note([val.targets[i] for i in val.indices], len(classes), "images")):  # the demo is small on purpose
        notes.append(note)
    if data["test_path"] is None and "test" in splits:
        notes.append(f"testing on the {len(splits['test'])} images of the data's test split")
    test = dataset("test", None, eval_transform) if "test" in splits else None
    if recipe["mean"] is None:
        rows = sample(train.indices, STATISTICS_SAMPLE, config["seed"])
        recipe["mean"], recipe["std"] = channel_statistics(ImageDataset(train.images, train.targets, rows, found.channels, eval_transform))
    info = {"classes": classes, **recipe, "rows": {"train": len(train), "val": len(val)}}
    height, width = recipe["image_size"]
    notes.insert(0, f"{train_all.source}: {counted(len(train), 'training image')}, {counted(len(val), 'validation image')}, {counted(len(classes), 'class')}, "
                    f"read as {'grayscale' if found.channels == 1 else 'color'} {height}x{width}")
    return DataBundle(train=train, val=val, test=test, info=info, notes=notes)


def read_data(data: dict[str, Any]) -> dict[str, LabelledImages]:
    """The splits at data.path (or the demo), with data.val_path and data.test_path laid over."""
    columns = {"image_column": data["image_column"], "label_column": data["label_column"]}
    splits = demo_splits() if data["path"] is None else read_splits(Path(data["path"]), **columns)
    return laid_over(splits, data, lambda path: read_splits(path, **columns))


# Preprocessing -------------------------------------------------------------------------------


def preprocessing(config: dict[str, Any], sizes: Sequence[tuple[int, int]], channels: int) -> dict[str, Any]:
    """How images are sized and normalized, saved with the model so prediction matches:
    `image_size` [H, W] the network sees, `crop_fraction` of the resized image kept by the
    center crop (1 keeps all it can; ImageNet weights expect 224 of 256), `mean`/`std`
    (None: measure the data)."""
    model = config["model"]
    architecture = ARCHITECTURES.get(model["name"]) if not model["source"] else None
    imagenet = architecture is not None and (model.get("pretrained") or model.get("weights"))
    requested = config["data"]["image_size"]
    uniform = len(set(sizes)) == 1
    if requested is not None:
        size = [requested, requested]
    elif imagenet:
        size = [DEFAULT_SIDE, DEFAULT_SIDE]
    elif uniform and max(sizes[0]) <= MAX_NATIVE_SIDE:
        size = list(sizes[0])
    else:
        side = min(DEFAULT_SIDE, int(statistics.median(min(s) for s in sizes)))
        size = [side, side]
    recipe: dict[str, Any] = {
        "channels": channels,
        "image_size": input_size(None if model["source"] else model["name"], size),
        "crop_fraction": 224 / 256 if imagenet else 1.0,
        "mean": None,
        "std": None,
    }
    if imagenet:
        gray = channels == 1
        recipe["mean"] = [sum(IMAGENET_MEAN) / 3] if gray else list(IMAGENET_MEAN)
        recipe["std"] = [sum(IMAGENET_STD) / 3] if gray else list(IMAGENET_STD)
    return recipe


def transforms(recipe: dict[str, Any], augment: str) -> Any:
    """torchvision v2 transforms on uint8 tensors: fit to the model's size (see `Fit`), then
    the augmentation named by data.augment:
    light: small affine jitter (rotation, shift, scale), safe for digits and text;
    standard: random resized crops, horizontal flips and color jitter, for photographs."""
    from torchvision.transforms import v2

    size = recipe["image_size"]
    if augment == "standard":
        jitter = v2.ColorJitter(0.3, 0.3, 0.3 if recipe["channels"] == 3 else 0)
        return v2.Compose([v2.RandomResizedCrop(size, scale=(0.25, 1.0), antialias=True), v2.RandomHorizontalFlip(), jitter])
    fit = Fit(size, recipe["crop_fraction"])
    if augment == "light":
        return v2.Compose([fit, v2.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1))])
    return fit


def channel_statistics(dataset: ImageDataset) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of the images (a sample: build_data passes
    STATISTICS_SAMPLE of them), as fractions of 255; images are read several at a time."""

    def sums(i: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        image = dataset[i][0].double() / 255
        return image.sum(dim=(1, 2)), (image**2).sum(dim=(1, 2)), image.shape[1] * image.shape[2]

    total = torch.zeros(dataset.channels, dtype=torch.float64)
    squares = torch.zeros(dataset.channels, dtype=torch.float64)
    pixels = 0
    for image_total, image_squares, image_pixels in in_threads(sums, range(len(dataset))):
        total += image_total
        squares += image_squares
        pixels += image_pixels
    mean = total / pixels
    std = (squares / pixels - mean**2).clamp_min(0).sqrt()
    return mean.tolist(), torch.where(std > 1e-3, std, torch.ones_like(std)).tolist()


# The demo: shapes drawn on the spot ----------------------------------------------------------

DEMO_CLASSES = ("circle", "square", "triangle", "cross", "ring", "diamond")
DEMO_PER_CLASS = 60
DEMO_SIDE = 24


def demo_splits() -> dict[str, LabelledImages]:
    """Six shapes of random color, size and place on noisy backgrounds: 360 RGB images of
    24x24 pixels, the same every time."""
    generator = torch.Generator().manual_seed(1234)
    n = DEMO_PER_CLASS * len(DEMO_CLASSES)
    labels = [DEMO_CLASSES[i % len(DEMO_CLASSES)] for i in range(n)]
    coords = torch.arange(DEMO_SIDE, dtype=torch.float32) + 0.5
    y, x = torch.meshgrid(coords, coords, indexing="ij")
    images = torch.empty(n, 3, DEMO_SIDE, DEMO_SIDE, dtype=torch.uint8)
    for i, shape in enumerate(labels):
        radius = 5 + 4 * torch.rand((), generator=generator).item()
        cy, cx = (radius + (DEMO_SIDE - 2 * radius) * torch.rand(2, generator=generator)).tolist()
        mask = _shape_mask(shape, (y - cy) / radius, (x - cx) / radius)
        background = 255 * torch.rand(3, 1, 1, generator=generator) * 0.5
        color = 127 + 128 * torch.rand(3, 1, 1, generator=generator)
        noise = 20 * torch.randn(3, DEMO_SIDE, DEMO_SIDE, generator=generator)
        pixels = torch.where(mask, color, background) + noise
        images[i] = pixels.clamp(0, 255).round().to(torch.uint8)
    origin = "the demo shapes"
    return {"train": LabelledImages(origin, TensorImages(images, origin), labels, [origin] * n)}


def _shape_mask(shape: str, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """Pixels inside `shape`, in coordinates scaled so the shape has radius 1."""
    distance = (dx**2 + dy**2).sqrt()
    if shape == "circle":
        return distance <= 1
    if shape == "square":
        return (dx.abs() <= 0.8) & (dy.abs() <= 0.8)
    if shape == "triangle":
        return (dy <= 0.8) & (dy >= 2 * dx.abs() - 1)
    if shape == "cross":
        return ((dx.abs() <= 0.3) | (dy.abs() <= 0.3)) & (dx.abs() <= 1) & (dy.abs() <= 1)
    if shape == "ring":
        return (distance <= 1) & (distance >= 0.55)
    return dx.abs() + dy.abs() <= 1  # diamond
