"""What every GAN of the task shares: a generator and a discriminator (critic) trained against
each other by manual optimization, samples from seeded noise, and evaluation samples that
follow their item's index.

Each training batch makes one discriminator step; every `model.critic_steps`-th batch also
makes a generator step. Losses (`model.loss`): `gan`, the non-saturating loss of Goodfellow et
al. 2014; `wgan-gp`, the Wasserstein loss with a gradient penalty of weight `model.gp_weight`
on points between real and generated samples (Gulrajani et al. 2017).

Two modules build on it: `zoo_tasks.gan.module.GanModule` for images (FID and KID, sample
grids, latent interpolations) and `zoo_tasks.gan.toy_module.ToyGanModule` for 2-D points
(the modes they cover).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset
from torchmetrics import CatMetric

from zoo import optim
from zoo.errors import ZooError
from zoo.module import MAX_SERVED_INPUTS, Request, ZooModule
from zoo.trainer import non_finite_error

PREDICT_CHUNK = 256  # noise vectors generated at once by predict
DEFAULT_SAMPLES = 64


class AdversarialModule(ZooModule):
    """A GAN: `net` holds its generator and discriminator. Subclasses say what the networks
    are built with (`net_dims`), how a batch's real samples read (`real_batch`), how generated
    samples are scored (`score_batch`, `log_scores`), drawn (`samples_plot`) and written by
    `zoo predict` (`sample_records`)."""

    module_keys = ("conditional", "loss", "critic_steps", "gp_weight")
    output_names = ("samples",)
    predict_options = {
        "num": f"how many samples to generate (default {DEFAULT_SAMPLES})",
        "seed": "the noise seed (default 0): the same seed gives the same samples",
        "label": "the class to generate, for a conditional model (default: every class in turn)",
        "output": "the folder for the pictures of the samples (default: samples/ in the run folder)",
    }
    usage_shell = (
        "zoo predict {model} --num 64 --seed 0 --output samples",
        "zoo evaluate {model}",
    )
    usage_python = ("samples = model.predict(num=64, seed=0)",)
    collected_names: tuple[str, ...] = ("fake",)  # the samples (or features) an evaluation gathers

    def __init__(self, config: dict[str, Any], info: dict[str, Any]) -> None:
        super().__init__(config, info)
        self.automatic_optimization = False
        model = config["model"]
        self.loss_kind: str = model["loss"]
        self.critic_steps: int = model["critic_steps"]
        self.gp_weight = float(model["gp_weight"])
        self.net = self.build_net(**self.net_dims())
        for part in ("generator", "discriminator", "latent_dim"):
            if not hasattr(self.net, part):
                raise ZooError(f"the GAN model {model['name']!r} has no {part!r}", "a GAN builder returns a module with generator, discriminator and latent_dim")
        self.latent_dim = int(self.net.latent_dim)
        self.collected = nn.ModuleDict({name: CatMetric() for name in self.collected_names})
        self._evaluation_noise = torch.empty(0)  # by evaluation item; drawn as each evaluation starts
        self._intervals: list[str] = []

    def net_dims(self) -> dict[str, Any]:
        """The data's dimensions the network is built with (besides the model.* keys)."""
        raise NotImplementedError

    @property
    def classes(self) -> list[str]:
        """The class names a conditional model draws (none for an unconditional one)."""
        return self.info.get("classes", [])

    @property
    def conditional(self) -> bool:
        return bool(self.classes) and bool(self.config["model"]["conditional"])

    # Sampling -------------------------------------------------------------------------------

    def noise(self, count: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Standard normal noise on the module's device; drawn on the CPU from `generator` when
        one is given, so a seed gives the same noise on every device."""
        if generator is None:
            return torch.randn(count, self.latent_dim, device=self.device)
        return torch.randn(count, self.latent_dim, generator=generator).to(self.device)

    def _generator(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """The generator's own output (images in [-1, 1], or points)."""
        return self.net.generator(z, labels) if self.conditional else self.net.generator(z)

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Samples for noise `z`, as a user reads them."""
        return self._generator(z, labels)

    def discriminate(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return (self.net.discriminator(x, labels) if self.conditional else self.net.discriminator(x)).reshape(-1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """The exportable generator: noise (N, latent_dim) -> samples."""
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

    def real_batch(self, batch: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(the real samples as the discriminator reads them, their labels for a conditional model)."""
        return batch[0], None

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        opt_g, opt_d = self.optimizers()
        real, labels = self.real_batch(batch)
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

    def on_validation_epoch_start(self) -> None:
        self._start_evaluation(self.trainer.val_dataloaders)

    def on_test_epoch_start(self) -> None:
        self._start_evaluation(self.trainer.test_dataloaders)

    def _start_evaluation(self, loader: Any) -> None:
        """Noise for each evaluation item by its index (the last field of a batch, see
        `Numbered`): the same samples every epoch, and on any number of devices, each drawing
        its own shard's rows."""
        generator = torch.Generator().manual_seed(self.config["seed"])
        self._evaluation_noise = torch.randn(len(loader.dataset), self.latent_dim, generator=generator)
        for metric in self.collected.values():
            metric.reset()

    def evaluation_step(self, batch: Sequence[torch.Tensor], split: str) -> None:
        *fields, index = batch
        self.score_batch(fields, self._evaluation_noise[index.cpu()].to(self.device), split)

    def score_batch(self, fields: Sequence[torch.Tensor], noise: torch.Tensor, split: str) -> None:
        """Generate from one batch's `noise` and gather what `log_scores` scores."""
        raise NotImplementedError

    def checked(self, samples: torch.Tensor, split: str) -> torch.Tensor:
        """Samples that are not all finite stop the run before a checkpoint keeps the weights
        that made them."""
        if not torch.isfinite(samples).all():
            raise non_finite_error(self.trainer, self, "the generator's samples became NaN or infinite", f"{split} validation")
        return samples

    def on_validation_epoch_end(self) -> None:
        self.log_scores("val")
        if self.trainer.state.fn == "fit" and not self.trainer.sanity_checking and self.trainer.is_global_zero:
            self.samples_plot(Path(self.trainer.default_root_dir) / "plots" / "epochs" / f"epoch-{self.current_epoch + 1:03d}.png", f"epoch {self.current_epoch + 1}")

    def on_test_epoch_end(self) -> None:
        self.log_scores("test")

    def log_scores(self, split: str) -> None:
        """Log the `{split}/...` scores of the samples gathered from every device."""
        raise NotImplementedError

    # Pictures -------------------------------------------------------------------------------

    def samples_plot(self, target: Path, when: str) -> None:
        """A picture of samples at `target`, titled with `when` they were drawn."""
        raise NotImplementedError

    def write_plots(self, folder: Path) -> None:
        """samples.png: the samples of the kept checkpoint."""
        self.samples_plot(folder / "samples.png", "kept checkpoint")

    # Prediction -----------------------------------------------------------------------------

    def predict(self, inputs: Any = None, *, num: int | None = None, seed: int | None = None, label: str | int | Sequence[str | int] | None = None) -> torch.Tensor:
        """Samples, one per noise vector: without `inputs`, `num` (default 64) vectors drawn
        from noise seed `seed` (default 0), the same for the same seed; or the noise vectors
        `inputs` themselves ((N, latent_dim) numbers). A conditional model draws `label` (a class
        name; or a list, one per sample), or every class in turn; an unconditional one takes no
        label. Returns a tensor whose rows are the samples."""
        if inputs is None:
            z = self._seeded_noise(DEFAULT_SAMPLES if num is None else num, 0 if seed is None else seed)
        elif num is not None or seed is not None:
            raise ZooError("predict takes noise vectors (inputs) or num and seed, not both", "drop inputs to draw num samples from seed")
        else:
            z = self._noise_inputs(inputs)
        labels = self._labels(len(z), label)
        with torch.inference_mode():
            return torch.cat([self.generate(z[start : start + PREDICT_CHUNK].to(self.device), None if labels is None else labels[start : start + PREDICT_CHUNK])
                              for start in range(0, len(z), PREDICT_CHUNK)]).cpu()

    def _seeded_noise(self, num: Any, seed: Any) -> torch.Tensor:
        if not isinstance(num, int) or isinstance(num, bool) or num < 1:
            raise ZooError(f"num must be a whole number of 1 or more, not {num!r}")
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
            raise ZooError(f"seed must be a whole number of 0 or more, not {seed!r}")
        generator = torch.Generator().manual_seed(seed)
        return torch.cat([torch.randn(min(PREDICT_CHUNK, num - start), self.latent_dim, generator=generator) for start in range(0, num, PREDICT_CHUNK)])

    def _noise_inputs(self, inputs: Any) -> torch.Tensor:
        try:
            z = torch.as_tensor(inputs, dtype=torch.float32).cpu()
        except (ValueError, TypeError, RuntimeError) as error:
            raise ZooError(f"predict inputs are noise vectors of {self.latent_dim} numbers: {error}", "or drop them and pass num and seed") from None
        z = z.unsqueeze(0) if z.ndim == 1 else z
        if z.ndim != 2 or z.shape[1] != self.latent_dim or not len(z):
            raise ZooError(f"predict inputs are noise vectors of {self.latent_dim} numbers, (N, {self.latent_dim}); got shape {tuple(z.shape)}",
                           "or drop them and pass num and seed")
        if not torch.isfinite(z).all():
            raise ZooError("predict inputs must be finite numbers, not nan or inf")
        return z

    def _labels(self, num: int, label: str | int | Sequence[str | int] | None) -> torch.Tensor | None:
        """The class index of each of `num` samples: `label`'s, each sample's of a list, or every class in turn."""
        if label is not None and not self.conditional:
            raise ZooError(f"this {self.config['model']['name']} model is not conditional: it takes no label", "drop --label (gan/cdcgan learns to draw a chosen class)")
        if not self.conditional:
            return None
        if label is None:
            return torch.arange(num, device=self.device) % len(self.classes)
        labels = list(label) if isinstance(label, (list, tuple)) else [label] * num
        if len(labels) != num:
            raise ZooError(f"{len(labels)} labels for {num} samples", "give one label, or one per sample")
        for name in labels:
            if isinstance(name, bool) or not isinstance(name, (str, int)) or str(name) not in self.classes:
                shown = ", ".join(self.classes[:20]) + (" ..." if len(self.classes) > 20 else "")
                raise ZooError(f"label {name!r} is not one of the classes the model was trained on", f"choose one of {shown}")
        return torch.tensor([self.classes.index(str(name)) for name in labels], device=self.device)

    def predict_from_cli(self, args: Sequence[str], num: str = str(DEFAULT_SAMPLES), seed: str = "0", label: str | None = None, output: str = "samples") -> list[dict[str, Any]]:
        """`--num` samples from noise seed `--seed`, pictured in the folder `--output` (`zoo
        predict` puts the default, samples/, in the run folder); one record per sample."""
        if args:
            raise ZooError(f"a GAN takes no inputs ({' '.join(args)})", "ask for samples with --num N --seed S (and --label L for a conditional model)")
        count, start = _whole(num, "--num"), _whole(seed, "--seed")
        samples = self.predict(num=count, seed=start, label=label)
        folder = Path(output)
        if folder.exists() and not folder.is_dir():
            raise ZooError(f"--output {folder} is a file", "name a folder")
        folder.mkdir(parents=True, exist_ok=True)
        return self.sample_records(samples, folder, start, label)

    def decode_request(self, body: dict[str, Any]) -> Request:
        """`{"num": 16, "seed": 0, "label": "3"}`: `num` samples (at most MAX_SERVED_INPUTS)
        from noise seed `seed`, of class `label` for a conditional model."""
        self.check_fields(body)
        num, seed, label = body.get("num", DEFAULT_SAMPLES), body.get("seed", 0), body.get("label")
        if isinstance(num, int) and num > MAX_SERVED_INPUTS:
            raise ZooError(f"num must be at most {MAX_SERVED_INPUTS} in one request, not {num}", "ask again with another seed for more")
        z = self._seeded_noise(num, seed)
        labels = self._labels(len(z), label)
        if labels is None:
            return Request(z, [{"seed": seed, "index": index} for index in range(len(z))], {})
        names = [self.classes[int(index)] for index in labels]
        sent = [{"seed": seed, "index": index, "label": name} for index, name in enumerate(names)]
        if label is not None:
            return Request(z, sent, {"label": label})
        return Request(z, sent, {"label": names}, alone=True)  # every class in turn from this request's first sample

    def request_fields(self) -> list[str]:
        return list(self.serve_options())  # no inputs: samples come from a seed

    def served_records(self, request: Request, outputs: Sequence[Any]) -> list[dict[str, Any]]:
        return [{**self.served_sample(sample), **sent} for sent, sample in zip(request.sent, outputs)]

    def served_sample(self, sample: torch.Tensor) -> dict[str, Any]:
        """One generated sample as a JSON-able record's fields (an image as a PNG data: URL)."""
        raise NotImplementedError

    def sample_records(self, samples: torch.Tensor, folder: Path, seed: int, label: str | None) -> list[dict[str, Any]]:
        """Write pictures of `samples` (from noise seed `seed`) in `folder`; one JSON-able record each."""
        raise NotImplementedError

    # Export, summary ------------------------------------------------------------------------

    def example_input(self) -> torch.Tensor:
        return torch.randn(2, self.latent_dim, generator=torch.Generator().manual_seed(0))

    def generates(self) -> str:
        """What the generator makes, in words, for the run summary."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        counts = {part: sum(p.numel() for p in getattr(self.net, part).parameters()) for part in ("generator", "discriminator")}
        return {"generates": self.generates(), "parameters": f"generator {counts['generator']:,}, discriminator {counts['discriminator']:,}"}


class Numbered(Dataset):
    """An evaluation dataset's items with their index last: the index picks each sample's
    noise, so the generated samples are the same on any number of devices."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.rows = getattr(dataset, "rows", len(dataset))  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> tuple[Any, ...]:
        return (*self.dataset[i], i)


def _whole(text: str, option: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ZooError(f"{option} expects a whole number, not {text!r}") from None
