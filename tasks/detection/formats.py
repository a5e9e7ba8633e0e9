"""Reading box annotations: COCO JSON, Pascal VOC XML, YOLO txt and CSV, the format told by
the path. Every box remembers where it was written, so a mistake can be named to the line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from zoo import tables
from zoo.errors import ZooError
from zoo.files import json_kind, read_json, read_text, read_yaml, yaml_kind
from zoo.images import IMAGE_SUFFIXES
from zoo.splits import by_split, split_mentioned

YAML_NAMES = ("data.yaml", "dataset.yaml", "data.yml", "dataset.yml")
NAMES_FILES = ("classes.txt", "obj.names", "names.txt", "classes.names")
CSV_COLUMNS = ("filename", "xmin", "ymin", "xmax", "ymax")
CSV_LABEL_COLUMNS = ("label", "class", "category", "name")


@dataclass
class Annotated:
    """One image and its objects: boxes (x1, y1, x2, y2) in pixels, or in fractions of the
    image when `normalized` (YOLO), with their class names and where each was written."""

    image: Path | torch.Tensor
    place: str
    boxes: list[list[float]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    normalized: bool = False

    def add(self, box: Iterable[float], label: str, place: str) -> None:
        self.boxes.append([float(v) for v in box])
        self.labels.append(label)
        self.places.append(place)


@dataclass
class DetectionSplit:
    """The annotated images of one split; `classes` is the order the data declares (COCO
    categories, YOLO names), or None when the class names are only seen in the boxes."""

    source: str
    items: list[Annotated]
    classes: list[str] | None = None
    kind: str = ""  # the format it was read from, as users name it

    def __len__(self) -> int:
        return len(self.items)


def read_detection(path: Path, key: str = "data.path") -> dict[str, DetectionSplit]:
    """The splits at `path` (given as `key`), its format told by what is there."""
    if not path.exists():
        raise ZooError(f"{key} {path} does not exist", "pass a COCO JSON, a CSV, or a VOC or YOLO folder")
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".json":
            return {"train": read_coco(path)}
        if suffix in (".csv", ".tsv"):
            return {"train": read_csv(path)}
        if suffix in (".yaml", ".yml"):
            return read_yolo_yaml(path)
        raise ZooError(f"cannot read {path} as detection data", "pass a COCO .json, a .csv, a dataset .yaml, or a folder")
    for name in YAML_NAMES:
        if (path / name).is_file():
            return read_yolo_yaml(path / name)
    if (path / "labels").is_dir() and (path / "images").is_dir():
        return read_yolo_folder(path, _yolo_names(path))
    if any(path.glob("Annotations/*.xml")) or any(path.glob("annotations/*.xml")) or any(path.glob("*.xml")):
        return read_voc(path)
    coco = sorted(path.glob("*.json")) + sorted(path.glob("annotations/*.json"))
    if coco:
        return coco_splits(coco)
    raise ZooError(
        f"no detection data found in {path}",
        "expected a COCO JSON, VOC XML files (Annotations/ or beside the images), or YOLO images/ and labels/",
    )


# COCO ----------------------------------------------------------------------------------------


def coco_splits(files: list[Path]) -> dict[str, DetectionSplit]:
    """COCO files in a folder: instances_train*.json, instances_val*.json, ... by name."""
    splits: dict[str, DetectionSplit] = {}
    for file in files:
        split = split_mentioned(file.stem)
        if split is not None and split not in splits:
            splits[split] = read_coco(file)
    if "train" not in splits:
        if len(files) > 1:
            raise ZooError(f"{len(files)} JSON files in {files[0].parent} and none named for training", "pass the training JSON as data.path")
        splits["train"] = read_coco(files[0])
    return splits


def read_coco(path: Path) -> DetectionSplit:
    """A COCO instances file: images, annotations (bbox x, y, width, height) and categories.
    Images are found relative to the file, or in an images/ folder beside it or above it."""
    document = read_json(path, "a COCO instances file", hint="a COCO instances file is an object with 'images', 'annotations' and 'categories' lists")
    for key in ("images", "annotations", "categories"):
        if not isinstance(document.get(key), list):
            problem = f"its {key!r} is {json_kind(document[key])}, not a list" if key in document else f"it has no {key!r} list"
            raise ZooError(f"{path} is not a COCO instances file: {problem}", "fix the file")
    categories = {}
    for number, category in enumerate(document["categories"]):
        if not isinstance(category, dict) or not _is_id(category.get("id")) or "name" not in category:
            raise ZooError(f"{path}: category #{number} needs an 'id' (a number or a string) and a 'name'", "fix the file")
        categories[category["id"]] = str(category["name"])
    roots = [path.parent, path.parent / "images", path.parent.parent / "images", path.parent.parent]
    roots += [path.parent.parent / path.stem.removeprefix("instances_")]  # annotations/instances_val2017.json -> val2017/
    items: dict[Any, Annotated] = {}
    listings = Listings()
    for number, image in enumerate(document["images"]):
        if not isinstance(image, dict) or not _is_id(image.get("id")) or not isinstance(image.get("file_name"), str):
            raise ZooError(f"{path}: image #{number} needs an 'id' (a number or a string) and a 'file_name' (a path)", "fix the file")
        file = _find_image(image["file_name"], roots, listings)
        items[image["id"]] = Annotated(file, f"{path} (image id {image['id']})")
    for number, annotation in enumerate(document["annotations"]):
        if not isinstance(annotation, dict):
            raise ZooError(f"{path}: annotation #{number} is not an object", "fix the file")
        place = f"{path} (annotation id {annotation.get('id', f'#{number}')})"
        if not _is_id(annotation.get("image_id")) or annotation["image_id"] not in items:
            raise ZooError(f"{place}: image_id {annotation.get('image_id')!r} is not in its 'images' list", "fix the annotation")
        if not _is_id(annotation.get("category_id")) or annotation["category_id"] not in categories:
            raise ZooError(
                f"{place}: category_id {annotation.get('category_id')!r} is not in its 'categories'",
                f"known ids: {', '.join(map(str, list(categories)[:20]))}",
            )
        if annotation.get("iscrowd"):
            continue  # a crowd region, not one object
        box = annotation.get("bbox")
        if not isinstance(box, list) or len(box) != 4 or not all(isinstance(v, (int, float)) for v in box):
            problem = "has no 'bbox'" if box is None else f"'bbox' must be [x, y, width, height] in pixels, not {box!r}"
            raise ZooError(f"{place}: {problem}", "give each annotation a bbox [x, y, width, height] in pixels")
        x, y, width, height = box
        items[annotation["image_id"]].add((x, y, x + width, y + height), categories[annotation["category_id"]], place)
    ordered = [categories[i] for i in sorted(categories, key=lambda i: (isinstance(i, str), i))]  # numbers, then strings
    return DetectionSplit(str(path), list(items.values()), ordered, "COCO")


def _is_id(value: Any) -> bool:
    """Whether `value` can be a COCO id (a number, or a string as some exporters write)."""
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def _find_image(name: str, roots: list[Path], listings: Listings | None = None) -> Path:
    """The first root that holds `name`; else the first root's path, reported missing later.
    With `listings`, folders are listed once rather than each file looked up."""
    if listings is not None:
        folder, base = os.path.split(name)
        for root in roots:
            if base in listings.files_in(os.path.join(root, folder) if folder else str(root)):
                return root / name
    for root in roots:  # what no listing shows (or no listings): ask the file system
        if (root / name).is_file():
            return root / name
    return roots[0] / name


class Listings:
    """The names of the files in folders, each folder listed once when first asked about:
    finding 100,000 images costs a few directory reads, not a look-up per image and root."""

    def __init__(self) -> None:
        self.files: dict[str, frozenset[str]] = {}

    def files_in(self, folder: str) -> frozenset[str]:
        """The names of the files (and links to files) in `folder`; none if it is no folder."""
        if folder not in self.files:
            try:
                with os.scandir(folder) as entries:
                    self.files[folder] = frozenset(entry.name for entry in entries if entry.is_file())
            except OSError:
                self.files[folder] = frozenset()
        return self.files[folder]


# Pascal VOC ----------------------------------------------------------------------------------


def read_voc(root: Path) -> dict[str, DetectionSplit]:
    """VOC XML: Annotations/ + JPEGImages/ (splits from ImageSets/Main/*.txt), an
    annotations/ + images/ pair, or XML files beside their images."""
    if (root / "Annotations").is_dir():
        xml_dir, image_dir = root / "Annotations", root / "JPEGImages"
    elif (root / "annotations").is_dir():
        xml_dir, image_dir = root / "annotations", root / "images" if (root / "images").is_dir() else root
    else:
        xml_dir = image_dir = root
    files = sorted(xml_dir.glob("*.xml"))
    if not files:
        raise ZooError(f"no .xml annotation files in {xml_dir}")
    sets = root / "ImageSets" / "Main"
    named = by_split({file.stem: file for file in sorted(sets.glob("*.txt")) if file.is_file()}, str(sets))
    if "train" not in named and (sets / "trainval.txt").is_file():
        named["train"] = sets / "trainval.txt"
    if not named:
        return {"train": DetectionSplit(str(xml_dir), [read_voc_file(f, image_dir) for f in files], kind="Pascal VOC")}
    splits = {}
    for split, listing in named.items():
        stems = [line.split()[0] for line in read_text(listing).splitlines() if line.strip()]
        splits[split] = DetectionSplit(str(listing), [read_voc_file(xml_dir / f"{stem}.xml", image_dir) for stem in stems], kind="Pascal VOC")
    return splits


def read_voc_file(path: Path, image_dir: Path) -> Annotated:
    import xml.etree.ElementTree as ET

    try:
        tree = ET.parse(path)
    except FileNotFoundError:
        raise ZooError(f"annotation {path} does not exist", "fix the ImageSets list naming it") from None
    except ET.ParseError as error:
        line, column = error.position
        reason = re.sub(r":? line \d+, column \d+$", "", str(error))
        raise ZooError(f"{path}:{line}:{column + 1}: malformed XML ({reason})", "fix the file") from None
    root = tree.getroot()
    name = (root.findtext("filename") or "").strip()
    named = image_dir / name if name else None
    image = named if named is not None and named.is_file() else _image_beside(image_dir, path.stem)
    if named is not None and not image.is_file():
        image = named  # neither is there: the error names the file the XML names
    item = Annotated(image, str(path))
    for number, obj in enumerate(root.iter("object"), start=1):
        place = f"{path} (object {number})"
        label = (obj.findtext("name") or "").strip()
        box = obj.find("bndbox")
        if not label or box is None:
            raise ZooError(f"{place}: an object needs a <name> and a <bndbox>", "fix the file")
        texts = [(box.findtext(tag) or "").strip() for tag in ("xmin", "ymin", "xmax", "ymax")]
        try:
            coordinates = [float(text) for text in texts]
        except ValueError:
            shown = ", ".join(f"{tag}={text!r}" for tag, text in zip(("xmin", "ymin", "xmax", "ymax"), texts))
            raise ZooError(f"{place}: <bndbox> needs numbers in xmin, ymin, xmax, ymax, not {shown}", "fix the file") from None
        item.add(coordinates, label, place)
    return item


def _image_beside(folder: Path, stem: str) -> Path:
    for suffix in (".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG", ".bmp", ".webp"):
        if (folder / f"{stem}{suffix}").is_file():
            return folder / f"{stem}{suffix}"
    return folder / f"{stem}.jpg"


# YOLO ----------------------------------------------------------------------------------------


def read_yolo_yaml(path: Path) -> dict[str, DetectionSplit]:
    """An Ultralytics dataset YAML: `path` (root), `train`/`val`/`test` image folders and `names`."""
    hint = "a YOLO dataset YAML maps train/val/test to image folders and names its classes"
    spec = read_yaml(path, "a YOLO dataset YAML", hint)
    if not isinstance(spec, dict):
        raise ZooError(f"{path} is empty" if spec is None else f"{path} holds {yaml_kind(spec)}, not a YOLO dataset YAML (a mapping)", hint)
    names = spec.get("names")
    if not isinstance(names, (list, dict)) or not names:
        problem = "no 'names' of classes" if not names else f"'names' that are {yaml_kind(names)}, not a list of classes"
        raise ZooError(f"{path} has {problem}", hint)
    names = [str(names[k]) for k in sorted(names)] if isinstance(names, dict) else [str(n) for n in names]
    for key in ("path", "train", "val", "test"):
        if spec.get(key) and not isinstance(spec[key], str):
            raise ZooError(f"{path}: {key!r} is {yaml_kind(spec[key])}, not one folder", hint)
    if not any(spec.get(split) for split in ("train", "val", "test")) and (path.parent / "images").is_dir():
        return read_yolo_folder(path.parent, names)  # a names-only YAML beside images/ and labels/
    root = path.parent / spec["path"] if spec.get("path") else path.parent
    splits = {}
    for split in ("train", "val", "test"):
        if spec.get(split):
            images = root / spec[split]
            splits[split] = read_yolo_images(images, _labels_dir(images), names)
    if "train" not in splits:
        raise ZooError(f"{path} names no 'train' images")
    return splits


def read_yolo_folder(root: Path, names: list[str]) -> dict[str, DetectionSplit]:
    """images/ and labels/, each either flat or with train/val/test subfolders."""
    subfolders = by_split({folder.name: folder for folder in (root / "images").iterdir() if folder.is_dir()}, str(root / "images"))
    if "train" not in subfolders:
        return {"train": read_yolo_images(root / "images", root / "labels", names)}
    return {split: read_yolo_images(folder, root / "labels" / folder.name, names) for split, folder in subfolders.items()}


def _labels_dir(images: Path) -> Path:
    """Ultralytics' rule: the labels of .../images/... live in .../labels/..."""
    parts = list(images.parts)
    if "images" in parts:
        parts[len(parts) - 1 - parts[::-1].index("images")] = "labels"
        return Path(*parts)
    return images


def _yolo_names(root: Path) -> list[str]:
    for name in NAMES_FILES:
        if (root / name).is_file():
            names = [line.strip() for line in read_text(root / name).splitlines() if line.strip()]
            if not names:
                raise ZooError(f"{root / name} is empty", "write one class name per line, class 0 first")
            return names
    raise ZooError(f"YOLO data in {root} has no class names", f"add a data.yaml with 'names', or one of {', '.join(NAMES_FILES)}")


def read_yolo_images(images: Path, labels: Path, names: list[str]) -> DetectionSplit:
    """Each image's label file (same stem, .txt) holds `class cx cy w h` lines in fractions of
    the image; an image without a label file has no objects."""
    if not images.is_dir():
        raise ZooError(f"YOLO image folder {images} does not exist")
    files = sorted(p for p in images.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
    items = []
    for file in files:
        label_file = labels / file.relative_to(images).with_suffix(".txt")
        item = Annotated(file, str(file), normalized=True)
        if label_file.is_file():
            for number, line in enumerate(read_text(label_file).splitlines(), start=1):
                if line.strip():
                    _yolo_line(item, line, f"{label_file}:{number}", names)
        items.append(item)
    return DetectionSplit(str(images), items, names, "YOLO")


def _yolo_line(item: Annotated, line: str, place: str, names: list[str]) -> None:
    fields = line.split()
    try:
        values = [float(v) for v in fields]
    except ValueError:
        raise ZooError(f"{place}: expected 'class cx cy w h' numbers, got {line.strip()!r}") from None
    if len(values) != 5:
        raise ZooError(f"{place}: expected 5 numbers (class cx cy w h), got {len(values)}", "segmentation polygons are not read")
    index, cx, cy, width, height = values
    if not index.is_integer() or not 0 <= index < len(names):
        raise ZooError(
            f"{place}: class {fields[0]} is not one of the {len(names)} named classes (0 to {len(names) - 1})",
            "fix the label, or add the class to the names",
        )
    item.add((cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2), names[int(index)], place)


# CSV ------------------------------------------------------------------------------------------


def read_csv(path: Path) -> DetectionSplit:
    """One box per row: filename, xmin, ymin, xmax, ymax, label (or class); other columns
    are ignored. A row with empty coordinates lists an image without objects. Images are
    found relative to the file or in an images/ folder beside it."""
    header = {name.lower(): name for name in tables.header(path)}
    missing = [c for c in CSV_COLUMNS if c not in header]
    label_column = next((c for c in CSV_LABEL_COLUMNS if c in header), None)
    if missing or label_column is None:
        raise ZooError(
            f"{path}:1: the header needs {', '.join(CSV_COLUMNS)} and a label column; "
            f"missing {', '.join(missing or ['label'])}",
            f"found {', '.join(header) or 'no columns'}",
        )
    table = tables.read_table(path)
    roots = [path.parent, path.parent / "images"]
    columns = [*CSV_COLUMNS, label_column]
    cells = [tables.texts(table.column(header[c])).to_pylist() for c in columns]
    items: dict[str, Annotated] = {}
    for place, values in zip(table.all_places(), zip(*cells)):
        row = {c: value or "" for c, value in zip(columns, values)}
        name = row["filename"]
        if not name:
            raise ZooError(f"{place}: empty filename")
        if name not in items:
            items[name] = Annotated(_find_image(name, roots), place)
        if not any(row[c] for c in CSV_COLUMNS[1:]):
            continue  # an image without objects
        try:
            box = [float(row[c]) for c in CSV_COLUMNS[1:]]
        except ValueError:
            shown = ", ".join(f"{c}={row[c]!r}" for c in CSV_COLUMNS[1:])
            raise ZooError(f"{place}: xmin, ymin, xmax, ymax must be numbers, not {shown}", "fix the row") from None
        if not row[label_column]:
            raise ZooError(f"{place}: a box without a {label_column}", "name its class, or leave all four coordinates empty")
        items[name].add(box, row[label_column], place)
    if not items:
        raise ZooError(f"{path} has no rows")
    return DetectionSplit(str(path), list(items.values()), kind="CSV")
