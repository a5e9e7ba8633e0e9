"""Feature spaces for FID and KID, and the two distances.

`metrics.features` names the space:
    auto       Inception-v3's 2048 pool features (the FID network of Heusel et al. 2017, as
               ported by torch-fidelity) when its weights are in torch's cache or can be
               downloaded; else none, with a note
    inception  the same, and an error when its weights cannot be had
    none       no FID or KID
    RUN        a zoo image model (e.g. a classification run on the same data): the input of its
               last linear layer is the feature (for the default `cnn`, its 128 pooled maps)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import ZooError

INCEPTION_URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
INCEPTION = "Inception-v3 pool features (2048; the TensorFlow FID weights, through torch-fidelity)"


def resolve(choice: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the feature space as JSON-able facts, or None; a note for the run, or None) for the
    value of metrics.features. Weights are fetched here, before training starts."""
    if choice == "none":
        return None, "no FID or KID (metrics.features=none): the last epoch is kept"
    if choice in ("auto", "inception"):
        from zoo.weights import cached_download, read_state_dict

        try:
            path = cached_download(INCEPTION_URL, alternative="metrics.features=RUN")
            read_state_dict(path)  # plain tensors only, before torch-fidelity unpickles it
        except (ZooError, ValueError) as error:
            if choice == "inception":
                raise ZooError(f"metrics.features=inception: {error}") from None
            return None, (f"no FID or KID: the Inception weights are not in torch's cache and could not be downloaded ({INCEPTION_URL}); "
                          "name a feature space with metrics.features=RUN (a zoo classification run on the same data); the last epoch is kept")
        return {"kind": "inception", "weights": str(path), "name": INCEPTION}, None
    folder = Path(choice)  # the config's check found it
    features = RunFeatures(folder)
    return {"kind": "run", "path": str(folder.resolve()), "name": features.name}, None


def build(space: dict[str, Any]) -> nn.Module:
    """The network of a feature space from `resolve`: float images in [0, 1] -> (N, D)."""
    return InceptionFeatures(space["weights"]) if space["kind"] == "inception" else RunFeatures(Path(space["path"]))


class InceptionFeatures(nn.Module):
    """FID's Inception-v3 (torch-fidelity's port, through torchmetrics): images are made
    3-channel uint8 and resized to 299 x 299 inside."""

    def __init__(self, weights: str) -> None:
        super().__init__()
        from torchmetrics.image.fid import NoTrainInceptionV3

        self.net = NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"], feature_extractor_weights_path=weights)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pixels = (images.expand(-1, 3, -1, -1) * 255).round().to(torch.uint8)
        return self.net(pixels).reshape(len(images), -1)


class RunFeatures(nn.Module):
    """A zoo image model's features: the input of its last linear layer. Images are resized
    to the model's size and given its channels; the model normalizes them itself."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        import zoo
        from zoo.artifact import read_config
        from zoo.run import model_dir

        source = read_config(model_dir(folder))[0]["model"]["source"]
        if source:  # zoo runs no code from a folder named as a setting
            raise ZooError(f"metrics.features: {folder} was trained from its own model code ({source}), which zoo does not run to extract features",
                           "name a run of a built-in image model (zoo train classification --data ...)")
        self.model = zoo.load(folder)
        example = self.model.example_input()
        linear = [m for m in self.model.modules() if isinstance(m, nn.Linear)]
        if not isinstance(example, torch.Tensor) or example.ndim != 4 or not example.is_floating_point() or not linear:
            raise ZooError(f"metrics.features: {folder} holds a {self.model.config['task']} model, which does not read images",
                           "name a zoo image classification run (zoo train classification --data ...)")
        self.channels, self.size = example.shape[1], tuple(example.shape[2:])
        self.name = f"{self.model.config['task']}/{self.model.config['model']['name']} features ({linear[-1].in_features}; the input of its last linear layer, {folder})"
        self._found: list[torch.Tensor] = []
        linear[-1].register_forward_hook(lambda layer, inputs, output: self._found.append(inputs[0]))
        self.model.requires_grad_(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if tuple(images.shape[2:]) != self.size:
            images = F.interpolate(images, size=self.size, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
        if images.shape[1] != self.channels:
            images = images.expand(-1, 3, -1, -1) if self.channels == 3 else images.mean(dim=1, keepdim=True)
        self._found.clear()
        self.model(images)
        return self._found[-1].flatten(1)

    def train(self, mode: bool = True) -> RunFeatures:
        return super().train(False)  # always evaluating: batch norm and dropout as at inference


def fid(real: torch.Tensor, fake: torch.Tensor) -> float:
    """The Fréchet distance between Gaussians fitted to two feature sets (N, D):
    |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^1/2), in float64."""
    real, fake = real.double(), fake.double()
    mean_real, mean_fake = real.mean(0), fake.mean(0)
    cov_real, cov_fake = torch.cov(real.T), torch.cov(fake.T)
    root_trace = torch.linalg.eigvals(cov_real @ cov_fake).sqrt().real.sum()
    return float((mean_real - mean_fake).square().sum() + cov_real.trace() + cov_fake.trace() - 2 * root_trace)


def kid(real: torch.Tensor, fake: torch.Tensor, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """(mean, std) of the unbiased squared MMD with the cubic polynomial kernel over random
    subsets (Bińkowski et al. 2018), as torchmetrics' KernelInceptionDistance computes it."""
    from torchmetrics.image.kid import poly_mmd

    size = min(subset_size, len(real), len(fake))
    generator = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(subsets):
        pick_real = torch.randperm(len(real), generator=generator)[:size]
        pick_fake = torch.randperm(len(fake), generator=generator)[:size]
        values.append(poly_mmd(real[pick_real].double(), fake[pick_fake].double()))
    stacked = torch.stack(values)
    return float(stacked.mean()), float(stacked.std()) if subsets > 1 else 0.0
