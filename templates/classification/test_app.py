"""Tests of {{app_name}}: run them with `pytest` in this folder."""

from pathlib import Path

import torch

import zoo
from model import ShapeNet

HERE = Path(__file__).parent


def test_model_maps_images_to_one_logit_per_class():
    model = ShapeNet(in_channels=3, num_classes=6, image_size=[24, 24])
    assert model(torch.randn(5, 3, 24, 24)).shape == (5, 6)
    # Another size and channel count: the classifier is sized from image_size.
    gray = ShapeNet(in_channels=1, num_classes=10, image_size=[32, 48], width=8)
    assert gray(torch.randn(2, 1, 32, 48)).shape == (2, 10)


def square_image(side: int = 24, half: int = 6) -> torch.Tensor:
    """A light square on a dark background, uint8 (3, side, side), like the demo's squares."""
    image = torch.full((3, side, side), 40, dtype=torch.uint8)
    middle = side // 2
    image[:, middle - half : middle + half, middle - half : middle + half] = 230
    return image


def test_training_learns_the_shapes(tmp_path):
    run = zoo.train(config=HERE / "config.yaml", output=tmp_path, progress=False)
    assert run.metrics["val"]["acc"] >= 0.9
    trained = zoo.load(run.path, trust_code=True)
    [record] = trained.predict([square_image()])
    assert record["label"] in trained.classes
    assert record["label"] == "square"
    assert 0 <= record["probability"] <= 1
