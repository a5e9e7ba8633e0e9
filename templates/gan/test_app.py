"""Tests of {{app_name}}: run them with `pytest` in this folder."""

import math
from pathlib import Path

import torch

import zoo
from model import PointGAN

HERE = Path(__file__).parent


def test_networks_map_noise_to_points_and_points_to_logits():
    gan = PointGAN(dim=2, latent_dim=4, hidden=16, pack=2)
    points = gan.generator(torch.randn(6, 4))
    assert points.shape == (6, 2)
    assert gan.discriminator(points).shape == (3,)  # packs of two


def test_training_covers_the_ring(tmp_path):
    run = zoo.train(config=HERE / "config.yaml", output=tmp_path, progress=False)
    # Bounds that hold whatever the processor's float rounding: over seeds 0-6 this config
    # covers 4 to 8 of the ring's 8 modes with 33-88% of samples near one (hq); an untrained
    # generator covers none with 0%.
    assert run.metrics["val"]["modes"] >= 2 and run.metrics["val"]["hq"] >= 0.1
    trained = zoo.load(run.path, trust_code=True)
    points = trained.predict(num=2000, seed=0)
    assert points.shape == (2000, 2)
    # On the ring of radius 2 (trained: half the points within 0.03 of it; untrained: 1.9 off) ...
    assert (points.norm(dim=1) - 2).abs().median() < 0.2
    # ... and all around it, not collapsed on a few modes: each eighth of the ring (a mode at its
    # middle) holds at least 2% of the samples (an even spread: 12.5%; trained: 7% or more).
    eighth = torch.round(torch.atan2(points[:, 1], points[:, 0]) / (math.pi / 4)).long() % 8
    assert torch.bincount(eighth, minlength=8).min() >= 0.02 * len(points)
