"""Labelled image data from a path, for every task that reads images (classification, GANs).

Formats, detected from the path:
    ImageFolder    DIR/<class>/*.png, optionally DIR/{train,val,test}/<class>/...
    table          a CSV/TSV or JSONL file of image path and label (paths relative to the file)
    IDX            the MNIST / Fashion-MNIST files, gzipped or not (a folder, or the images file)
    HF datasets    a folder written by `datasets.save_to_disk`, with image and label columns

Images decode lazily, one at a time, as uint8 tensors (C, H, W) with the channels the data
needs: 1 when every image is grayscale, else 3. RGBA and palette images are laid on white.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import torch

from zoo import tables
from zoo.data import usable_cores
from zoo.errors import ZooError
from zoo.files import first_line, read_bytes, reading
from zoo.shared_settings import IMAGE_LABEL_COLUMNS, IMAGE_PATH_COLUMNS
from zoo.splits import by_split, held_out, one_split, split_named

EXIF_ORIENTATION = 0x0112
IMAGE_SUFFIXES = frozenset(
    ".png .jpg .jpeg .bmp .gif .tif .tiff .webp .ppm .pgm .pbm".split()
)
GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"})
PNG_TEXT_CHUNKS = frozenset({b"eXIf", b"tEXt", b"zTXt", b"iTXt"})  # where a PNG may keep its orientation (EXIF, XMP)
MAX_SENT_PIXELS = 50_000_000  # an image sent to `zoo serve`: above a 48-megapixel photo; a small file may unpack to far more
IDX_IMAGES = re.compile(r"^(?P<prefix>.*?)[-_.]?images[-_.]idx3[-_.]ubyte(\.gz)?$")


class ImageSource(Protocol):
    """A sequence of images: PIL images or uint8 tensors (C, H, W)."""

    def __len__(self) -> int: ...
    def __getitem__(self, index: int) -> Any: ...
    def name(self, index: int) -> str: ...


@dataclass
class LabelledImages:
    """Images with one label each (labels as text: folder names, CSV cells, class names)."""

    source: str  # where they came from, for messages
    images: ImageSource
    labels: list[str]
    label_places: list[str]  # where each label was read (file:line, folder), for messages
    labelled: bool = True  # False: a flat folder of images, read for a task that needs no labels ("" each)

    def __len__(self) -> int:
        return len(self.labels)

    def places_of(self, rows: Sequence[int]) -> list[str]:
        """Where the labels of `rows` were read."""
        return [self.label_places[row] for row in rows]


# Image sources -------------------------------------------------------------------------------


class FileImages:
    """Image files, opened when indexed."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Any:
        return open_image(self.paths[index])

    def name(self, index: int) -> str:
        return str(self.paths[index])


class TensorImages:
    """Images held in one uint8 tensor (N, H, W) or (N, C, H, W), such as IDX files."""

    def __init__(self, pixels: torch.Tensor, origin: str) -> None:
        self.pixels = pixels if pixels.ndim == 4 else pixels.unsqueeze(1)
        self.origin = origin

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.pixels[index]

    def name(self, index: int) -> str:
        return f"{self.origin}[{index}]"


class DatasetImages:
    """The image column of a Hugging Face dataset, decoded when indexed."""

    def __init__(self, dataset: Any, column: str, origin: str) -> None:
        self.column = dataset.select_columns([column])
        self.key = column
        self.origin = origin

    def __len__(self) -> int:
        return len(self.column)

    def __getitem__(self, index: int) -> Any:
        with reading(self.name(index), "a readable image", "drop or replace that row"):  # decoded here, by PIL
            value = self.column[index][self.key]
        if value is None:
            raise ZooError(f"{self.name(index)}: the image is missing", "drop that row")
        return value if is_pil(value) else torch.as_tensor(_array(value), dtype=torch.uint8)

    def name(self, index: int) -> str:
        return f"{self.origin} row {index}"


def _array(value: Any) -> Any:
    """A nested-list or array image as (C, H, W) or (H, W)."""
    import numpy as np

    array = np.asarray(value)
    return array.transpose(2, 0, 1) if array.ndim == 3 and array.shape[-1] in (1, 3, 4) else array


# Decoding ------------------------------------------------------------------------------------


def is_pil(image: Any) -> bool:
    """Whether `image` is a PIL image (tensors have a `mode` method, so duck typing fails)."""
    from PIL import Image

    return isinstance(image, Image.Image)


@contextmanager
def _opened(path: Path) -> Iterator[Any]:
    """An image file opened with PIL; a missing or unreadable file becomes a ZooError naming it."""
    from PIL import Image

    with reading(path, "a readable image", "remove or replace that file"):  # PIL raises many types for a damaged file
        try:
            with Image.open(path) as image:
                yield image
        except FileNotFoundError:
            raise ZooError(f"image {path} does not exist", "check the path (or remove what names it)") from None


def open_image(path: Path) -> Any:
    """A decoded PIL image, turned upright by its EXIF orientation (phone photos)."""
    from PIL import ImageOps

    with _opened(path) as image:
        image.load()
        return ImageOps.exif_transpose(image)


def sent_image(item: Any, name: str) -> Any:
    """An image sent to `zoo serve` (an Upload, or base64 text, a data: URL too) as a decoded PIL
    image, upright; anything else, or bytes that are no image, is a ZooError naming it."""
    import base64
    import binascii
    import io

    from PIL import Image, ImageOps, UnidentifiedImageError

    data = getattr(item, "data", None)
    if data is None:
        if not isinstance(item, str):
            raise ZooError(f"{name} is {type(item).__name__}, not an image", "send images as file uploads or base64 text")
        try:
            data = base64.b64decode(item.partition(",")[2] if item.startswith("data:") else item, validate=True)
        except binascii.Error:
            raise ZooError(f"{name} is not base64 text", "send images as file uploads or base64 text (a data: URL too)") from None
    try:
        with Image.open(io.BytesIO(data)) as image:  # reads the header only
            if image.width * image.height > MAX_SENT_PIXELS:
                raise ZooError(f"{name} is {image.width} x {image.height} pixels, over the server's limit of {MAX_SENT_PIXELS // 10**6} million",
                               "send a smaller image (the model sees it resized anyway)")
            image.load()
            return ImageOps.exif_transpose(image)
    except ZooError:
        raise
    except UnidentifiedImageError:
        raise ZooError(f"{name} is not an image file", "send a PNG, JPEG, BMP, GIF, TIFF or WebP file") from None
    except Exception as error:  # PIL raises many types for a damaged image
        raise ZooError(f"{name} is not a readable image: {first_line(error)}", "send a PNG, JPEG, BMP, GIF, TIFF or WebP file") from None


def sent_name(item: Any, position: int) -> str:
    """What a record calls a sent image: its upload's file name, or its place in the request."""
    return getattr(item, "name", None) or f"inputs[{position}]"


class ServedImages:
    """`zoo serve`'s hooks for a module whose inputs are images (mixed in before ZooModule):
    images arrive as uploads or base64 text, and records are named by the upload or the place."""

    served_inputs_help = "images as base64 text (a data: URL too), or files uploaded as multipart/form-data parts named inputs"
    takes_uploads = True

    def served_inputs(self, sent: list[Any]) -> list[Any]:
        return [sent_image(item, sent_name(item, i)) for i, item in enumerate(sent)]

    def served_records(self, request: Any, outputs: Sequence[Any]) -> list[dict[str, Any]]:
        return [{"input": sent_name(item, i), **output} for i, (item, output) in enumerate(zip(request.sent, outputs))]


def image_files(args: Sequence[str]) -> list[Path]:
    """Image files named on a command line, and those in named folders (searched
    recursively, in name order)."""
    if not args:
        raise ZooError("no images to predict", "name image files or folders after the run folder")
    files: list[Path] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            found = images_under(path)
            if not found:
                raise ZooError(f"folder {path} has no image files", f"image files end in {', '.join(sorted(IMAGE_SUFFIXES))}")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise ZooError(f"predict input {arg} does not exist", "pass image files or folders of images")
    return files


def images_under(folder: Path) -> list[Path]:
    """The image files (by suffix) in `folder` and its sub-folders, in path order; hidden
    files and folders are left out, and folders linked to are not entered. Directory entries
    tell files from folders, so no file is opened or stat'ed (bar links)."""
    found: list[tuple[str, ...]] = []

    def walk(directory: str, parts: tuple[str, ...]) -> None:
        with os.scandir(directory) as scan:
            entries = list(scan)
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                walk(entry.path, (*parts, entry.name))
            elif os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES and entry.is_file():
                found.append((*parts, entry.name))

    walk(str(folder), ())
    found.sort()  # as Paths sort: part by part
    return [folder.joinpath(*parts) for parts in found]


def image_mode(path: Path) -> tuple[str, tuple[int, int]]:
    """(PIL mode, (height, width)) from a file's header, without decoding its pixels; the
    size is that of the upright image (see `open_image`)."""
    from PIL import Image

    with _opened(path) as image:
        if image.format == "PNG" and not _png_keeps_text_after_pixels(path):
            exif = Image.Image.getexif(image)  # PIL's PNG getexif decodes, for chunks after the pixels: there are none
        else:
            exif = image.getexif()  # JPEG, TIFF, WebP: from the header
        turned = exif.get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8)  # a quarter turn
        return image.mode, (image.width, image.height) if turned else (image.height, image.width)


def _png_keeps_text_after_pixels(path: Path) -> bool:
    """Whether a PNG has an EXIF or text chunk (where XMP lives) after its image data, which
    PIL reads only by decoding, or ends before its IEND chunk (decoding then says what is
    wrong). Reads the chunk headers only."""
    with open(path, "rb") as file:
        file.seek(8)  # the signature
        pixels = False
        while True:
            header = file.read(8)
            if len(header) < 8:
                return True
            kind = header[4:]
            if kind == b"IEND":
                return False
            if kind in (b"IDAT", b"fdAT"):
                pixels = True
            elif pixels and kind in PNG_TEXT_CHUNKS:
                return True
            file.seek(int.from_bytes(header[:4], "big") + 4, os.SEEK_CUR)  # the data and its CRC


def thread_count() -> int:
    """Threads for reading many small files: the wait is the disk's, so several per CPU."""
    return min(32, 8 * usable_cores())


Item = TypeVar("Item")
Result = TypeVar("Result")
CHUNK = 64  # items per task given to a thread


def in_threads(function: Callable[[Item], Result], items: Sequence[Item]) -> list[Result]:
    """`function` of each item, in order, computed by a pool of threads (for file reads,
    which wait on the disk). The first item whose call raises, in order, raises its error."""
    if len(items) <= CHUNK:
        return [function(item) for item in items]
    chunks = [items[start : start + CHUNK] for start in range(0, len(items), CHUNK)]
    pool = ThreadPoolExecutor(min(thread_count(), len(chunks)), thread_name_prefix="zoo-files")
    try:
        futures = [pool.submit(lambda chunk: [function(item) for item in chunk], chunk) for chunk in chunks]
        return [result for future in futures for result in future.result()]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def to_tensor(image: Any, channels: int) -> torch.Tensor:
    """A PIL image or image tensor as uint8 (channels, H, W). Transparency is laid on white;
    grayscale becomes RGB by repetition and RGB grayscale by luminance."""
    if is_pil(image):
        return _pil_to_tensor(image, channels)
    tensor = torch.as_tensor(image)
    if tensor.ndim == 2:
        tensor = tensor.unsqueeze(0)
    if tensor.ndim != 3 or tensor.shape[0] not in (1, 2, 3, 4):
        raise ZooError(f"an image tensor must be (C, H, W) with 1 to 4 channels, not {tuple(tensor.shape)}")
    if tensor.is_floating_point():
        if tensor.numel() and (tensor.min() < 0 or tensor.max() > 1):
            raise ZooError(
                f"a float image tensor must hold values in [0, 1], not [{tensor.min():.3g}, {tensor.max():.3g}]",
                "divide by 255, or pass uint8",
            )
        tensor = (tensor * 255).round()
    tensor = tensor.to(torch.uint8)
    if tensor.shape[0] in (2, 4):  # with alpha: lay on white
        color, alpha = tensor[:-1].float(), tensor[-1:].float() / 255
        tensor = (color * alpha + 255 * (1 - alpha)).round().to(torch.uint8)
    if tensor.shape[0] == channels:
        return tensor
    if channels == 3:
        return tensor.expand(3, -1, -1).contiguous()
    from torchvision.transforms.v2 import functional as F

    return F.rgb_to_grayscale(tensor)


def _pil_to_tensor(image: Any, channels: int) -> torch.Tensor:
    from PIL import Image
    from torchvision.transforms.v2 import functional as F

    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit or float grayscale
        image = image.point(lambda v: v / 256) if image.mode != "F" else image
        image = image.convert("L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    image = image.convert("L" if channels == 1 else "RGB")
    return F.pil_to_tensor(image)


def is_gray(image: Any) -> bool:
    """Whether an image (PIL or tensor) has one color channel."""
    if is_pil(image):
        return image.mode in GRAY_MODES
    tensor = torch.as_tensor(image)
    return tensor.ndim == 2 or tensor.shape[0] in (1, 2)


# Formats -------------------------------------------------------------------------------------


def read_splits(
    path: Path, *, image_column: str | None = None, label_column: str | None = None, unlabelled: bool = False
) -> dict[str, LabelledImages]:
    """The labelled images at `path` by split: always "train", and "val"/"test" when the data
    has them (split folders, MNIST's t10k files, a DatasetDict's splits). With `unlabelled`, a
    folder of images without class folders is read too (its images labelled "")."""
    if not path.exists():
        raise ZooError(f"data path {path} does not exist", "pass --data an image folder, a CSV/JSONL file, IDX files or a datasets folder")
    if path.is_file():
        if IDX_IMAGES.match(path.name):
            return {"train": read_idx_pair(path)}
        if path.suffix.lower() in (".csv", ".tsv", ".jsonl", ".json"):
            return {"train": read_table(path, image_column, label_column)}
        raise ZooError(
            f"cannot tell the format of {path}",
            "pass an image folder, a .csv/.tsv/.jsonl of path and label, MNIST IDX files or a datasets folder",
        )
    if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
        return read_hf_folder(path, image_column, label_column)
    idx_files = sorted(p for p in path.iterdir() if IDX_IMAGES.match(p.name))
    if idx_files:
        return read_idx_folder(idx_files)
    folders = {child.name: child for child in path.iterdir() if child.is_dir()}
    if any(split_named(name) == "train" for name in folders):  # split folders, else class folders
        return {split: read_image_folder(folder, unlabelled) for split, folder in by_split(folders, str(path)).items()}
    return {"train": read_image_folder(path, unlabelled)}


def read_image_folder(root: Path, unlabelled: bool = False) -> LabelledImages:
    """One sub-folder per class; files other than images (by suffix) are ignored, and so are
    hidden files and folders (`._photo.jpg` from macOS, `.ipynb_checkpoints/`). With
    `unlabelled`, a folder with images and no class folders is one unlabelled set."""
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes and unlabelled:
        paths = images_under(root)
        if not paths:
            raise ZooError(f"{root} has no images", f"image files end in {', '.join(sorted(IMAGE_SUFFIXES))}")
        return LabelledImages(str(root), FileImages(paths), [""] * len(paths), [str(root)] * len(paths), labelled=False)
    if not classes:
        raise ZooError(f"{root} has no class folders", "put each class's images in a folder named after the class")
    paths: list[Path] = []
    labels: list[str] = []
    places: list[str] = []
    parents: dict[str, str] = {}  # one string per folder, shared by its images
    for folder in classes:
        found = images_under(folder)
        if not found:
            raise ZooError(f"class folder {folder} has no images", "add images to it or remove the folder")
        paths += found
        labels += [folder.name] * len(found)
        places += [parents.setdefault(parent, parent) for parent in map(os.path.dirname, map(str, found))]
    return LabelledImages(str(root), FileImages(paths), labels, places)


def read_table(path: Path, image_column: str | None, label_column: str | None) -> LabelledImages:
    """A CSV/TSV or JSONL file of image path and label; paths are relative to the file. Rows
    with an empty cell or a missing image are named together (`tables.Problems`)."""
    table = tables.read_table(path)
    if not len(table):
        raise ZooError(f"{path} has no rows", "it needs an image path and a label per row")
    image_key = tables.pick_column(table, image_column, IMAGE_PATH_COLUMNS, "image path", "data.image_column")
    label_key = tables.pick_column(table, label_column, IMAGE_LABEL_COLUMNS, "label", "data.label_column")
    labels = tables.label_texts(table.column(label_key)).to_pylist()
    paths = [(path.parent / image).resolve() if image else None for image in tables.texts(table.column(image_key)).to_pylist()]

    def problem(row: int) -> str:
        """What is wrong with a row ("" when nothing is)."""
        image_path, said = paths[row], []
        if image_path is None:
            said.append(f"{image_key!r} is empty")
        elif not image_path.is_file():
            said.append(f"image {image_path} does not exist")
        if labels[row] is None:
            said.append(f"{label_key!r} is empty")
        return "; ".join(said)

    problems = tables.Problems(table)
    problems.add([row for row in range(len(paths)) if problem(row)], problem)
    problems.check("fill in the cells and fix the image paths (relative to the table), or remove the rows")
    return LabelledImages(str(path), FileImages(paths), labels, table.all_places())


def read_idx_folder(image_files: Sequence[Path]) -> dict[str, LabelledImages]:
    """MNIST-style IDX pairs in one folder: `train-*` trains, `t10k-*`/`test-*` is the test
    split; a single pair of any name is the training data."""
    pairs = {file: read_idx_pair(file) for file in image_files}
    if len(pairs) == 1:
        return {"train": next(iter(pairs.values()))}
    splits: dict[str, LabelledImages] = {}
    for file, images in pairs.items():
        prefix = IDX_IMAGES.match(file.name)["prefix"].lower()  # type: ignore[index]
        split = "train" if prefix.startswith("train") else "test" if prefix.startswith(("t10k", "test")) else None
        if split is None or split in splits:
            raise ZooError(f"{file.parent} holds several IDX image files: {', '.join(f.name for f in image_files)}", "pass --data the images file to use")
        splits[split] = images
    if "train" not in splits:
        raise ZooError(f"{file.parent} has no train-*-idx3-ubyte file", "pass --data the images file to use")
    return splits


def read_idx_pair(images_file: Path) -> LabelledImages:
    """An IDX images file and its labels file (`...-labels-idx1-ubyte`, same compression)."""
    labels_file = images_file.with_name(re.sub(r"images([-_.])idx3", r"labels\1idx1", images_file.name))
    if not labels_file.is_file():
        raise ZooError(f"{images_file} has no labels file beside it", f"expected {labels_file.name}")
    pixels = read_idx(images_file)
    labels = read_idx(labels_file)
    if pixels.ndim not in (3, 4) or labels.ndim != 1:
        raise ZooError(f"{images_file}: expected images (N, H, W) and labels (N,), got {tuple(pixels.shape)} and {tuple(labels.shape)}")
    if len(pixels) != len(labels):
        raise ZooError(f"{images_file} has {len(pixels)} images but {labels_file.name} has {len(labels)} labels")
    origin = str(images_file)
    return LabelledImages(origin, TensorImages(pixels, origin), [str(v) for v in labels.tolist()], [str(labels_file)] * len(labels))


def read_idx(path: Path) -> torch.Tensor:
    """One IDX file (http://yann.lecun.com/exdb/mnist/) as a uint8 tensor."""
    data = read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ZooError(f"{path} is not an IDX file of unsigned bytes", "expected MNIST-style idx3/idx1 ubyte files")
    ndim = data[3]
    start = 4 + 4 * ndim
    if len(data) < start:
        raise ZooError(f"{path} is truncated: it ends inside its header", "download it again")
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    count = 1
    for size in shape:
        count *= size
    if len(data) - start != count:
        raise ZooError(f"{path} is truncated: its header promises {count} bytes, it holds {len(data) - start}", "download it again")
    return torch.frombuffer(bytearray(data[start:]), dtype=torch.uint8).reshape(shape)


def read_hf_folder(path: Path, image_column: str | None, label_column: str | None) -> dict[str, LabelledImages]:
    """A `datasets` folder (Dataset or DatasetDict) with an image and a label column."""
    import datasets

    loaded = tables.load_datasets_folder(path)
    parts = dict(loaded) if isinstance(loaded, datasets.DatasetDict) else {"train": loaded}
    found = by_split({name: name for name in parts}, str(path))
    if "train" not in found:
        raise ZooError(f"{path} has no 'train' split (it has {', '.join(parts)})")
    return {split: _hf_split(parts[name], f"{path} [{name}]", image_column, label_column) for split, name in found.items()}


def _hf_split(dataset: Any, origin: str, image_column: str | None, label_column: str | None) -> LabelledImages:
    import datasets
    import pyarrow as pa

    columns = list(dataset.column_names)
    features = dataset.features
    image_key = image_column or next((c for c in columns if isinstance(features[c], datasets.Image)), None)
    label_key = label_column or next((c for c in columns if isinstance(features[c], datasets.ClassLabel)), None)
    image_key = image_key or next((c for c in columns if c.lower() in IMAGE_PATH_COLUMNS + ("pixel_values",)), None)
    label_key = label_key or next((c for c in columns if c.lower() in IMAGE_LABEL_COLUMNS), None)
    for key, role, option in ((image_key, "image", "data.image_column"), (label_key, "label", "data.label_column")):
        if key is None or key not in columns:
            raise ZooError(f"{origin} has no {role} column{f' {key!r}' if key else ''}", f"its columns are {', '.join(columns)}; name one with {option}=COLUMN")
    label_feature = features[label_key]
    raw = list(dataset[label_key])
    if any(v is None for v in raw):
        raise ZooError(f"{origin}: row {raw.index(None)} has no label", "drop unlabelled rows")
    labels = [label_feature.int2str(v) for v in raw] if isinstance(label_feature, datasets.ClassLabel) else [str(v) for v in tables.label_texts(pa.array(raw)).to_pylist()]
    return LabelledImages(origin, DatasetImages(dataset, image_key, origin), labels, [f"{origin} row {i}" for i in range(len(labels))])


# Facts about a set of images -----------------------------------------------------------------


@dataclass
class Survey:
    """What a look at (a sample of) the images found."""

    channels: int  # 1 when every image looked at is grayscale, else 3
    sizes: list[tuple[int, int]]  # (height, width) of each image looked at
    converted: int  # images with another channel layout than `channels` (converted on load)

    def conversion_note(self) -> str | None:
        """The run note on images converted to the common channel layout, if any were."""
        if not self.converted:
            return None
        return f"{self.converted} {'grayscale' if self.channels == 3 else 'color'} image(s) converted to {'RGB' if self.channels == 3 else 'grayscale'}"


SURVEYED = 20000  # training images a task surveys for channels and sizes (beyond that, a seeded sample)


def survey(images: ImageSource, indices: Sequence[int]) -> Survey:
    """Channels and sizes of the images at `indices`. Files are checked from their headers
    only, several at a time, so a survey of many files is cheap and finds unreadable files
    before training."""
    if isinstance(images, FileImages):
        headers = in_threads(image_mode, [images.paths[index] for index in indices])
        gray = [mode in GRAY_MODES for mode, _ in headers]
        sizes = [size for _, size in headers]
    else:
        gray, sizes = [], []
        for index in indices:
            image = images[index]
            gray.append(is_gray(image))
            sizes.append((image.height, image.width) if is_pil(image) else tuple(torch.as_tensor(image).shape[-2:]))
    channels = 1 if all(gray) else 3
    converted = sum(1 for g in gray if g != (channels == 1))
    return Survey(channels, sizes, converted)


# Splits, labels and sizes, for every task that trains on images ---------------------------------


def single_split(path: Path, key: str, columns: dict[str, Any]) -> LabelledImages:
    """The images at `path`, given as data.`key`, as one split: for a tree with splits, its
    test (else val) part."""
    found = read_splits(path, **columns)
    if not found:
        raise ZooError(f"data.{key}: no images found in {path}")
    return one_split(found)


def encode(split: LabelledImages, classes: list[str]) -> list[int]:
    """Class indices of a split's labels; labels training never saw are an error (the first few
    rows named together)."""
    index = {name: i for i, name in enumerate(classes)}
    unknown = [row for row, label in enumerate(split.labels) if label not in index]

    def problem(row: int) -> str:
        name = split.images.name(row)
        return f"label {split.labels[row]!r} does not occur in the training data" + (f" ({name})" if name != split.label_places[row] else "")

    problems = tables.Problems(split)
    problems.add(unknown, problem)
    problems.check(f"the training classes are {', '.join(classes[:20])}{' ...' if len(classes) > 20 else ''}")
    return [index[label] for label in split.labels]


def carve(size: int, data: dict[str, Any], seed: int, labels: Sequence[int] | None = None) -> tuple[list[int], list[int]]:
    """(train rows, validation rows): seeded random rows (stratified by `labels`, class indices,
    when given), or the last rows in order (data.val_split), data.val_fraction of them validating."""
    if size < 2:
        raise ZooError(f"only {size} image: a validation split needs at least two", "add images")
    train, val = held_out(size, data["val_fraction"], seed, data["val_split"], labels)
    return train.tolist(), val.tolist()


def sample(rows: Sequence[int], limit: int, seed: int) -> list[int]:
    """At most `limit` of `rows`, chosen with a seeded shuffle."""
    if len(rows) <= limit:
        return list(rows)
    order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(seed))[:limit]
    return [rows[i] for i in sorted(order.tolist())]


class Fit:
    """Scale an image to cover `size` (H, W) divided by `crop_fraction`, keeping its aspect
    ratio, and cut out the center. Images that already have the size pass untouched."""

    def __init__(self, size: Sequence[int], crop_fraction: float) -> None:
        self.size = list(size)
        self.crop_fraction = crop_fraction

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        from torchvision.transforms.v2 import functional as F

        height, width = image.shape[-2:]
        if [height, width] == self.size and self.crop_fraction == 1:
            return image
        scale = max(self.size[0] / height, self.size[1] / width) / self.crop_fraction
        resized = F.resize(image, [max(self.size[0], round(height * scale)), max(self.size[1], round(width * scale))], antialias=True)
        return F.center_crop(resized, self.size)
