"""The GAN of {{app_name}}. It is yours: change it, and `zoo train --config config.yaml` trains it.

zoo calls `PointGAN(dim=2, **model_keys)`, where `model_keys` are the other keys of the `model:`
section in config.yaml (here `latent_dim`, `hidden` and `pack`; `loss` and `critic_steps` are
zoo's). It needs three attributes:
    generator(z)        noise (N, latent_dim) -> points (N, 2)
    discriminator(x)    points (N, 2) -> one logit per judged sample
    latent_dim          the size of the noise zoo draws from N(0, 1)
zoo trains them against each other, scores samples by the modes they cover, and keeps the best
epoch (`model.base: mlp-gan` in config.yaml says so). For images (without model.base), the
generator returns (N, C, H, W) in [-1, 1] and zoo calls
`PointGAN(channels=..., image_size=[H, W], num_classes=0, **model_keys)` instead.
"""

import torch
from torch import nn


def mlp(inputs: int, outputs: int, hidden: int, activation: type[nn.Module]) -> nn.Sequential:
    """Three hidden layers of `hidden` units."""
    return nn.Sequential(
        nn.Linear(inputs, hidden), activation(),
        nn.Linear(hidden, hidden), activation(),
        nn.Linear(hidden, hidden), activation(),
        nn.Linear(hidden, outputs),
    )


class PackedCritic(nn.Module):
    """Judges `pack` samples at once (PacGAN): a generator that drops modes is easier to catch
    in a pack than one sample at a time."""

    def __init__(self, dim: int, hidden: int, pack: int) -> None:
        super().__init__()
        self.pack = pack
        self.net = mlp(dim * pack, 1, hidden, nn.LeakyReLU)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        usable = len(points) - len(points) % self.pack
        return self.net(points[:usable].reshape(usable // self.pack, -1)).flatten()


class PointGAN(nn.Module):
    def __init__(self, dim: int, latent_dim: int = 2, hidden: int = 128, pack: int = 2) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.generator = mlp(latent_dim, dim, hidden, nn.ReLU)
        self.discriminator = PackedCritic(dim, hidden, pack)
