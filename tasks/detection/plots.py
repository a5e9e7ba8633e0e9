"""Pictures of detections: boxes drawn on images with torchvision's `draw_bounding_boxes`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#fabed4", "#469990"]
TRUTH_COLOR = "#ffffff"
GRID_THRESHOLD = 0.5


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def annotate(image: torch.Tensor, detections: Sequence[dict[str, Any]], classes: Sequence[str]) -> torch.Tensor:
    """A uint8 (3, H, W) image with each detection's box and "label score" drawn on it."""
    from torchvision.utils import draw_bounding_boxes

    if not detections:
        return image
    index = {name: i for i, name in enumerate(classes)}
    boxes = torch.tensor([d["box"] for d in detections], dtype=torch.float32)
    labels = [f"{d['label']} {d['score']:.2f}" for d in detections]
    colors = [color(index[d["label"]]) for d in detections]
    width = max(2, round(max(image.shape[-2:]) / 300))
    return draw_bounding_boxes(image, boxes, labels=labels, colors=colors, width=width, font=_font(), font_size=max(12, width * 6))


def _font() -> str | None:
    """matplotlib's DejaVu Sans: a TrueType font that scales (PIL's built-in one is tiny)."""
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    return str(path) if path.is_file() else None


def save_png(image: torch.Tensor, path: Path) -> None:
    from torchvision.transforms.v2.functional import to_pil_image

    path.parent.mkdir(parents=True, exist_ok=True)
    to_pil_image(image).save(path)


def prediction_grid(
    shown: Sequence[tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]], classes: Sequence[str], target: Path
) -> Path:
    """Images in a grid: the annotated boxes in thin white, the predictions (score >= 0.5)
    in their class colors."""
    from torchvision.utils import draw_bounding_boxes, make_grid

    side = max(max(image.shape[-2:]) for image, _, _ in shown)
    tiles = []
    for image, found, truth in shown:
        if len(truth["boxes"]):
            image = draw_bounding_boxes(image, truth["boxes"].float(), colors=TRUTH_COLOR, width=1)
        keep = found["scores"] >= GRID_THRESHOLD
        detections = [
            {"label": classes[int(label)], "score": float(score), "box": box.tolist()}
            for box, score, label in zip(found["boxes"][keep], found["scores"][keep], found["labels"][keep])
        ]
        image = annotate(image, detections, classes)
        tile = torch.zeros(3, side, side, dtype=torch.uint8)
        tile[:, : image.shape[-2], : image.shape[-1]] = image
        tiles.append(tile)
    save_png(make_grid(tiles, nrow=4, padding=4, pad_value=255), target)
    return target
