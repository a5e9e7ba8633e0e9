"""Pictures of a GAN: sample grids, latent interpolation strips, and toy samples over the real modes."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import BinaryIO

import torch


def save_grid(images: torch.Tensor, target: Path, columns: int) -> Path:
    """Images (N, C, H, W) in [0, 1] tiled `columns` wide with a 2-pixel gap, as one PNG."""
    from torchvision.utils import make_grid

    target.parent.mkdir(parents=True, exist_ok=True)
    return save_image(make_grid(images.float().cpu(), nrow=columns, padding=2, pad_value=0.5), target)


def save_image(image: torch.Tensor, target: Path | BinaryIO) -> Path | BinaryIO:
    """One image (C, H, W) in [0, 1] as a PNG (grayscale when it has one channel)."""
    from PIL import Image

    pixels = (image.float().cpu().clamp(0, 1) * 255).round().to(torch.uint8)
    array = pixels[0].numpy() if pixels.shape[0] == 1 else pixels.permute(1, 2, 0).numpy()
    Image.fromarray(array).save(target, format="PNG")
    return target


def png_data_url(image: torch.Tensor) -> str:
    """One image (C, H, W) in [0, 1] as a PNG `data:` URL, which a web page shows as it is."""
    buffer = io.BytesIO()
    save_image(image, buffer)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def slerp(start: torch.Tensor, end: torch.Tensor, steps: int) -> torch.Tensor:
    """`steps` points from `start` to `end` (each (D,)) along the great circle, which keeps
    Gaussian latent vectors at a typical length (White 2016); (steps, D)."""
    t = torch.linspace(0, 1, steps)[:, None]
    cosine = (start / start.norm() * end / end.norm()).sum().clamp(-1, 1)
    angle = torch.arccos(cosine)
    if angle.abs() < 1e-4:
        return (1 - t) * start + t * end
    return (torch.sin((1 - t) * angle) * start + torch.sin(t * angle) * end) / torch.sin(angle)


def scatter(points: torch.Tensor, modes: torch.Tensor, std: float, target: Path, title: str) -> Path:
    """Generated points over the real modes: each mode's center and its 3-standard-deviation
    circle (inside it, a sample counts as high-quality). Drawn every epoch, so with fixed
    margins (tight_layout would add a third to its time) and without pyplot's global state."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle

    points = points.float().cpu()
    points = points[torch.isfinite(points).all(dim=1)]
    figure = Figure(figsize=(5, 5), dpi=120)
    figure.subplots_adjust(left=0.1, right=0.97, bottom=0.07, top=0.93)
    axes = figure.subplots()
    axes.scatter(points[:, 0], points[:, 1], s=3, alpha=0.4, color="tab:blue", label=f"generated ({len(points):,})")
    for k, (x, y) in enumerate(modes.tolist()):
        axes.add_patch(Circle((x, y), 3 * std, fill=False, color="tab:red", linewidth=1, label="real modes (3 std)" if k == 0 else None))
    axes.scatter(modes[:, 0], modes[:, 1], marker="x", s=20, color="tab:red")
    reach = float(modes.abs().max()) + 1.0
    axes.set(xlim=(-reach, reach), ylim=(-reach, reach), aspect="equal", title=title)
    axes.legend(loc="upper right", fontsize=7)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target)
    return target
