"""Tests of {{app_name}}: run them with `pytest` in this folder."""

from pathlib import Path

import torch

import zoo
from model import ShapeDetector

HERE = Path(__file__).parent


def test_detector_trains_on_targets_and_detects_boxes():
    model = ShapeDetector(in_channels=3, num_classes=3, image_size=128)
    images = [torch.rand(3, 128, 128), torch.rand(3, 96, 128)]
    targets = [
        {"boxes": torch.tensor([[10.0, 20.0, 50.0, 60.0]]), "labels": torch.tensor([2])},
        {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)},  # nothing here
    ]
    losses = model.train()(images, targets)
    assert all(loss.ndim == 0 and loss.requires_grad for loss in losses.values())
    detections = model.eval()(images)
    assert len(detections) == 2 and set(detections[0]) == {"boxes", "scores", "labels"}


def square_picture(side: int = 128) -> torch.Tensor:
    """A light 40-pixel square on a dark background, uint8 (3, side, side), like the demo's squares."""
    image = torch.full((3, side, side), 40, dtype=torch.uint8)
    image[:, 30:70, 50:90] = 230
    return image


def test_training_learns_the_shapes(tmp_path):
    run = zoo.train(config=HERE / "config.yaml", output=tmp_path, progress=False)
    assert run.metrics["val"]["map50"] >= 0.5
    [record] = zoo.load(run.path, trust_code=True).predict([square_picture()], score_threshold=0.2)
    best = record["detections"][0]
    assert best["label"] == "square"
    x1, y1, x2, y2 = best["box"]
    assert abs(x1 - 50) < 8 and abs(y1 - 30) < 8 and abs(x2 - 90) < 8 and abs(y2 - 70) < 8
