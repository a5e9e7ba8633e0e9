"""The 2-D toy distributions GAN papers test mode collapse on, their mode metrics, and the
data of gan/mlp-gan (and of a user's networks with `model.base: mlp-gan`) drawn from them.

ring: 8 Gaussians (std 0.02) evenly spaced on a circle of radius 2 (Metz et al. 2017,
      unrolled GANs); grid: 25 Gaussians (std 0.05) on a 5x5 grid with spacing 2, from -4 to 4
      (Srivastava et al. 2017, VEEGAN). Both are equal mixtures.

A sample is high-quality when it lies within three standard deviations of its nearest mode; a
mode is covered when at least 0.8% of the samples (20 of 2,500, as in PacGAN, Lin et al. 2018)
are high-quality samples nearest to it.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.utils.data import TensorDataset

from zoo.data import DataBundle
from zoo.errors import ZooError
from zoo_tasks.gan.adversarial import Numbered

DISTRIBUTIONS = ("ring", "grid")
COVERED_SHARE = 20 / 2500
VAL_POINTS = 2500  # samples scored per evaluation, as in VEEGAN and PacGAN


def modes_of(name: str) -> tuple[torch.Tensor, float]:
    """(the mode centers (K, 2), the standard deviation around each) of a toy distribution."""
    if name == "ring":
        angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
        return torch.stack([2 * angles.cos(), 2 * angles.sin()], dim=1).float(), 0.02
    if name == "grid":
        steps = torch.arange(-4.0, 5.0, 2.0)
        return torch.cartesian_prod(steps, steps), 0.05
    raise ValueError(f"unknown toy distribution {name!r}; one of {', '.join(DISTRIBUTIONS)}")


def sample(name: str, count: int, generator: torch.Generator) -> torch.Tensor:
    """`count` points (count, 2) of the toy distribution, drawn with `generator`."""
    modes, std = modes_of(name)
    which = torch.randint(len(modes), (count,), generator=generator)
    return modes[which] + std * torch.randn(count, 2, generator=generator)


def mode_metrics(samples: torch.Tensor, modes: torch.Tensor, std: float) -> dict[str, float]:
    """`modes`: how many modes are covered; `hq`: the share of high-quality samples;
    `balanced_hq`: that share once each mode counts at most its real share 1/K (1 when
    samples cover every mode as evenly as the data does; at most 1/K when all fall on one).
    Samples that are not finite count as low quality."""
    samples = samples.float().cpu()
    finite = torch.isfinite(samples).all(dim=1)
    distances = torch.cdist(torch.where(finite[:, None], samples, 0.0), modes.float())
    nearest, which = distances.min(dim=1)
    good = finite & (nearest <= 3 * std)
    counts = torch.bincount(which[good], minlength=len(modes)).float()
    count = max(1, len(samples))
    share = counts / count
    return {
        "modes": float((share >= COVERED_SHARE).sum()),
        "hq": float(good.float().mean()) if len(samples) else 0.0,
        "balanced_hq": float(share.clamp(max=1 / len(modes)).sum()),
    }


def build_data(config: dict[str, Any]) -> DataBundle:
    """data.toy_points training points and 2,500 validation points of data.toy."""
    data, model = config["data"], config["model"]
    name = f"{model['source']!r} (model.base: mlp-gan)" if model["source"] else f"gan/{model['name']}"
    if data["path"] is not None:
        raise ZooError(f"{name} learns 2-D points, not images",
                       "drop --data (it trains on data.toy: ring or grid), or train gan/dcgan on images" if not model["source"]
                       else "drop data.path (it trains on data.toy: ring or grid), or drop model.base to train your networks on images")
    if model["conditional"]:
        raise ZooError(f"{name} cannot be conditional: the 2-D toy points have no classes", "drop model.conditional, or train gan/cdcgan on images of two or more classes")
    modes, std = modes_of(data["toy"])
    generator = torch.Generator().manual_seed(config["seed"])
    train = sample(data["toy"], data["toy_points"], generator)
    val = sample(data["toy"], VAL_POINTS, generator)
    info = {"kind": "toy", "toy": data["toy"], "modes": modes.tolist(), "std": std, "rows": {"train": len(train), "val": len(val)}}
    notes = [f"the {data['toy']} of {len(modes)} Gaussians (std {std}): {len(train):,} training points; {len(val):,} generated points are scored per validation"]
    return DataBundle(train=TensorDataset(train), val=Numbered(TensorDataset(val)), info=info, notes=notes)
