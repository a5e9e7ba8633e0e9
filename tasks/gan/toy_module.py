"""The GAN of 2-D toy points (gan/mlp-gan, and a user's own networks with `model.base: mlp-gan`).

Training is `zoo_tasks.gan.adversarial`'s. Validation generates as many points as the
validation set holds, from a fixed noise seed, and scores the modes of the toy distribution
they cover (`zoo_tasks.gan.toy`); the pictures show them over the real modes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from zoo.errors import ZooError
from zoo_tasks.gan import plots, toy
from zoo_tasks.gan.adversarial import AdversarialModule


class ToyGanModule(AdversarialModule):
    """A GAN of points (N, 2) of `info["toy"]`, a mixture of Gaussians around `info["modes"]`."""

    metric_meanings = {  # the card explains them
        "hq": "the share of generated points within 3 standard deviations of a mode (high quality)",
        "modes": "the modes that at least 0.8% of the points are high-quality samples of",
        "balanced_hq": "the share of high-quality points, each mode counting at most its own share: low when the generator drops modes",
    }

    limits = ("It makes 2-D points of one known mixture of Gaussians: a demonstration of GAN training, not an image model.",)

    def __init__(self, config: dict[str, Any], info: dict[str, Any]) -> None:
        super().__init__(config, info)
        self.register_buffer("modes", torch.tensor(info["modes"]), persistent=False)
        self._latest = torch.empty(0, 2)  # the last evaluation's samples, for its picture

    def net_dims(self) -> dict[str, Any]:
        return {"dim": 2}

    def interface(self) -> dict[str, Any]:
        return {"input": f"noise (N, {self.latent_dim}) from a standard normal distribution", "latent_dim": self.latent_dim, "output": "points (N, 2)"}

    def score_batch(self, fields: Sequence[torch.Tensor], noise: torch.Tensor, split: str) -> None:
        self.collected["fake"].update(self.checked(self.generate(noise), split))

    def log_scores(self, split: str) -> None:
        """The modes covered by the samples gathered from every device, so each device logs
        the same values (sync_dist only says so to Lightning under DDP)."""
        fake = self.collected["fake"].compute()
        self._latest = fake.cpu()
        values = toy.mode_metrics(fake, self.modes, self.info["std"])
        self.log(f"{split}/balanced_hq", values.pop("balanced_hq"), prog_bar=True, sync_dist=True)
        self.log(f"{split}/modes", values.pop("modes"), prog_bar=True, sync_dist=True)
        self.log_dict({f"{split}/{k}": v for k, v in values.items()}, sync_dist=True)

    def evaluation_dataset(self, path: Path) -> Dataset:
        raise ZooError("a toy-data GAN is scored against its own distribution", "run zoo evaluate RUN without --data")

    def samples_plot(self, target: Path, when: str) -> None:
        """The latest evaluation's samples over the real modes, with their scores."""
        values = toy.mode_metrics(self._latest, self.modes.cpu(), self.info["std"])
        title = f"{when}: {values['modes']:.0f}/{len(self.modes)} modes, {values['hq']:.1%} high-quality"
        plots.scatter(self._latest, self.modes.cpu(), self.info["std"], target, title)

    def served_sample(self, sample: torch.Tensor) -> dict[str, Any]:
        return {"x": round(float(sample[0]), 6), "y": round(float(sample[1]), 6)}

    def sample_records(self, samples: torch.Tensor, folder: Path, seed: int, label: str | None) -> list[dict[str, Any]]:
        """`folder`/samples.png, a scatter over the real modes; one record (x, y) per point."""
        plot = plots.scatter(samples, self.modes.cpu(), self.info["std"], folder / "samples.png", f"{len(samples):,} samples, seed {seed}")
        return [{"x": round(float(x), 6), "y": round(float(y), 6), "plot": str(plot), "seed": seed, "index": index}
                for index, (x, y) in enumerate(samples.tolist())]

    def format_prediction(self, record: dict[str, Any]) -> str | None:
        """`x=  1.2345  y= -0.5000`: fixed widths, so the points' columns line up whatever their
        signs; the plot of them all named above the first."""
        line = f"x={record['x']:8.4f}  y={record['y']:8.4f}"
        return f"plot: {record['plot']}\n{line}" if record["index"] == 0 else line

    def generates(self) -> str:
        return f"2-D points of the {self.info['toy']} of {len(self.modes)} Gaussians"
