"""Tiny image datasets written on the spot: every format the image readers accept."""

from __future__ import annotations

import gzip
import io
import json
import struct
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("dark", "light")


def picture(label: str, index: int, size: int = 12, mode: str = "RGB") -> Image.Image:
    """A dark or light square with a little seeded noise, easy to tell apart."""
    rng = np.random.default_rng(index)
    level = 40 if label == "dark" else 215
    pixels = np.clip(level + rng.normal(0, 15, (size, size, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    if mode == "RGBA":
        image.putalpha(255)
        return image
    return image.convert(mode)


def image_folder(root: Path, per_class: int = 6, size: int = 12, modes: tuple[str, ...] = ("RGB",)) -> Path:
    """root/<class>/<n>.png, cycling through `modes` (L, RGB, RGBA...)."""
    for label in CLASSES:
        (root / label).mkdir(parents=True, exist_ok=True)
        for n in range(per_class):
            picture(label, n, size, modes[n % len(modes)]).save(root / label / f"{n}.png")
    return root


def table(path: Path, per_class: int = 6) -> Path:
    """A CSV (or JSONL, by suffix) of image path and label, images in path's folder/img."""
    folder = path.parent / "img"
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for label in CLASSES:
        for n in range(per_class):
            name = f"{label}{n}.png"
            picture(label, n).save(folder / name)
            rows.append({"path": f"img/{name}", "label": label})
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    else:
        path.write_text("path,label\n" + "".join(f"{r['path']},{r['label']}\n" for r in rows), encoding="utf-8")
    return path


def datasets_folder(folder: Path, count: int = 12) -> Path:
    """A Hugging Face `datasets` folder (save_to_disk) with `img` and a class-label `label`."""
    import datasets

    features = datasets.Features({"img": datasets.Image(), "label": datasets.ClassLabel(names=list(CLASSES))})
    rows = {"img": [picture(CLASSES[n % 2], n) for n in range(count)], "label": [n % 2 for n in range(count)]}
    datasets.Dataset.from_dict(rows, features=features).save_to_disk(str(folder))
    return folder


def idx_files(folder: Path, count: int = 20, prefix: str = "train", compressed: bool = True) -> Path:
    """MNIST-style `{prefix}-images-idx3-ubyte[.gz]` and labels: digits 0/1 as dark/light."""
    folder.mkdir(parents=True, exist_ok=True)
    labels = np.array([n % 2 for n in range(count)], dtype=np.uint8)
    images = np.stack([np.asarray(picture(CLASSES[label], n, 10, "L")) for n, label in enumerate(labels)])
    suffix = ".gz" if compressed else ""
    opener = gzip.open if compressed else open
    with opener(folder / f"{prefix}-images-idx3-ubyte{suffix}", "wb") as file:
        file.write(struct.pack(">HBBIII", 0, 0x08, 3, count, 10, 10) + images.tobytes())
    with opener(folder / f"{prefix}-labels-idx1-ubyte{suffix}", "wb") as file:
        file.write(struct.pack(">HBBI", 0, 0x08, 1, count) + labels.tobytes())
    return folder / f"{prefix}-images-idx3-ubyte{suffix}"


def turned_png(path: Path, image: Image.Image, orientation: int = 6, after_pixels: bool = True) -> Path:
    """A PNG whose EXIF orientation (6: a quarter turn) sits after the pixel data (where PIL
    reads it only when it decodes), or before them."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "PNG", exif=exif)
    data, chunks, position = buffer.getvalue(), [], 8
    while position < len(data):
        length = struct.unpack(">I", data[position : position + 4])[0]
        chunks.append(data[position : position + 12 + length])
        position += 12 + length
    if after_pixels:
        exif_chunk = next(c for c in chunks if c[4:8] == b"eXIf")
        chunks = [c for c in chunks if c[4:8] != b"eXIf"]
        chunks.insert(len(chunks) - 1, exif_chunk)  # just before IEND
    path.write_bytes(data[:8] + b"".join(chunks))
    return path
