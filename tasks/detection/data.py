"""Annotated images for detection: splits, classes, box checks, sizing and augmentation.

A dataset item is (uint8 RGB image (3, H, W), {"boxes": float (K, 4) x1 y1 x2 y2 pixels,
"labels": int64 (K,)}), the image scaled so its longer side is `image_size`. Batches are lists,
since images keep their aspect ratios.
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
from zoo.images import image_mode, in_threads, open_image, to_tensor
from zoo.splits import held_out, one_split
from zoo_tasks.detection.formats import Annotated, DetectionSplit, read_detection

MAX_DEFAULT_SIDE = 640  # larger images are scaled down to this unless data.image_size says otherwise
MIN_SIDE = 64
SIDE_MULTIPLE = 32


class DetectionDataset(Dataset):
    """`items[indices[i]]` read, checked boxes encoded as class indices, through `transform`."""

    def __init__(self, items: Sequence[Annotated], classes: Sequence[str], indices: Sequence[int], transform: Any) -> None:
        self.items = list(items)
        self.index = {name: i for i, name in enumerate(classes)}
        self.indices = list(indices)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        from torchvision import tv_tensors

        item = self.items[self.indices[i]]
        pixels = item.image if isinstance(item.image, torch.Tensor) else to_tensor(open_image(item.image), 3)
        image = tv_tensors.Image(pixels)
        boxes = tv_tensors.BoundingBoxes(
            torch.tensor(item.boxes, dtype=torch.float32).reshape(-1, 4), format="XYXY", canvas_size=tuple(pixels.shape[-2:])
        )
        labels = torch.tensor([self.index[label] for label in item.labels], dtype=torch.int64)
        image, target = self.transform(image, {"boxes": boxes, "labels": labels})
        return image.as_subclass(torch.Tensor), {"boxes": target["boxes"].as_subclass(torch.Tensor), "labels": target["labels"]}

    @staticmethod
    def collate(batch: Sequence[tuple[torch.Tensor, dict[str, torch.Tensor]]]) -> tuple[list[torch.Tensor], list[dict[str, torch.Tensor]]]:
        images, targets = zip(*batch)
        return list(images), list(targets)


def build_data(config: dict[str, Any]) -> DataBundle:
    """Train/val (and test) datasets; `info` keeps the classes and the image size."""
    data = config["data"]
    splits = read_data(data)
    notes: list[str] = []
    sizes = {name: check_boxes(split, notes) for name, split in splits.items()}
    train_all = splits["train"]
    declared = train_all.classes  # COCO categories, YOLO names; else the labels on the boxes
    classes = list(declared) if declared else class_names(label for item in train_all.items for label in item.labels)
    for split in splits.values():
        check_labels(split, classes)
    if not any(item.boxes for item in train_all.items):
        raise ZooError(f"{train_all.source} has no objects to learn from", "annotate some boxes")
    if "val" in splits:
        train_rows, val_rows = list(range(len(train_all))), None
    else:
        if len(train_all) < 2:
            raise ZooError(f"only {len(train_all)} image: a validation split needs at least two", "add images")
        train_rows, val_rows = (rows.tolist() for rows in held_out(len(train_all), data["val_fraction"], config["seed"]))
        notes.append(f"validating on a seeded random {data['val_fraction']:.0%} of the training images ({len(val_rows)})")
    image_size = choose_image_size(data["image_size"], [sizes["train"][i] for i in train_rows])
    eval_transform = transforms(image_size, "none")

    def dataset(split: str, rows: Sequence[int] | None, transform: Any) -> DetectionDataset:
        items = splits[split].items
        return DetectionDataset(items, classes, range(len(items)) if rows is None else rows, transform)

    train = dataset("train", train_rows, transforms(image_size, data["augment"]))
    val = dataset("val", None, eval_transform) if "val" in splits else dataset("train", val_rows, eval_transform)
    test = dataset("test", None, eval_transform) if "test" in splits else None
    boxes = sum(len(train.items[i].boxes) for i in train.indices)
    empty = sum(not train.items[i].boxes for i in train.indices)
    kind = f"{train_all.kind} data" if train_all.kind != "demo" else "the demo shapes"
    notes.insert(0, f"{kind}: {counted(len(train), 'training image')} ({empty:,} without objects), {counted(boxes, 'box')}, "
                    f"{counted(len(classes), 'class')}, {counted(len(val), 'validation image')}")
    info = {"classes": classes, "image_size": image_size, "rows": {"train": len(train), "val": len(val)}}
    return DataBundle(train=train, val=val, test=test, info=info, notes=notes)


def read_data(data: dict[str, Any]) -> dict[str, DetectionSplit]:
    """The splits at data.path (or the demo), with data.val_path and data.test_path laid over."""
    splits = demo_splits() if data["path"] is None else read_detection(Path(data["path"]))
    for split, key in (("val", "val_path"), ("test", "test_path")):
        if data[key] is not None:
            splits[split] = single_split(Path(data[key]), f"data.{key}")
    return splits


def single_split(path: Path, key: str) -> DetectionSplit:
    """The data at `path` (given as `key`, which names it if missing) as one split: for data
    with splits, its test (else val) part."""
    return one_split(read_detection(path, key))


def check_labels(split: DetectionSplit, classes: list[str]) -> None:
    known = set(classes)
    for item in split.items:
        for label, place in zip(item.labels, item.places):
            if label not in known:
                raise ZooError(
                    f"{place}: class {label!r} does not occur in the training data",
                    f"the training classes are {', '.join(classes[:20])}{' ...' if len(classes) > 20 else ''}",
                )


def check_boxes(split: DetectionSplit, notes: list[str]) -> list[tuple[int, int]]:
    """Read every image's size (a missing or unreadable image is an error naming the
    annotation), turn fractions into pixels, clip boxes to their image and drop boxes without
    area; clipped and dropped boxes are counted in `notes`. Returns the (height, width) sizes."""
    sizes = in_threads(_image_size, split.items)  # headers only, several files at a time
    clipped, dropped = [], []
    for item, (height, width) in zip(split.items, sizes):
        limits = [width, height, width, height]
        kept: tuple[list, list, list] = ([], [], [])
        for box, label, place in zip(item.boxes, item.labels, item.places):
            pixels = [v * s for v, s in zip(box, limits)] if item.normalized else box
            inside = [min(max(v, 0.0), limit) for v, limit in zip(pixels, limits)]
            if inside[2] <= inside[0] or inside[3] <= inside[1]:
                dropped.append(place)
                continue
            if inside != pixels:
                clipped.append(place)
            for column, value in zip(kept, (inside, label, place)):
                column.append(value)
        item.boxes, item.labels, item.places = kept
        item.normalized = False
    if clipped:
        notes.append(f"{split.source}: {len(clipped)} box(es) reached outside their image and were clipped to it, first at {clipped[0]}")
    if dropped:
        notes.append(f"{split.source}: {len(dropped)} box(es) without area (x2 <= x1 or y2 <= y1, after clipping) were dropped, first at {dropped[0]}")
    return sizes


def _image_size(item: Annotated) -> tuple[int, int]:
    """(height, width) of an item's image, from its file's header."""
    if isinstance(item.image, torch.Tensor):
        return tuple(item.image.shape[-2:])  # type: ignore[return-value]
    try:
        return image_mode(item.image)[1]
    except ZooError:
        if not item.image.is_file():  # asked only now: one look-up fewer per image
            raise ZooError(f"{item.place} names image {item.image}, which does not exist", "fix the path or remove the annotation") from None
        raise


def choose_image_size(requested: Any, sizes: Sequence[tuple[int, int]]) -> int:
    """The longer side images are scaled to: data.image_size, else the data's median longer
    side, at most 640, in multiples of 32."""
    if requested is not None:
        return requested
    side = min(MAX_DEFAULT_SIDE, statistics.median(max(s) for s in sizes))
    return max(MIN_SIDE, round(side / SIDE_MULTIPLE) * SIDE_MULTIPLE)


def transforms(image_size: int, augment: str) -> Any:
    """torchvision v2 transforms that move boxes with the pixels: scale the longer side to
    `image_size`, then data.augment: light: horizontal flips and photometric distortion;
    standard: also zoom out, random IoU crops and scale jitter (the SSD recipe). Boxes that
    lose their area are removed."""
    from torchvision.transforms import v2

    resize = resizer(image_size)
    if augment == "none":
        return v2.Compose([resize, v2.SanitizeBoundingBoxes()])
    steps: list[Any] = [v2.RandomPhotometricDistort(p=0.5), v2.RandomHorizontalFlip()]
    if augment == "standard":
        steps += [v2.RandomZoomOut(fill=0, side_range=(1.0, 2.0), p=0.3), v2.RandomIoUCrop(), v2.SanitizeBoundingBoxes()]
    return v2.Compose([*steps, resize, v2.SanitizeBoundingBoxes()])


def resizer(image_size: int) -> Any:
    """Scales an image (and its boxes) so its longer side is `image_size`."""
    from torchvision.transforms import v2

    return v2.Resize(size=None, max_size=image_size, antialias=True)


# The demo: shapes drawn on the spot ----------------------------------------------------------

DEMO_CLASSES = ("circle", "square", "triangle")
DEMO_IMAGES = 480
DEMO_SIDE = 128
DEMO_MAX_OBJECTS = 4
DEMO_CONTRAST = 80  # of 255


def demo_splits() -> dict[str, DetectionSplit]:
    """Circles, squares and triangles of random size (14 to 44 pixels) and any color that
    stands out from a noisy dark background: 480 RGB images of 128x128 pixels with 0 to 4
    objects each, the same every time."""
    generator = torch.Generator().manual_seed(4321)
    coords = torch.arange(DEMO_SIDE, dtype=torch.float32) + 0.5
    y, x = torch.meshgrid(coords, coords, indexing="ij")
    origin = "the demo shapes"
    items = []
    for number in range(DEMO_IMAGES):
        background = 255 * 0.5 * torch.rand(3, 1, 1, generator=generator)
        pixels = background + 20 * torch.randn(3, DEMO_SIDE, DEMO_SIDE, generator=generator)
        item = Annotated(torch.empty(0), f"{origin} (image {number})")
        count = int(torch.randint(0, DEMO_MAX_OBJECTS + 1, (), generator=generator))
        for _ in range(count * 4):  # tries: objects do not overlap
            if len(item.boxes) == count:
                break
            radius = 7 + 15 * torch.rand((), generator=generator).item()
            cy, cx = (radius + (DEMO_SIDE - 2 * radius) * torch.rand(2, generator=generator)).tolist()
            box = [cx - radius, cy - radius, cx + radius, cy + radius]
            if any(_overlap(box, other) for other in item.boxes):
                continue
            shape = DEMO_CLASSES[int(torch.randint(len(DEMO_CLASSES), (), generator=generator))]
            mask = _shape_mask(shape, (y - cy) / radius, (x - cx) / radius)
            color = _contrasting(background, generator)
            pixels = torch.where(mask, color, pixels)
            item.add(box, shape, item.place)
        item.image = pixels.clamp(0, 255).round().to(torch.uint8)
        items.append(item)
    return {"train": DetectionSplit(origin, items, list(DEMO_CLASSES), "demo")}


def _contrasting(background: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random color at least DEMO_CONTRAST from `background` on average over the channels."""
    while True:
        color = 255 * torch.rand(3, 1, 1, generator=generator)
        if (color - background).abs().mean() >= DEMO_CONTRAST:
            return color


def _overlap(a: Sequence[float], b: Sequence[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _shape_mask(shape: str, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """Pixels inside `shape`, in coordinates scaled so its bounding box spans -1 to 1."""
    if shape == "circle":
        return dx**2 + dy**2 <= 1
    if shape == "square":
        return (dx.abs() <= 1) & (dy.abs() <= 1)
    return (dy <= 1) & (dy >= 2 * dx.abs() - 1)  # triangle, apex up
