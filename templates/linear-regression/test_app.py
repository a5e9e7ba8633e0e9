"""Tests of {{app_name}}: run them with `pytest` in this folder."""

from pathlib import Path

import torch

import zoo
from model import PriceModel

HERE = Path(__file__).parent


def test_model_maps_features_to_one_output():
    model = PriceModel(in_features=2)
    assert model(torch.zeros(5, 2)).shape == (5, 1)


def test_training_fits_the_data(tmp_path):
    run = zoo.train(config=HERE / "config.yaml", output=tmp_path, progress=False)
    assert run.metrics["val"]["r2"] > 0.95
    trained = zoo.load(run.path, trust_code=True)
    # A 100 m2 flat with 3 rooms costs about 2.5*100 + 12*3 + 40 = 326 thousand.
    assert abs(trained.predict([[100.0, 3.0]])[0] - 326) < 10
