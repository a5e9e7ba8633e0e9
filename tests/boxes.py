"""Tiny detection datasets written on the spot, in every format the detection readers accept:
red "apple" and blue "berry" rectangles on dark 64x48 pictures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("apple", "berry")
WIDTH, HEIGHT = 64, 48
COLORS = {"apple": (220, 40, 40), "berry": (40, 60, 230)}
Box = tuple[str, int, int, int, int]  # label, x1, y1, x2, y2


def scenes(count: int = 8) -> list[list[Box]]:
    """The objects of each picture: one or two, and the last picture empty."""
    found = []
    for n in range(count - 1):
        x, y = 4 + 5 * (n % 4), 4 + 3 * (n % 3)
        boxes = [(CLASSES[n % 2], x, y, x + 18, y + 16)]
        if n % 3 == 0:
            boxes.append((CLASSES[(n + 1) % 2], 40, 24, 60, 44))
        found.append(boxes)
    return found + [[]]


def draw(boxes: list[Box], index: int) -> Image.Image:
    rng = np.random.default_rng(index)
    pixels = np.clip(30 + rng.normal(0, 8, (HEIGHT, WIDTH, 3)), 0, 255).astype(np.uint8)
    for label, x1, y1, x2, y2 in boxes:
        pixels[y1:y2, x1:x2] = COLORS[label]
    return Image.fromarray(pixels, "RGB")


def write_images(folder: Path, count: int = 8, suffix: str = ".png") -> list[tuple[str, list[Box]]]:
    folder.mkdir(parents=True, exist_ok=True)
    named = []
    for n, boxes in enumerate(scenes(count)):
        name = f"img{n}{suffix}"
        draw(boxes, n).save(folder / name)
        named.append((name, boxes))
    return named


def coco(root: Path, count: int = 8, name: str = "instances.json") -> Path:
    """root/instances.json and root/images/*.png; category ids 1 and 3 (COCO ids have gaps)."""
    named = write_images(root / "images", count)
    ids = {"apple": 1, "berry": 3}
    document: dict = {"images": [], "annotations": [], "categories": [{"id": i, "name": n} for n, i in ids.items()]}
    for image_id, (file, boxes) in enumerate(named, start=1):
        document["images"].append({"id": image_id, "file_name": file, "width": WIDTH, "height": HEIGHT})
        for label, x1, y1, x2, y2 in boxes:
            document["annotations"].append(
                {"id": len(document["annotations"]) + 1, "image_id": image_id, "category_id": ids[label],
                 "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0}
            )
    path = root / name
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


def voc_xml(file: str, boxes: list[Box]) -> str:
    objects = "".join(
        f"<object><name>{label}</name><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"
        for label, x1, y1, x2, y2 in boxes
    )
    return f"<annotation><filename>{file}</filename><size><width>{WIDTH}</width><height>{HEIGHT}</height><depth>3</depth></size>{objects}</annotation>"


def voc(root: Path, count: int = 8) -> Path:
    """The VOC layout: Annotations/, JPEGImages/ and ImageSets/Main/{train,val}.txt."""
    named = write_images(root / "JPEGImages", count, ".jpg")
    (root / "Annotations").mkdir(parents=True)
    for file, boxes in named:
        (root / "Annotations" / f"{Path(file).stem}.xml").write_text(voc_xml(file, boxes))
    sets = root / "ImageSets" / "Main"
    sets.mkdir(parents=True)
    stems = [Path(file).stem for file, _ in named]
    (sets / "train.txt").write_text("\n".join(stems[2:]) + "\n")
    (sets / "val.txt").write_text("\n".join(stems[:2]) + "\n")
    return root


def voc_beside(root: Path, count: int = 8) -> Path:
    """XML files beside their images in one folder."""
    for file, boxes in write_images(root, count):
        (root / f"{Path(file).stem}.xml").write_text(voc_xml(file, boxes))
    return root


def yolo(root: Path, count: int = 8, with_yaml: bool = True) -> Path:
    """images/{train,val}/ and labels/{train,val}/ with a data.yaml, or flat images/ and
    labels/ with a classes.txt."""
    splits = {"train": range(2, count), "val": range(0, 2)} if with_yaml else {"": range(count)}
    every = scenes(count)
    for split, numbers in splits.items():
        images, labels = root / "images" / split, root / "labels" / split
        images.mkdir(parents=True)
        labels.mkdir(parents=True)
        for n in numbers:
            draw(every[n], n).save(images / f"img{n}.png")
            lines = [
                f"{CLASSES.index(label)} {(x1 + x2) / 2 / WIDTH} {(y1 + y2) / 2 / HEIGHT} {(x2 - x1) / WIDTH} {(y2 - y1) / HEIGHT}"
                for label, x1, y1, x2, y2 in every[n]
            ]
            if lines:
                (labels / f"img{n}.txt").write_text("\n".join(lines) + "\n")
    if with_yaml:
        (root / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/val\nnames:\n  0: apple\n  1: berry\n")
    else:
        (root / "classes.txt").write_text("apple\nberry\n")
    return root


def csv_boxes(path: Path, count: int = 8) -> Path:
    """filename,xmin,ymin,xmax,ymax,label rows; images in path's folder/images; the empty
    picture as a row without a box."""
    rows = ["filename,xmin,ymin,xmax,ymax,label"]
    for file, boxes in write_images(path.parent / "images", count):
        rows += [f"{file},{x1},{y1},{x2},{y2},{label}" for label, x1, y1, x2, y2 in boxes] or [f"{file},,,,,"]
    path.write_text("\n".join(rows) + "\n")
    return path
