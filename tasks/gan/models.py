"""GAN networks: a generator and a discriminator (a critic, for Wasserstein losses) in one module.

The GAN contract, for built-in and user models alike (`model.source`): the builder returns an
`nn.Module` with `generator`, `discriminator` and `latent_dim`.
    generator(z)            z (N, latent_dim) -> images (N, C, H, W) in [-1, 1], or points (N, 2)
    discriminator(x)        images or points -> one logit (score) per sample, (N,) or (N, 1)
A conditional model (`model.conditional: true`) is built with `num_classes` > 0, and both
networks also take the class indices: generator(z, labels), discriminator(x, labels).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class GAN(nn.Module):
    """A generator and a discriminator, trained against each other."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, latent_dim: int) -> None:
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim


# DCGAN (Radford et al. 2015), scaled to the image size ------------------------------------


def doublings(image_size: Sequence[int]) -> tuple[int, tuple[int, int]]:
    """(k, (h, w)): the generator grows an (h, w) map k times by 2 to `image_size`; k is as
    large as keeps h and w whole and at least 3 (4x4 for 32 and 64 pixels, 7x7 for 28)."""
    height, width = (int(s) for s in image_size)
    k = 0
    while height % 2 ** (k + 1) == 0 and width % 2 ** (k + 1) == 0 and min(height, width) // 2 ** (k + 1) >= 3:
        k += 1
    if k < 2:
        raise ValueError(
            f"a DCGAN halves the image at least twice, so its sides must be multiples of 4 of at least 12 pixels, "
            f"not {height}x{width}; set data.image_size (e.g. {max(12, round(max(height, width) / 8) * 8)})"
        )
    return k, (height // 2**k, width // 2**k)


class DCGenerator(nn.Module):
    """z (and a one-hot label) -> a (h, w) map of width*2^(k-1) channels by a transposed
    convolution, then k transposed 4x4 convolutions of stride 2, halving the channels; batch
    norm and ReLU between, tanh at the end."""

    def __init__(self, latent_dim: int, channels: int, image_size: Sequence[int], width: int, num_classes: int) -> None:
        super().__init__()
        k, start = doublings(image_size)
        self.num_classes = num_classes
        wide = width * 2 ** (k - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim + num_classes, wide, start, bias=False), nn.BatchNorm2d(wide), nn.ReLU(True)]
        for _ in range(k - 1):
            layers += [nn.ConvTranspose2d(wide, wide // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(wide // 2), nn.ReLU(True)]
            wide //= 2
        layers += [nn.ConvTranspose2d(wide, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            z = torch.cat([z, F.one_hot(labels, self.num_classes).to(z.dtype)], dim=1)
        return self.net(z[:, :, None, None])


class DCDiscriminator(nn.Module):
    """The generator mirrored: k strided 4x4 convolutions doubling the channels (LeakyReLU
    0.2; batch norm after all but the first, when `batch_norm`), then one convolution over the
    whole (h, w) map to a logit. A conditional one sees the label as one-hot planes."""

    def __init__(self, channels: int, image_size: Sequence[int], width: int, num_classes: int, batch_norm: bool) -> None:
        super().__init__()
        k, start = doublings(image_size)
        self.num_classes = num_classes
        layers: list[nn.Module] = [nn.Conv2d(channels + num_classes, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        wide = width
        for _ in range(k - 1):
            norm: list[nn.Module] = [nn.BatchNorm2d(wide * 2)] if batch_norm else []
            layers += [nn.Conv2d(wide, wide * 2, 4, 2, 1, bias=not batch_norm), *norm, nn.LeakyReLU(0.2, True)]
            wide *= 2
        layers.append(nn.Conv2d(wide, 1, start))
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            planes = F.one_hot(labels, self.num_classes).to(images.dtype)[:, :, None, None]
            images = torch.cat([images, planes.expand(-1, -1, *images.shape[-2:])], dim=1)
        return self.net(images).flatten()


def _dcgan_init(module: nn.Module) -> None:
    """DCGAN's start: convolutions from N(0, 0.02), batch-norm scales from N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _image_gan(channels: int, image_size: Sequence[int], num_classes: int, latent_dim: int, width: int, batch_norm: bool) -> GAN:
    gan = GAN(
        DCGenerator(latent_dim, channels, image_size, width, num_classes),
        DCDiscriminator(channels, image_size, width, num_classes, batch_norm),
        latent_dim,
    )
    gan.apply(_dcgan_init)
    return gan


def dcgan(channels: int, image_size: Sequence[int], num_classes: int = 0, latent_dim: int = 100, width: int = 64) -> GAN:
    """DCGAN: batch norm in both networks. With `num_classes`, the conditional cDCGAN."""
    return _image_gan(channels, image_size, num_classes, latent_dim, width, batch_norm=True)


def wgan_gp(channels: int, image_size: Sequence[int], num_classes: int = 0, latent_dim: int = 100, width: int = 64) -> GAN:
    """The DCGAN generator and a critic without batch norm, which the gradient penalty
    forbids (it penalizes each sample's gradient alone; Gulrajani et al. 2017)."""
    return _image_gan(channels, image_size, num_classes, latent_dim, width, batch_norm=False)


# An MLP GAN for 2-D points --------------------------------------------------------------


def _mlp(inputs: int, outputs: int, hidden: int, layers: int, activation: type[nn.Module]) -> nn.Sequential:
    stack: list[nn.Module] = []
    for _ in range(layers):
        stack += [nn.Linear(inputs, hidden), activation()]
        inputs = hidden
    return nn.Sequential(*stack, nn.Linear(inputs, outputs))


class PackedDiscriminator(nn.Module):
    """An MLP that judges `pack` samples at once (PacGAN, Lin et al. 2018): a generator that
    puts all its samples on one mode is easy to catch in a pack, which counters mode collapse.
    (N, dim) -> (N // pack,) logits; the last N % pack samples are left out."""

    def __init__(self, dim: int, hidden: int, layers: int, pack: int) -> None:
        super().__init__()
        self.pack = pack
        self.net = _mlp(dim * pack, 1, hidden, layers, lambda: nn.LeakyReLU(0.2))

    def forward(self, points: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        usable = len(points) - len(points) % self.pack
        return self.net(points[:usable].reshape(usable // self.pack, -1)).flatten()


class MLPGenerator(nn.Module):
    def __init__(self, latent_dim: int, dim: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.net = _mlp(latent_dim, dim, hidden, layers, nn.ReLU)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z)


def mlp_gan(dim: int, latent_dim: int = 2, hidden: int = 128, layers: int = 3, pack: int = 2) -> GAN:
    """Generator and discriminator of `layers` hidden layers of `hidden` units (ReLU;
    LeakyReLU 0.2 in the discriminator), which sees `pack` samples at a time."""
    return GAN(MLPGenerator(latent_dim, dim, hidden, layers), PackedDiscriminator(dim, hidden, layers, pack), latent_dim)
