"""The classification LightningModule: images in, class logits out.

The network's input is float pixels in [0, 1], (N, C, H, W); uint8 batches from the data
loaders are scaled on the device. Normalization is part of the module, so an exported model
needs nothing but the resized image.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from zoo.class_metrics import class_metrics, confusion_plots, log_class_metrics
from zoo.errors import ZooError
from zoo.images import ServedImages, encode, image_files, is_pil, open_image, single_split, to_tensor
from zoo.inference import FrozenGraph
from zoo.module import ZooModule
from zoo_tasks.classification.data import ImageDataset, transforms

TOP_K = 5
PREDICT_BATCH = 64  # images prepared and run at once


class ClassificationModule(ServedImages, ZooModule):
    """Cross-entropy training; accuracy, top-5, macro F1, per-class precision and recall."""

    predict_options = {"top-k": f"how many of the most likely labels each record lists (default {TOP_K})"}
    usage_shell = ("zoo predict {model} photo.jpg more_photos/ --json", "zoo evaluate {model} --data labelled_images/")
    usage_python = ('model.predict(["photo.jpg"], top_k=3)  # [{"label", "probability", "top_k"}]',)
    limits = (
        "It always answers with one of its classes, even for a picture of none of them: a low probability is the only sign.",
        "Images are scaled and center-cropped to its input size: what lies outside the crop is not seen.",
    )

    def __init__(self, config: dict[str, Any], info: dict[str, Any]) -> None:
        super().__init__(config, info)
        self.classes: list[str] = info["classes"]
        self.channels: int = info["channels"]
        self.image_size: list[int] = info["image_size"]
        self.net = self.build_net(in_channels=self.channels, num_classes=len(self.classes), image_size=self.image_size)
        self.graph = FrozenGraph()  # how the network predicts on the CPU, where it traces faithfully
        shape = (1, self.channels, 1, 1)
        self.register_buffer("mean", torch.tensor(info["mean"]).reshape(shape), persistent=False)
        self.register_buffer("std", torch.tensor(info["std"]).reshape(shape), persistent=False)
        self.metrics = nn.ModuleDict({split: class_metrics(len(self.classes), split, TOP_K) for split in ("val", "test")})
        self.confusion: dict[str, torch.Tensor] = {}  # of each split's latest evaluation, for the plots
        self.eval_transform = transforms(info, augment="none")

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits of float images in [0, 1] (uint8 images are scaled first)."""
        if images.dtype == torch.uint8:
            images = images.float() / 255
        normalized = (images - self.mean) / self.std
        # While fitting the weights change every epoch: a graph would be traced again for each validation.
        return self.net(normalized) if self.fitting else self.graph(self.net, normalized)

    def train(self, mode: bool = True) -> ClassificationModule:
        self.graph.clear()  # training may change the weights in ways their versions do not show
        return super().train(mode)

    def on_train_epoch_start(self) -> None:
        """With a frozen backbone its batch-norm statistics stay frozen too."""
        super().on_train_epoch_start()
        if self.config["model"].get("freeze_backbone"):
            for layer in self.net.modules():
                if isinstance(layer, nn.modules.batchnorm._BatchNorm) and not any(p.requires_grad for p in layer.parameters()):
                    layer.eval()

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> torch.Tensor:
        images, targets = batch
        loss = F.cross_entropy(self(images), targets)
        self.log_train_loss(loss, batch_size=len(targets))
        return loss

    def evaluation_step(self, batch: Sequence[torch.Tensor], split: str) -> None:
        images, targets = batch
        logits = self(images)
        loss = F.cross_entropy(logits, targets)
        self.log(f"{split}/loss", loss, prog_bar=split == "val", batch_size=len(targets), sync_dist=True)
        self.metrics[split].update(logits, targets)

    def on_validation_epoch_end(self) -> None:
        self._log_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_metrics("test")

    def _log_metrics(self, split: str) -> None:
        self.confusion[split] = log_class_metrics(self, self.metrics[split], split, self.classes)

    # Prediction -----------------------------------------------------------------------------

    def predict(self, inputs: Any, *, top_k: int = TOP_K) -> list[dict[str, Any]]:
        """Each image (a file path, PIL image, or tensor (C, H, W): uint8, or float in [0, 1])
        -> its label, that label's probability, and the `top_k` most likely labels. A tensor
        (N, C, H, W) is N images."""
        _check_top_k(top_k)
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs) if inputs.ndim == 4 else [inputs]
        elif isinstance(inputs, (str, Path)) or is_pil(inputs):
            inputs = [inputs]
        chunks = (inputs[start : start + PREDICT_BATCH] for start in range(0, len(inputs), PREDICT_BATCH))
        return [record for chunk in chunks for record in self.predict_served([self._prepared(item) for item in chunk], top_k=top_k)]

    def served_inputs(self, sent: list[Any]) -> list[torch.Tensor]:
        return [self._prepared(image) for image in super().served_inputs(sent)]

    def predict_served(self, images: list[torch.Tensor], *, top_k: int = TOP_K) -> list[dict[str, Any]]:
        """Images as `_prepared` leaves them -> `predict`'s records."""
        _check_top_k(top_k)
        records = []
        for start in range(0, len(images), PREDICT_BATCH):
            batch = torch.stack(images[start : start + PREDICT_BATCH]).to(self.device)
            with torch.inference_mode():
                probabilities = self(batch).float().softmax(dim=1).cpu()
            records += self._records(probabilities, top_k)
        return records

    def _prepared(self, item: Any) -> torch.Tensor:
        """An image as the network takes it: uint8 (C, H, W) at the model's size."""
        if isinstance(item, (str, Path)):
            item = open_image(Path(item))
        return self.eval_transform(to_tensor(item, self.channels))

    def _records(self, probabilities: torch.Tensor, top_k: int) -> list[dict[str, Any]]:
        """A record per row of `probabilities` (N, classes)."""
        values, indices = probabilities.topk(min(top_k, len(self.classes)), dim=1)
        records = []
        for row_values, row_indices in zip(values.tolist(), indices.tolist()):
            top = [{"label": self.classes[i], "probability": round(v, 6)} for v, i in zip(row_values, row_indices)]
            records.append({"label": top[0]["label"], "probability": top[0]["probability"], "top_k": top})
        return records

    def predict_from_cli(self, args: Sequence[str], top_k: str = str(TOP_K)) -> list[dict[str, Any]]:
        """Image files, and folders of them (searched recursively, in name order)."""
        if not top_k.isdigit() or int(top_k) < 1:
            raise ZooError(f"--top-k must be a whole number of at least 1, not {top_k!r}")
        files = image_files(args)
        return [{"input": str(file), **record} for file, record in zip(files, self.predict(files, top_k=int(top_k)))]

    # Evaluation, export, summary ------------------------------------------------------------

    def evaluation_dataset(self, path: Path) -> ImageDataset:
        """Labelled images at `path` (for a tree with splits, its test or else val part)."""
        columns = {"image_column": self.config["data"]["image_column"], "label_column": self.config["data"]["label_column"]}
        split = single_split(path, "path", columns)
        targets = encode(split, self.classes)
        return ImageDataset(split.images, targets, range(len(targets)), self.channels, self.eval_transform)

    def example_input(self) -> torch.Tensor:
        generator = torch.Generator().manual_seed(0)
        return torch.rand(2, self.channels, *self.image_size, generator=generator)

    def interface(self) -> dict[str, Any]:
        return {
            "classes": self.classes,
            "input": f"float images (N, {self.channels}, {self.image_size[0]}, {self.image_size[1]}) with values in [0, 1]",
            "channel_order": "RGB" if self.channels == 3 else "grayscale" if self.channels == 1 else f"{self.channels} channels",
            "image_size": self.image_size,
            "resize": "scaled to cover image_size / crop_fraction, keeping the aspect ratio, then center-cropped to image_size",
            "crop_fraction": self.info["crop_fraction"],
            "mean": self.info["mean"],
            "std": self.info["std"],
            "normalization": "(x - mean) / std per channel, inside the network: feed it [0, 1] pixels",
            "output": "logits (N, classes): softmax gives the probabilities",
        }

    def write_plots(self, folder: Path) -> None:
        confusion_plots(self.confusion, self.classes, folder, "images")

    def describe(self) -> dict[str, Any]:
        shown = ", ".join(self.classes[:10]) + (f" ... ({len(self.classes)})" if len(self.classes) > 10 else "")
        return {"classes": shown, "input": "x".join(map(str, [self.channels, *self.image_size]))}


def _check_top_k(top_k: Any) -> None:
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ZooError(f"top_k must be a whole number of at least 1, not {top_k!r}")
