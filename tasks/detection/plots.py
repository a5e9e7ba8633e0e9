"""Pictures of detections: boxes drawn on images with torchvision's `draw_bounding_boxes`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#fabed4", "#469990"]
TRUTH_COLOR = "#ffffff"
GRID_THRESHOLD = 0.5
MIN_SIDE = 320  # pixels: smaller images are enlarged to this longer side in plots/predictions.png, so labels can be read


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def annotate(image: torch.Tensor, detections: Sequence[dict[str, Any]], classes: Sequence[str]) -> torch.Tensor:
    """A uint8 (3, H, W) image with each detection's box and "label score" drawn on it: the
    label on a tag of the box's colour, in a font scaled to the image, kept inside it."""
    from torchvision.transforms.v2.functional import pil_to_tensor, to_pil_image
    from torchvision.utils import draw_bounding_boxes

    if not detections:
        return image
    index = {name: i for i, name in enumerate(classes)}
    colors = [color(index[d["label"]]) for d in detections]
    width = max(2, round(max(image.shape[-2:]) / 300))
    drawn = draw_bounding_boxes(image, torch.tensor([d["box"] for d in detections], dtype=torch.float32), colors=colors, width=width)
    picture = to_pil_image(drawn)
    font = _font(max(12, round(max(image.shape[-2:]) / 32)))
    placed: list[tuple[int, int, int, int]] = []
    for detection, fill in zip(detections, colors):
        placed.append(_tag(picture, detection["box"], f"{detection['label']} {detection['score']:.2f}", fill, font, placed))
    return pil_to_tensor(picture)


def picture(image: torch.Tensor, detections: Sequence[dict[str, Any]], classes: Sequence[str]) -> torch.Tensor:
    """`annotate`d, after enlarging an image smaller than MIN_SIDE (its boxes with it), so the
    labels can be read on small images too."""
    image, scale = _enlarged(image)
    return annotate(image, [{**d, "box": [c * scale for c in d["box"]]} for d in detections], classes)


def _enlarged(image: torch.Tensor) -> tuple[torch.Tensor, float]:
    """`image` scaled up so its longer side is at least MIN_SIDE, and the scale (1: as it was)."""
    from torchvision.transforms.v2.functional import resize

    scale = max(1.0, MIN_SIDE / max(image.shape[-2:]))
    if scale == 1:
        return image, scale
    return resize(image, [round(image.shape[-2] * scale), round(image.shape[-1] * scale)], antialias=True), scale


def _tag(picture: Any, box: Sequence[float], text: str, fill: str, font: Any, placed: Sequence[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    """`text` on a filled tag in `fill` above the box's top-left corner (inside the box when
    there is no room above), shifted to stay whole inside the picture and stacked below the
    `placed` tags it would cover; its rectangle (x1, y1, x2, y2)."""
    from PIL import ImageColor, ImageDraw

    draw = ImageDraw.Draw(picture)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = max(1, (bottom - top) // 6)
    tag_width, tag_height = right - left + 2 * pad, bottom - top + 2 * pad
    x = min(max(0, round(box[0])), max(0, picture.width - tag_width))
    y = round(box[1]) - tag_height if box[1] >= tag_height else round(box[1])
    y = min(max(0, y), max(0, picture.height - tag_height))
    for _ in placed:  # each step moves past one tag, so this many steps always suffice
        over = [rect for rect in placed if x < rect[2] and rect[0] < x + tag_width and y < rect[3] and rect[1] < y + tag_height]
        below = max((rect[3] for rect in over), default=y)
        if not over or below + tag_height > picture.height:
            break
        y = below
    draw.rectangle((x, y, x + tag_width - 1, y + tag_height - 1), fill=fill)
    red, green, blue = ImageColor.getrgb(fill)[:3]
    ink = "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 150 else "white"  # readable on the tag
    draw.text((x + pad - left, y + pad - top), text, fill=ink, font=font)
    return x, y, x + tag_width, y + tag_height


def _font(size: int) -> Any:
    """matplotlib's DejaVu Sans at `size` pixels: a TrueType font that scales (PIL's built-in one is tiny)."""
    import matplotlib
    from PIL import ImageFont

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    return ImageFont.truetype(str(path), size) if path.is_file() else ImageFont.load_default(size)


def save_png(image: torch.Tensor, path: Path) -> None:
    from torchvision.transforms.v2.functional import to_pil_image

    path.parent.mkdir(parents=True, exist_ok=True)
    to_pil_image(image).save(path)


def prediction_grid(
    shown: Sequence[tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]], classes: Sequence[str], target: Path
) -> Path:
    """Images in a grid: the annotated boxes in thin white, the predictions (score >= 0.5)
    in their class colors; images smaller than MIN_SIDE enlarged to it."""
    from torchvision.utils import draw_bounding_boxes, make_grid

    tiles = []
    for image, found, truth in shown:
        image, scale = _enlarged(image)
        if len(truth["boxes"]):
            image = draw_bounding_boxes(image, truth["boxes"].float() * scale, colors=TRUTH_COLOR, width=1)
        keep = found["scores"] >= GRID_THRESHOLD
        detections = [
            {"label": classes[int(label)], "score": float(score), "box": (box * scale).tolist()}
            for box, score, label in zip(found["boxes"][keep].float(), found["scores"][keep], found["labels"][keep])
        ]
        tiles.append(annotate(image, detections, classes))
    side = max(max(tile.shape[-2:]) for tile in tiles)
    squares = [torch.nn.functional.pad(tile, (0, side - tile.shape[-1], 0, side - tile.shape[-2])) for tile in tiles]  # black right and below
    save_png(make_grid(squares, nrow=4, padding=4, pad_value=255), target)
    return target
