"""The image GAN (DCGAN, WGAN-GP, the conditional DCGAN, a user's own image networks).

Training is `zoo_tasks.gan.adversarial`'s. Validation generates one image per real validation
image from a fixed noise seed and scores them by FID and KID in the run's feature space
(`zoo_tasks.gan.features`), beside the same distances between real training and validation
images (the floor a perfect generator would score). Pictures: a sample grid per epoch and for
the kept checkpoint, and rows of latent interpolations.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zoo.errors import ZooError
from zoo_tasks.gan import features, plots
from zoo_tasks.gan.adversarial import AdversarialModule, Numbered
from zoo_tasks.gan.data import evaluation_images

GRID = 64  # samples in the per-epoch and final grids
INTERPOLATION = (8, 10)  # rows, steps of the latent interpolation strip


class GanModule(AdversarialModule):
    """A GAN of images: uint8 images of one size in, images in [0, 1] out."""

    collected_names = ("real", "fake", "reference")  # features of real, generated and floor images
    limits = (
        "It generates only what its training images show, and may cover some of them far better than others (mode collapse): FID, KID and the samples show how well.",
        "Only unconditional models export: the generator, noise to images.",
    )

    def __init__(self, config: dict[str, Any], info: dict[str, Any]) -> None:
        super().__init__(config, info)
        self._feature_net: list[nn.Module] = []  # built at the first evaluation; not part of the weights
        self._real_features: dict[str, torch.Tensor] = {}  # of the validation images, extracted once
        self._floor: dict[str, float] = {}

    def net_dims(self) -> dict[str, Any]:
        return {"channels": self.info["channels"], "image_size": self.info["image_size"], "num_classes": len(self.classes) if self.conditional else 0}

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images in [0, 1] (N, C, H, W) for noise `z`."""
        return (super().generate(z, labels).float() + 1) / 2

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """The exportable generator: noise (N, latent_dim) -> images in [0, 1]."""
        if self.conditional:
            raise ZooError("a conditional GAN's generator takes labels too; export covers unconditional models", "train gan/dcgan or gan/wgan-gp to export")
        return super().forward(z)

    def interface(self) -> dict[str, Any]:
        channels, (height, width) = self.info["channels"], self.info["image_size"]
        return {
            **({"classes": self.classes} if self.conditional else {}),
            "input": f"noise (N, {self.latent_dim}) from a standard normal distribution" + ("; and a class label each" if self.conditional else ""),
            "latent_dim": self.latent_dim,
            "output": f"images (N, {channels}, {height}, {width}) with values in [0, 1], " + ("RGB" if channels == 3 else "grayscale" if channels == 1 else f"{channels} channels"),
        }

    def real_batch(self, batch: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        images, labels = batch[0], batch[1]
        return images.float() / 127.5 - 1, labels if self.conditional else None

    # Evaluation -----------------------------------------------------------------------------

    def monitored(self) -> tuple[str | None, str]:
        """val/fid (min) in the run's feature space; without one, nothing: the last epoch is kept."""
        return ("val/fid", "min") if self.info.get("features") else (None, "min")

    def on_fit_end(self) -> None:
        """After DDP, the gathered real features may repeat the rows DistributedSampler padded
        with: the final evaluation on one device extracts them again."""
        if self.trainer.world_size > 1:
            self._real_features.clear()
            self._floor.clear()

    def score_batch(self, fields: Sequence[torch.Tensor], noise: torch.Tensor, split: str) -> None:
        images, labels = fields[0], fields[1]
        reference = fields[2].bool() if len(fields) > 2 else torch.zeros(len(images), dtype=torch.bool, device=images.device)
        real, real_labels = images[~reference], labels[~reference]
        if len(real):
            fake = self.checked(self.generate(noise[~reference], real_labels if self.conditional else None), split)
            if self.info.get("features"):
                self.collected["fake"].update(self._features(fake))
                if split not in self._real_features:
                    self.collected["real"].update(self._features(real.float() / 255))
        if reference.any() and self.info.get("features") and split not in self._floor:
            self.collected["reference"].update(self._features(images[reference].float() / 255))

    def _features(self, images: torch.Tensor) -> torch.Tensor:
        if not self._feature_net:
            self._feature_net.append(features.build(self.info["features"]).eval())
        net = self._feature_net[0].to(self.device)
        with torch.no_grad():
            return net(images.float()).float()

    def log_scores(self, split: str) -> None:
        """FID and KID of the features gathered from every device, so each device logs the
        same values (sync_dist only says so to Lightning under DDP)."""
        if not self.info.get("features") or not self.collected["fake"].update_count:
            return
        if split not in self._real_features:
            self._real_features[split] = self.collected["real"].compute().cpu()
        real, fake = self._real_features[split], self.collected["fake"].compute().cpu()
        if len(real) < 2:
            raise ZooError(f"FID needs at least two real {split} images, not {len(real)}", "hold out more images (data.val_fraction)")
        kid_mean, kid_std = features.kid(real, fake, seed=self.config["seed"])
        self.log(f"{split}/fid", features.fid(real, fake), prog_bar=True, sync_dist=True)
        self.log_dict({f"{split}/kid": kid_mean, f"{split}/kid_std": kid_std}, sync_dist=True)
        if split not in self._floor and self.collected["reference"].update_count:
            reference = self.collected["reference"].compute().cpu()
            self._floor[split] = features.fid(real, reference)
            self._floor[f"{split}/kid"] = features.kid(real, reference, seed=self.config["seed"])[0]
        if split in self._floor:
            self.log_dict({f"{split}/fid_floor": self._floor[split], f"{split}/kid_floor": self._floor[f"{split}/kid"]}, sync_dist=True)

    def evaluation_dataset(self, path: Path) -> Numbered:
        if not self.info.get("features"):
            raise ZooError("this run has no feature space for FID and KID", "train with metrics.features=inception or metrics.features=RUN")
        return evaluation_images(path, self.config, self.info)

    # Pictures -------------------------------------------------------------------------------

    def _columns(self, label: str | None = None) -> int:
        """A grid's columns: one class per column for a conditional model drawing every class."""
        return len(self.classes) if self.conditional and label is None and len(self.classes) <= 16 else 8

    def samples_plot(self, target: Path, when: str) -> None:
        """A grid of GRID samples from the run's fixed noise."""
        generator = torch.Generator().manual_seed(self.config["seed"] + 1)
        labels = torch.arange(GRID, device=self.device) % len(self.classes) if self.conditional else None
        with torch.no_grad():
            images = self.generate(self.noise(GRID, generator), labels).cpu()
        plots.save_grid(images, target, self._columns())

    def write_plots(self, folder: Path) -> None:
        """samples.png and interpolation.png: rows of latent interpolations between pairs of
        fixed noise vectors."""
        super().write_plots(folder)
        rows, steps = INTERPOLATION
        generator = torch.Generator().manual_seed(self.config["seed"] + 2)
        ends = torch.randn(rows, 2, self.latent_dim, generator=generator)
        z = torch.cat([plots.slerp(a, b, steps) for a, b in ends]).to(self.device)
        labels = (torch.arange(rows, device=self.device) % len(self.classes)).repeat_interleave(steps) if self.conditional else None
        with torch.no_grad():
            plots.save_grid(self.generate(z, labels).cpu(), folder / "interpolation.png", steps)

    # Prediction -----------------------------------------------------------------------------

    def served_sample(self, sample: torch.Tensor) -> dict[str, Any]:
        return {"image": plots.png_data_url(sample)}

    def sample_records(self, samples: torch.Tensor, folder: Path, seed: int, label: str | None) -> list[dict[str, Any]]:
        """`folder`/grid.png and one PNG per image."""
        labels = self._labels(len(samples), label)
        grid = plots.save_grid(samples, folder / "grid.png", self._columns(label))
        records = []
        for index, image in enumerate(samples):
            path = plots.save_image(image, folder / f"{index:04d}.png")
            record = {"image": str(path), "grid": str(grid), "seed": seed, "index": index}
            if labels is not None:
                record["label"] = self.classes[int(labels[index])]
            records.append(record)
        return records

    def format_prediction(self, record: dict[str, Any]) -> str | None:
        line = record["image"] + (f"  label {record['label']}" if "label" in record else "")
        return f"grid: {record['grid']}\n{line}" if record["index"] == 0 else line

    # Summary --------------------------------------------------------------------------------

    def generates(self) -> str:
        size = "x".join(map(str, [self.info["channels"], *self.info["image_size"]]))
        return f"{size} images" + (f" of {len(self.classes)} classes" if self.conditional else "")

    def describe(self) -> dict[str, Any]:
        space = self.info["features"]["name"] if self.info.get("features") else "none (no FID or KID)"
        return {**super().describe(), "feature space": space}
