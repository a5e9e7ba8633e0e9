"""The 2-D toy distributions GAN papers test mode collapse on, and their mode metrics.

ring: 8 Gaussians (std 0.02) evenly spaced on a circle of radius 2 (Metz et al. 2017,
      unrolled GANs); grid: 25 Gaussians (std 0.05) on a 5x5 grid with spacing 2, from -4 to 4
      (Srivastava et al. 2017, VEEGAN). Both are equal mixtures.

A sample is high-quality when it lies within three standard deviations of its nearest mode; a
mode is covered when at least 0.8% of the samples (20 of 2,500, as in PacGAN, Lin et al. 2018)
are high-quality samples nearest to it.
"""

from __future__ import annotations

import math

import torch

from zoo.errors import ZooError, did_you_mean

DISTRIBUTIONS = ("ring", "grid")
COVERED_SHARE = 20 / 2500


def modes_of(name: str) -> tuple[torch.Tensor, float]:
    """(the mode centers (K, 2), the standard deviation around each) of a toy distribution."""
    if name == "ring":
        angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
        return torch.stack([2 * angles.cos(), 2 * angles.sin()], dim=1).float(), 0.02
    if name == "grid":
        steps = torch.arange(-4.0, 5.0, 2.0)
        return torch.cartesian_prod(steps, steps), 0.05
    raise ZooError(f"data.toy: unknown distribution {name!r}", did_you_mean(name, DISTRIBUTIONS) or f"choose {' or '.join(DISTRIBUTIONS)}")


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
