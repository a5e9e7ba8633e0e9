"""Detectors: `yolo`, written here, and torchvision's Faster R-CNN, RetinaNet, FCOS and SSDlite.

Every builder returns a `Detector`: float images in [0, 1] in, and out either a dict of losses
(training, with targets) or per image {"boxes" (x1, y1, x2, y2 pixels), "scores", "labels"}
with labels counted from 0. Images arrive scaled so their longer side is at most `image_size`.

The `model.*` keys arrive keyword-only and always given: their defaults are declared once, in
the task's `Model.settings` (zoo_tasks.detection), and checked there before a run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from zoo.weights import cached_download, check_architecture, is_restoring, starting_weights
from zoo_tasks.detection.yolo import STRIDES, YoloDetector

Targets = Sequence[dict[str, torch.Tensor]]


class Detector(nn.Module):
    """The common face of all detectors: a wrapper around `model`."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: list[torch.Tensor], targets: Targets | None = None) -> dict[str, torch.Tensor] | list[dict[str, torch.Tensor]]:
        raise NotImplementedError


class Yolo(Detector):
    """Pads a list of images into one batch (sides multiples of 32) for `YoloDetector`.
    Boxes keep the coordinates of the unpadded images."""

    score_threshold = 0.05  # detections kept for evaluation, as torchvision's detectors keep
    model: YoloDetector

    def forward(self, images: list[torch.Tensor], targets: Targets | None = None) -> dict[str, torch.Tensor] | list[dict[str, torch.Tensor]]:
        from torchvision.ops import clip_boxes_to_image

        batch = pad_batch(images, STRIDES[-1])
        if targets is not None:
            return self.model.loss(batch, targets)
        detections = self.model.detect(batch, score_threshold=self.score_threshold)
        for found, image in zip(detections, images):
            found["boxes"] = clip_boxes_to_image(found["boxes"], tuple(image.shape[-2:]))
        return detections


def pad_batch(images: Sequence[torch.Tensor], multiple: int) -> torch.Tensor:
    """Images of any sizes, zero-padded at the bottom and right to one size, a multiple of
    `multiple` on each side."""
    height = max(i.shape[-2] for i in images)
    width = max(i.shape[-1] for i in images)
    height, width = (-(-side // multiple) * multiple for side in (height, width))
    batch = images[0].new_zeros(len(images), images[0].shape[0], height, width)
    for slot, image in zip(batch, images):
        slot[:, : image.shape[-2], : image.shape[-1]] = image
    return batch


class Torchvision(Detector):
    """A torchvision detector, its labels shifted by one (its class 0 is the background)."""

    def forward(self, images: list[torch.Tensor], targets: Targets | None = None) -> dict[str, torch.Tensor] | list[dict[str, torch.Tensor]]:
        if targets is not None:
            shifted = [{"boxes": t["boxes"], "labels": t["labels"] + 1} for t in targets]
            return self.model(images, shifted)
        detections = self.model(images)
        return [{**d, "labels": d["labels"] - 1} for d in detections]


# yolo -------------------------------------------------------------------------------------------


def yolo(
    in_channels: int,
    num_classes: int,
    image_size: int,
    *,
    widths: Sequence[int],
    neck_width: int,
    depth: int,
    weights: str | None,
) -> Detector:
    """The YOLO-style detector of zoo_tasks.detection.yolo."""
    net = YoloDetector(in_channels, num_classes, list(widths), neck_width, depth)
    if start := starting_weights(None, weights):
        classes = tuple(f"heads.{level}.cls.2." for level in range(len(STRIDES)))
        load_weights(net, start[0], heads=classes, source=start[1])
    return Yolo(net)


# torchvision's detectors ---------------------------------------------------------------------


@dataclass(frozen=True)
class Architecture:
    torchvision_name: str
    backbone: str  # the torchvision classifier whose ImageNet weights start the backbone
    heads: tuple[str, ...]  # key prefixes of the layers whose shape depends on the classes
    fixed_size: bool = False  # resizes every image to a square (SSD) rather than keeping its aspect
    frozen_backbone_norm: bool = True  # started from weights, its backbone's batch norm is frozen


ARCHITECTURES = {
    "fasterrcnn-mobilenet": Architecture("fasterrcnn_mobilenet_v3_large_fpn", "mobilenet_v3_large", heads=("roi_heads.box_predictor.",)),
    "fasterrcnn-resnet50": Architecture("fasterrcnn_resnet50_fpn_v2", "resnet50", heads=("roi_heads.box_predictor.",)),
    "retinanet": Architecture("retinanet_resnet50_fpn_v2", "resnet50", heads=("head.classification_head.cls_logits.",)),
    "fcos": Architecture("fcos_resnet50_fpn", "resnet50", heads=("head.classification_head.cls_logits.",)),
    "ssdlite": Architecture(
        "ssdlite320_mobilenet_v3_large", "mobilenet_v3_large", heads=("head.classification_head.",), fixed_size=True, frozen_backbone_norm=False
    ),
}


def _torchvision_builder(model_name: str) -> Callable[..., Detector]:
    architecture = ARCHITECTURES[model_name]

    def build(
        in_channels: int,
        num_classes: int,
        image_size: int,
        *,
        pretrained: bool,
        weights: str | None,
        pretrained_backbone: bool,
    ) -> Detector:
        from torchvision.models import get_model, get_model_weights

        if in_channels != 3:
            raise ValueError(f"torchvision's detectors take RGB images, and these have {in_channels} channel(s); use yolo")
        if sum(map(bool, (pretrained, weights, pretrained_backbone))) > 1:
            raise ValueError("pass one of model.pretrained, model.weights and model.pretrained_backbone")
        options: dict = {"weights_backbone": None}
        if not architecture.fixed_size:
            options |= {"min_size": image_size, "max_size": image_size}
        if pretrained_backbone and not is_restoring():
            backbone = get_model_weights(architecture.backbone).DEFAULT
            cached_download(backbone.url)  # torchvision reads it from the cache; offline, a clear error
            options["weights_backbone"] = backbone
        net = get_model(architecture.torchvision_name, weights=None, num_classes=num_classes + 1, **options)
        if architecture.fixed_size:
            net.transform.fixed_size = (image_size, image_size)
            net.transform.min_size, net.transform.max_size = (image_size,), image_size
        starts_trained = pretrained or weights or pretrained_backbone
        if architecture.frozen_backbone_norm and starts_trained and options["weights_backbone"] is None:
            freeze_batch_norm(net.backbone.body)  # as torchvision does when it loads backbone weights
        url = get_model_weights(architecture.torchvision_name).DEFAULT.url if pretrained else None
        if start := starting_weights(url, weights):
            load_weights(net, start[0], heads=architecture.heads, source=start[1])
        return Torchvision(net)

    build.__name__ = build.__qualname__ = model_name.replace("-", "_")
    build.__doc__ = f"torchvision's {architecture.torchvision_name}, its heads sized for the data's classes."
    return build


fasterrcnn_mobilenet = _torchvision_builder("fasterrcnn-mobilenet")
fasterrcnn_resnet50 = _torchvision_builder("fasterrcnn-resnet50")
retinanet = _torchvision_builder("retinanet")
fcos = _torchvision_builder("fcos")
ssdlite = _torchvision_builder("ssdlite")


# Weights -----------------------------------------------------------------------------------------


def load_weights(net: nn.Module, state: dict[str, torch.Tensor], *, heads: Sequence[str], source: str) -> None:
    """Load every tensor; the class-dependent head layers only when their classes match (else
    they stay new). Weights of another architecture are an error."""
    own = net.state_dict()
    check_architecture(own, state, source)
    fitted = {}
    for key, value in ((k, v) for k, v in state.items() if k in own):
        if value.shape == own[key].shape:
            fitted[key] = value
        elif not key.startswith(tuple(heads)):
            raise ValueError(f"the weights in {source} do not fit {key}: {tuple(value.shape)} vs {tuple(own[key].shape)}")
    net.load_state_dict(fitted, strict=False)


def freeze_batch_norm(module: nn.Module) -> None:
    """Replace every BatchNorm2d in `module` by torchvision's FrozenBatchNorm2d with the same
    statistics: detection batches are too small to re-estimate them."""
    from torchvision.ops import FrozenBatchNorm2d

    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            frozen = FrozenBatchNorm2d(child.num_features)
            for buffer in ("weight", "bias", "running_mean", "running_var"):
                getattr(frozen, buffer).copy_(getattr(child, buffer).detach())
            setattr(module, name, frozen)
        else:
            freeze_batch_norm(child)
