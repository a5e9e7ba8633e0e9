"""Tests of {{app_name}}: run them with `pytest` in this folder."""

from pathlib import Path

import torch

import zoo
from model import Summarizer

HERE = Path(__file__).parent


def test_step_by_step_decoding_equals_teacher_forcing_whatever_the_padding():
    torch.manual_seed(0)
    model = Summarizer(src_vocab=20, tgt_vocab=20, pad_id=0, shared_vocab=True).eval()
    src, lengths = torch.tensor([[5, 6, 7, 0], [8, 9, 10, 11]]), torch.tensor([3, 4])
    tgt_in = torch.tensor([[1, 12, 13], [1, 14, 15]])
    with torch.no_grad():
        forced = model(src, lengths, tgt_in)
        memory = model.encode(src, lengths)
        state = model.start(memory)
        for t in range(tgt_in.shape[1]):
            logits, state = model.step(memory, state, tgt_in[:, t])
            assert torch.allclose(logits, forced[:, t], atol=1e-5)
        alone = model(src[:1, :3], lengths[:1], tgt_in[:1])
    assert torch.allclose(alone[0], forced[0], atol=1e-5)  # padding does not change a document's summary


def test_training_learns_the_demo_dialogues(tmp_path):
    run = zoo.train(config=HERE / "config.yaml", output=tmp_path, progress=False)
    assert run.metrics["val"]["rouge1"] >= 80  # 88-96 over seeds 0-9
    summarizer = zoo.load(run.path, trust_code=True)
    dialogue = "Maria: Can you buy lemons on your way home?\nJake: Sure, how many?\nMaria: Four, please."
    [summary] = summarizer.predict([dialogue])
    # Who buys, copied from the dialogue: right over seeds 0-9. What and how many are not asserted:
    # the same config has written "six lemons", "ten lemons" and "four tomatoes" for "four
    # lemons", so another processor's float rounding could too.
    assert summary["output"].startswith("Jake will buy ")
