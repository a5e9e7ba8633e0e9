"""Tests of {{app_name}}: run them with `pytest` in this folder."""

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
    assert run.metrics["val"]["modes"] >= 6  # of the ring's 8; an untrained generator covers none
    trained = zoo.load(run.path, trust_code=True)
    points = trained.predict(num=100, seed=0)
    assert points.shape == (100, 2)
    assert (points.norm(dim=1) - 2).abs().median() < 0.5  # on the ring of radius 2
