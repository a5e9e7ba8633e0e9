"""The GAN LightningModule: manual optimization of a generator and a discriminator (critic).

Each training batch makes one discriminator step; every `model.critic_steps`-th batch also
makes a generator step. Losses (`model.loss`): `gan`, the non-saturating loss of Goodfellow et
al. 2014; `wgan-gp`, the Wasserstein loss with a gradient penalty of weight `model.gp_weight`
on points between real and generated samples (Gulrajani et al. 2017).

Validation generates one sample per real validation sample from a fixed noise seed and scores
them: toy data by its modes (`zoo_tasks.gan.toy`), images by FID and KID in the run's feature
space (`zoo_tasks.gan.features`), beside the same distances between real training and validation
images (the floor a perfect generator would score).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import CatMetric

from zoo import optim
from zoo.errors import ZooError
from zoo.module import ZooModule
from zoo.trainer import non_finite_error
from zoo_tasks.gan import features, plots, toy
from zoo_tasks.gan.data import Numbered, evaluation_images

LOSSES = ("gan", "wgan-gp")
GRID = 64  # samples in the per-epoch and final grids
INTERPOLATION = (8, 10)  # rows, steps of the latent interpolation strip


class GanModule(ZooModule):
    """A GAN on images or 2-D points (`info["kind"]`); `net` holds generator and discriminator."""

    module_keys = ("conditional", "loss", "critic_steps", "gp_weight")
    output_names = ("samples",)
    predict_options = {
        "num": "how many samples to generate (default 64)",
        "seed": "the noise seed (default 0): the same seed gives the same samples",
        "label": "the class to generate, for a conditional model (default: every class in turn)",
        "output": "the folder for the grid and the single images (default: samples)",
    }

    def __init__(self, config: dict[str, Any], info: dict[str, Any]) -> None:
        super().__init__(config, info)
        self.automatic_optimization = False
        model = config["model"]
        self.loss_kind = model.get("loss", "gan")
        if self.loss_kind not in LOSSES:
            raise ZooError(f"model.loss must be one of {', '.join(LOSSES)}, not {self.loss_kind!r}")
        self.critic_steps = model.get("critic_steps", 1)
        if not isinstance(self.critic_steps, int) or self.critic_steps < 1:
            raise ZooError(f"model.critic_steps must be a whole number of 1 or more, not {self.critic_steps!r}")
        self.gp_weight = float(model.get("gp_weight", 10.0))
        self.toy = info["kind"] == "toy"
        self.classes: list[str] = info.get("classes", [])
        self.conditional = bool(self.classes) and bool(model.get("conditional"))
        if self.toy:
            self.net = self.build_net(dim=2)
            self.register_buffer("modes", torch.tensor(info["modes"]), persistent=False)
        else:
            self.net = self.build_net(channels=info["channels"], image_size=info["image_size"], num_classes=len(self.classes) if self.conditional else 0)
        for part in ("generator", "discriminator", "latent_dim"):
            if not hasattr(self.net, part):
                raise ZooError(f"the GAN model {model['name']!r} has no {part!r}", "a GAN builder returns a module with generator, discriminator and latent_dim")
        self.latent_dim = int(self.net.latent_dim)
        self.collected = nn.ModuleDict({name: CatMetric() for name in ("real", "fake", "reference")})
        self._feature_net: list[nn.Module] = []  # built at the first evaluation; not part of the weights
        self._evaluation_noise = torch.empty(0)  # by evaluation item; drawn as each evaluation starts
        self._real_features: dict[str, torch.Tensor] = {}  # of the validation images, extracted once
        self._floor: dict[str, float] = {}
        self._intervals: list[str] = []

    # Sampling -------------------------------------------------------------------------------

    def noise(self, count: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Standard normal noise on the module's device; drawn on the CPU from `generator` when
        one is given, so a seed gives the same noise on every device."""
        if generator is None:
            return torch.randn(count, self.latent_dim, device=self.device)
        return torch.randn(count, self.latent_dim, generator=generator).to(self.device)

    def _generator(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """The generator's own output: images in [-1, 1], or points."""
        return self.net.generator(z, labels) if self.conditional else self.net.generator(z)

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Samples for noise `z`: images in [0, 1] (N, C, H, W), or points (N, 2)."""
        out = self._generator(z, labels)
        return out if self.toy else (out.float() + 1) / 2

    def discriminate(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return (self.net.discriminator(x, labels) if self.conditional else self.net.discriminator(x)).reshape(-1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """The exportable generator: noise (N, latent_dim) -> images in [0, 1] or points."""
        if self.conditional:
            raise ZooError("a conditional GAN's generator takes labels too; export covers unconditional models", "train gan/dcgan or gan/wgan-gp to export")
        return self.generate(z)

    # Training -------------------------------------------------------------------------------

    def setup(self, stage: str) -> None:
        """Under DDP, look for unused parameters: the discriminator's backward pass leaves the
        generator's without gradients (Lightning wraps both networks in one DDP module). An
        explicit strategy=ddp_find_unused_parameters_false is kept."""
        from lightning.pytorch.strategies import DDPStrategy

        if isinstance(self.trainer.strategy, DDPStrategy):
            self.trainer.strategy._ddp_kwargs.setdefault("find_unused_parameters", True)  # read when DDP wraps the module

    def configure_optimizers(self) -> list[dict[str, Any]]:
        """Two optimizers from `optim` (the discriminator's at optim.discriminator_lr, or
        optim.lr); schedules are stepped here, with the batches or epochs."""
        settings = self.config["optim"]
        steps = {"total_steps": self.trainer.estimated_stepping_batches, "max_epochs": max(1, self.trainer.max_epochs or 1), "monitor": None, "mode": "min"}
        d_settings = {**settings, "lr": settings["discriminator_lr"] or settings["lr"]}
        configured = [
            optim.configure(self.net.generator.parameters(), settings, **steps),
            optim.configure(self.net.discriminator.parameters(), d_settings, **steps),
        ]
        self._intervals = [c["lr_scheduler"]["interval"] for c in configured if "lr_scheduler" in c]
        return configured

    def _real(self, batch: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.toy:
            return batch[0], None
        images, labels = batch[0], batch[1]
        return images.float() / 127.5 - 1, labels if self.conditional else None

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        opt_g, opt_d = self.optimizers()
        real, labels = self._real(batch)
        generator_step = (batch_idx + 1) % self.critic_steps == 0
        with torch.set_grad_enabled(generator_step):
            fake = self._generator(self.noise(len(real)), labels)
        real_scores, fake_scores = self.discriminate(real, labels), self.discriminate(fake.detach(), labels)
        if self.loss_kind == "gan":
            d_loss = F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()
        else:
            d_loss = fake_scores.mean() - real_scores.mean() + self.gp_weight * self._gradient_penalty(real, fake.detach(), labels)
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(d_loss)
        opt_d.step()
        self.log_train_loss(d_loss, len(real), "d_loss")
        losses = {"d_loss": d_loss.detach()}
        if generator_step:
            scores = self.discriminate(fake, labels)
            g_loss = F.softplus(-scores).mean() if self.loss_kind == "gan" else -scores.mean()
            opt_g.zero_grad(set_to_none=True)
            self.manual_backward(g_loss)
            opt_g.step()
            self.log_train_loss(g_loss, len(real), "g_loss")
            losses["g_loss"] = g_loss.detach()
        if "step" in self._intervals:
            for scheduler in self._schedulers():
                scheduler.step()
        return losses

    def _schedulers(self) -> list[Any]:
        found = self.lr_schedulers()
        return [] if found is None else found if isinstance(found, list) else [found]

    def on_train_epoch_end(self) -> None:
        super().on_train_epoch_end()
        if "epoch" in self._intervals:
            for scheduler in self._schedulers():
                scheduler.step()

    def _gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """(|grad D(x)| - 1)^2 at random points x between real and generated samples."""
        mix = torch.rand(len(real), *([1] * (real.ndim - 1)), device=real.device, dtype=real.dtype)
        points = (mix * real + (1 - mix) * fake).requires_grad_(True)
        (grads,) = torch.autograd.grad(self.discriminate(points, labels).sum(), points, create_graph=True)
        return (grads.flatten(1).norm(dim=1) - 1).square().mean()

    # Evaluation -----------------------------------------------------------------------------

    def monitored(self) -> tuple[str | None, str]:
        """Toy data: val/balanced_hq (max). Images: val/fid (min) in the run's feature space;
        without one, nothing: the last epoch is kept."""
        if self.toy:
            return "val/balanced_hq", "max"
        return ("val/fid", "min") if self.info.get("features") else (None, "min")

    def on_validation_epoch_start(self) -> None:
        self._start_evaluation(self.trainer.val_dataloaders)

    def on_test_epoch_start(self) -> None:
        self._start_evaluation(self.trainer.test_dataloaders)

    def _start_evaluation(self, loader: Any) -> None:
        """Noise for each evaluation item by its index (the last field of a batch): the same
        samples every epoch, and on any number of devices, each drawing its own shard's rows."""
        generator = torch.Generator().manual_seed(self.config["seed"])
        self._evaluation_noise = torch.randn(len(loader.dataset), self.latent_dim, generator=generator)
        for metric in self.collected.values():
            metric.reset()

    def on_fit_end(self) -> None:
        """After DDP, the gathered real features may repeat the rows DistributedSampler padded
        with: the final evaluation on one device extracts them again."""
        if self.trainer.world_size > 1:
            self._real_features.clear()
            self._floor.clear()

    def evaluation_step(self, batch: Sequence[torch.Tensor], split: str) -> None:
        *fields, index = batch
        noise = self._evaluation_noise[index.cpu()].to(self.device)
        if self.toy:
            self.collected["fake"].update(self._checked(self.generate(noise), split))
            return
        images, labels = fields[0], fields[1]
        reference = fields[2].bool() if len(fields) > 2 else torch.zeros(len(images), dtype=torch.bool, device=images.device)
        real, real_labels = images[~reference], labels[~reference]
        if len(real):
            fake = self._checked(self.generate(noise[~reference], real_labels if self.conditional else None), split)
            if self.info.get("features"):
                self.collected["fake"].update(self._features(fake))
                if split not in self._real_features:
                    self.collected["real"].update(self._features(real.float() / 255))
        if reference.any() and self.info.get("features") and split not in self._floor:
            self.collected["reference"].update(self._features(images[reference].float() / 255))

    def _checked(self, samples: torch.Tensor, split: str) -> torch.Tensor:
        """Samples that are not all finite stop the run before a checkpoint keeps the weights
        that made them."""
        if not torch.isfinite(samples).all():
            raise non_finite_error(self.trainer, self, "the generator's samples became NaN or infinite", f"{split} validation")
        return samples

    def _features(self, images: torch.Tensor) -> torch.Tensor:
        if not self._feature_net:
            self._feature_net.append(features.build(self.info["features"]).eval())
        net = self._feature_net[0].to(self.device)
        with torch.no_grad():
            return net(images.float()).float()

    def on_validation_epoch_end(self) -> None:
        self._log_metrics("val")
        if self.trainer.state.fn == "fit" and not self.trainer.sanity_checking and self.trainer.is_global_zero:
            self._samples_plot(Path(self.trainer.default_root_dir) / "plots" / "epochs" / f"epoch-{self.current_epoch + 1:03d}.png", f"epoch {self.current_epoch + 1}")

    def on_test_epoch_end(self) -> None:
        self._log_metrics("test")

    def _log_metrics(self, split: str) -> None:
        """Scores of the samples gathered from every device, so each device logs the same
        values (sync_dist only says so to Lightning under DDP)."""
        if self.toy:
            fake = self.collected["fake"].compute()
            self._latest = fake.cpu()
            values = toy.mode_metrics(fake, self.modes, self.info["std"])
            self.log(f"{split}/balanced_hq", values.pop("balanced_hq"), prog_bar=True, sync_dist=True)
            self.log(f"{split}/modes", values.pop("modes"), prog_bar=True, sync_dist=True)
            self.log_dict({f"{split}/{k}": v for k, v in values.items()}, sync_dist=True)
            return
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

    # Pictures -------------------------------------------------------------------------------

    def _grid_samples(self) -> tuple[torch.Tensor, int]:
        """GRID samples from the run's fixed noise, and the grid's columns (a conditional
        model: one class per column)."""
        generator = torch.Generator().manual_seed(self.config["seed"] + 1)
        columns = len(self.classes) if self.conditional and len(self.classes) <= 16 else 8
        labels = torch.arange(GRID, device=self.device) % len(self.classes) if self.conditional else None
        with torch.no_grad():
            return self.generate(self.noise(GRID, generator), labels).cpu(), columns

    def _samples_plot(self, target: Path, when: str) -> None:
        """The grid from fixed noise, or for toy data the latest validation samples over the
        modes, titled with `when` they were drawn and their scores."""
        if self.toy:
            values = toy.mode_metrics(self._latest, self.modes.cpu(), self.info["std"])
            title = f"{when}: {values['modes']:.0f}/{len(self.modes)} modes, {values['hq']:.1%} high-quality"
            plots.scatter(self._latest, self.modes.cpu(), self.info["std"], target, title)
        else:
            images, columns = self._grid_samples()
            plots.save_grid(images, target, columns)

    def write_plots(self, folder: Path) -> None:
        """samples.png (toy data: the validation samples over the real modes) and, for images,
        interpolation.png: rows of latent interpolations between pairs of fixed noise vectors."""
        self._samples_plot(folder / "samples.png", "kept checkpoint")
        if self.toy:
            return
        rows, steps = INTERPOLATION
        generator = torch.Generator().manual_seed(self.config["seed"] + 2)
        ends = torch.randn(rows, 2, self.latent_dim, generator=generator)
        z = torch.cat([plots.slerp(a, b, steps) for a, b in ends]).to(self.device)
        labels = (torch.arange(rows, device=self.device) % len(self.classes)).repeat_interleave(steps) if self.conditional else None
        with torch.no_grad():
            plots.save_grid(self.generate(z, labels).cpu(), folder / "interpolation.png", steps)

    # Prediction -----------------------------------------------------------------------------

    def predict(self, num: int = 64, seed: int = 0, label: str | int | None = None) -> torch.Tensor:
        """`num` samples from noise seed `seed`: images (num, C, H, W) as floats in [0, 1], or
        points (num, 2). A conditional model draws `label` (a class name), or every class in
        turn; an unconditional one takes no label."""
        if not isinstance(num, int) or isinstance(num, bool) or num < 1:
            raise ZooError(f"num must be a whole number of 1 or more, not {num!r}")
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
            raise ZooError(f"seed must be a whole number of 0 or more, not {seed!r}")
        labels = self._labels(num, label)
        generator = torch.Generator().manual_seed(seed)
        with torch.inference_mode():
            return torch.cat([self.generate(self.noise(min(256, num - start), generator), None if labels is None else labels[start : start + 256])
                              for start in range(0, num, 256)]).cpu()

    def _labels(self, num: int, label: str | int | None) -> torch.Tensor | None:
        if label is not None and not self.conditional:
            raise ZooError(f"this {self.config['model']['name']} model is not conditional: it takes no label", "drop --label (gan/cdcgan learns to draw a chosen class)")
        if not self.conditional:
            return None
        if label is None:
            return torch.arange(num, device=self.device) % len(self.classes)
        if str(label) not in self.classes:
            shown = ", ".join(self.classes[:20]) + (" ..." if len(self.classes) > 20 else "")
            raise ZooError(f"label {str(label)!r} is not one of the classes the model was trained on", f"choose one of {shown}")
        return torch.full((num,), self.classes.index(str(label)), device=self.device)

    def predict_from_cli(self, args: Sequence[str], num: str = "64", seed: str = "0", label: str | None = None, output: str = "samples") -> list[dict[str, Any]]:
        """Writes `output`/grid.png and one PNG per image (toy data: `output`/samples.png, a
        scatter over the real modes); one record per sample."""
        if args:
            raise ZooError(f"a GAN takes no inputs ({' '.join(args)})", "ask for samples with --num N --seed S (and --label L for a conditional model)")
        count, start = _whole(num, "--num"), _whole(seed, "--seed")
        samples = self.predict(count, start, label)
        folder = Path(output)
        if folder.exists() and not folder.is_dir():
            raise ZooError(f"--output {folder} is a file", "name a folder")
        folder.mkdir(parents=True, exist_ok=True)
        if self.toy:
            plot = plots.scatter(samples, self.modes.cpu(), self.info["std"], folder / "samples.png", f"{count:,} samples, seed {start}")
            return [{"x": round(float(x), 6), "y": round(float(y), 6), "plot": str(plot)} for x, y in samples.tolist()]
        labels = self._labels(count, label)
        columns = len(self.classes) if self.conditional and label is None and len(self.classes) <= 16 else 8
        grid = plots.save_grid(samples, folder / "grid.png", columns)
        records = []
        for index, image in enumerate(samples):
            path = plots.save_image(image, folder / f"{index:04d}.png")
            record = {"image": str(path), "grid": str(grid), "seed": start, "index": index}
            if labels is not None:
                record["label"] = self.classes[int(labels[index])]
            records.append(record)
        return records

    def format_prediction(self, record: dict[str, Any]) -> str | None:
        if "x" in record:
            return f"{record['x']:.4f} {record['y']:.4f}"
        line = record["image"] + (f"  label {record['label']}" if "label" in record else "")
        return f"grid: {record['grid']}\n{line}" if record["index"] == 0 else line

    # Evaluation data, export, summary -------------------------------------------------------

    def evaluation_dataset(self, path: Path) -> Numbered:
        if self.toy:
            raise ZooError("a toy-data GAN is scored against its own distribution", "run zoo evaluate RUN without --data")
        if not self.info.get("features"):
            raise ZooError("this run has no feature space for FID and KID", "train with metrics.features=inception or metrics.features=RUN")
        return evaluation_images(path, self.config, self.info)

    def example_input(self) -> torch.Tensor:
        return torch.randn(2, self.latent_dim, generator=torch.Generator().manual_seed(0))

    def describe(self) -> dict[str, Any]:
        counts = {part: sum(p.numel() for p in getattr(self.net, part).parameters()) for part in ("generator", "discriminator")}
        output = "2-D points" if self.toy else "x".join(map(str, [self.info["channels"], *self.info["image_size"]])) + " images"
        summary = {"generates": output + (f" of {len(self.classes)} classes" if self.conditional else ""),
                   "parameters": f"generator {counts['generator']:,}, discriminator {counts['discriminator']:,}"}
        if not self.toy:
            summary["feature space"] = self.info["features"]["name"] if self.info.get("features") else "none (no FID or KID)"
        return summary


def _whole(text: str, option: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ZooError(f"{option} expects a whole number, not {text!r}") from None
