"""Tests of {{app_name}}: run them with `pytest` in this folder."""

from pathlib import Path

import torch

import zoo
from model import ReviewNet

HERE = Path(__file__).parent


def test_model_maps_token_ids_to_one_logit_per_class_whatever_the_padding():
    model = ReviewNet(vocab_size=100, num_classes=3, pad_id=0).eval()
    ids = torch.tensor([[5, 6, 7, 0, 0], [8, 9, 10, 11, 12]])
    logits = model(ids, torch.tensor([3, 5]))
    assert logits.shape == (2, 3)
    alone = model(ids[:1, :3], torch.tensor([3]))
    assert torch.allclose(logits[0], alone[0], atol=1e-6)  # padding does not change a text's logits


def test_training_learns_the_demo_reviews(tmp_path):
    run = zoo.train(config=HERE / "config.yaml", output=tmp_path, progress=False)
    # 83-98% of the 48 validation reviews over seeds 0-9 (92% on average): the bound leaves room
    # for any processor's float rounding; guessing scores 50%.
    assert run.metrics["val"]["acc"] >= 0.75
    trained = zoo.load(run.path, trust_code=True)
    good, bad = trained.predict(["what a wonderful movie", "the script is dull and boring"])
    assert (good["label"], bad["label"]) == ("positive", "negative")
    assert 0.5 <= good["score"] <= 1
