"""Image classifiers: `in_channels` x `image_size` images in, `num_classes` logits out.

`cnn` is written here and trains fast on CPU. The others are torchvision's own architectures,
built by torchvision and adapted to the data: the first convolution takes the data's channels
and the classifier head its classes. Weights (torchvision's, or a local file) load into every
layer that fits; a grayscale model takes an RGB stem's weights summed over colors.

The `model.*` keys arrive keyword-only and always given: their defaults are declared once, in
the task's `Model.settings` (zoo_tasks.classification), and checked there before a run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from zoo.inference import WeightsCache, predicting, traces_faithfully
from zoo.weights import check_architecture, starting_weights

MIN_IMAGE_SIZE = 32  # torchvision's networks downsample 32 times


@dataclass(frozen=True)
class Architecture:
    torchvision_name: str
    head: str  # dotted path of the final nn.Linear
    stem: str  # dotted path of the first nn.Conv2d
    patch: int = 1  # image sides must be multiples of this (vision transformers)


ARCHITECTURES = {
    "resnet18": Architecture("resnet18", head="fc", stem="conv1"),
    "resnet34": Architecture("resnet34", head="fc", stem="conv1"),
    "resnet50": Architecture("resnet50", head="fc", stem="conv1"),
    "mobilenet-v3-small": Architecture("mobilenet_v3_small", head="classifier.3", stem="features.0.0"),
    "mobilenet-v3-large": Architecture("mobilenet_v3_large", head="classifier.3", stem="features.0.0"),
    "efficientnet-b0": Architecture("efficientnet_b0", head="classifier.1", stem="features.0.0"),
    "convnext-tiny": Architecture("convnext_tiny", head="classifier.2", stem="features.0.0"),
    "vit-b-16": Architecture("vit_b_16", head="heads.head", stem="conv_proj", patch=16),
}


class SmallCNN(nn.Module):
    """Stages of two 3x3 conv-BN-ReLU layers and a 2x2 max-pool, then global average pooling,
    dropout and a linear head. Any image size of at least 2**stages pixels.

    Its weights and activations are channels-last (NHWC): oneDNN's convolutions run faster so on
    a CPU (measured on MNIST digits: predicting 1.4x alone and 1.7x in batches of 32, a training
    step of 64 1.4x), and on a GPU's tensor cores under mixed precision. Its state dict holds
    them in the usual layout, which safetensors requires.

    Without gradients (prediction, evaluation) each batch norm is folded into the convolution
    before it, one convolution with a bias doing the work of both (torch's fuse_conv_bn_eval),
    made again whenever a weight or a running statistic has changed: 1.16x the digits a second
    served in batches of 32 (benchmarks/serve.py). On the CPU the classifier runs it as a frozen
    graph instead (zoo.inference.FrozenGraph), which folds them the same way."""

    def __init__(self, in_channels: int, num_classes: int, channels: Sequence[int], dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_channels
        for out in channels:
            for _ in range(2):
                layers += [nn.Conv2d(width, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
                width = out
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(width, num_classes))
        self.to(memory_format=torch.channels_last)
        self.register_state_dict_post_hook(_usual_layout)
        self._folded = WeightsCache()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self._folded_features() if predicting(self) else self.features
        return self.head(self.pool(features(x.contiguous(memory_format=torch.channels_last))))

    def _folded_features(self) -> nn.Sequential:
        """`features` with each batch norm folded into the convolution before it."""
        from torch.nn.utils.fusion import fuse_conv_bn_eval

        def make() -> nn.Sequential:
            layers = list(self.features)
            return nn.Sequential(*(fuse_conv_bn_eval(layer, after) if isinstance(after, nn.BatchNorm2d) else layer
                                   for layer, after in zip(layers, [*layers[1:], None]) if not isinstance(layer, nn.BatchNorm2d)))

        return self._folded.get([*self.features.parameters(), *self.features.buffers()], make)

    def train(self, mode: bool = True) -> SmallCNN:
        self._folded.clear()  # training changes the weights and statistics
        return super().train(mode)


def _usual_layout(module: nn.Module, state: dict[str, Any], prefix: str, local_metadata: dict[str, Any]) -> None:
    """A state-dict hook: the module's channels-last tensors as contiguous copies."""
    for key, value in state.items():
        if key.startswith(prefix) and isinstance(value, torch.Tensor) and not value.is_contiguous():
            state[key] = value.contiguous()


def cnn(
    in_channels: int,
    num_classes: int,
    image_size: Sequence[int],
    *,
    channels: Sequence[int],
    dropout: float,
    weights: str | None,
    freeze_backbone: bool,
) -> nn.Module:
    """The default: a small CNN that trains in minutes on a CPU."""
    if min(image_size) < 2 ** len(channels):
        raise ValueError(f"{len(channels)} stages halve the image {len(channels)} times; {list(image_size)} is too small")
    net = SmallCNN(in_channels, num_classes, list(channels), dropout)
    if start := starting_weights(None, weights):
        load_weights(net, start[0], head="head.2", stem="features.0", source=start[1])
    if freeze_backbone:
        freeze_all_but(net, "head")
    return traces_faithfully(net)


def _torchvision_builder(model_name: str) -> Callable[..., nn.Module]:
    architecture = ARCHITECTURES[model_name]

    def build(
        in_channels: int,
        num_classes: int,
        image_size: Sequence[int],
        *,
        pretrained: bool,
        weights: str | None,
        freeze_backbone: bool,
    ) -> nn.Module:
        from torchvision import models
        from torchvision.models import get_model_weights

        if pretrained and weights:
            raise ValueError("pass model.pretrained=true or model.weights=PATH, not both")
        options = {"image_size": image_size[0]} if architecture.patch > 1 else {}
        net = models.get_model(architecture.torchvision_name, weights=None, num_classes=num_classes, **options)
        if in_channels != 3:
            replace_stem(net, architecture.stem, in_channels)
        url = get_model_weights(architecture.torchvision_name).DEFAULT.url if pretrained else None
        if start := starting_weights(url, weights):
            load_weights(net, start[0], head=architecture.head, stem=architecture.stem, source=start[1])
        if freeze_backbone:
            freeze_all_but(net, architecture.head)
        return traces_faithfully(net)

    build.__name__ = build.__qualname__ = model_name.replace("-", "_")
    build.__doc__ = f"torchvision's {architecture.torchvision_name}, adapted to the data's channels and classes."
    return build


resnet18 = _torchvision_builder("resnet18")
resnet34 = _torchvision_builder("resnet34")
resnet50 = _torchvision_builder("resnet50")
mobilenet_v3_small = _torchvision_builder("mobilenet-v3-small")
mobilenet_v3_large = _torchvision_builder("mobilenet-v3-large")
efficientnet_b0 = _torchvision_builder("efficientnet-b0")
convnext_tiny = _torchvision_builder("convnext-tiny")
vit_b_16 = _torchvision_builder("vit-b-16")


def input_size(model_name: str | None, size: Sequence[int]) -> list[int]:
    """The image size a model can take nearest to `size`: torchvision networks need 32
    pixels a side; vision transformers square sides in multiples of their patch."""
    architecture = ARCHITECTURES.get(model_name or "")
    if architecture is None:
        return list(size)
    height, width = (max(MIN_IMAGE_SIZE, s) for s in size)
    if architecture.patch > 1:
        side = math.ceil(max(height, width) / architecture.patch) * architecture.patch
        return [side, side]
    return [height, width]


def load_weights(net: nn.Module, state: dict[str, torch.Tensor], *, head: str, stem: str, source: str) -> None:
    """Load every tensor that fits. The head is kept new when its classes differ; an RGB stem
    loads into a grayscale one summed over colors. Anything else that differs is an error."""
    own = net.state_dict()
    check_architecture(own, state, source, new_layers=(f"{head}.",))
    fitted = {}
    for key, value in state.items():
        if key not in own:
            continue  # a batch-norm step counter
        target = own[key]
        if value.shape == target.shape:
            fitted[key] = value
        elif key == f"{stem}.weight" and value.shape[1] == 3 and target.shape[1] == 1 and value.shape[0] == target.shape[0]:
            fitted[key] = value.sum(dim=1, keepdim=True)
        elif key.startswith(f"{head}."):
            continue  # another number of classes: the new head stays
        elif key.endswith("pos_embedding"):
            fitted[key] = _resized_positions(value, target)
        else:
            raise ValueError(f"the weights in {source} do not fit {key}: {tuple(value.shape)} vs {tuple(target.shape)}")
    net.load_state_dict(fitted, strict=False)


def _resized_positions(saved: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """A vision transformer's position embeddings, interpolated to another image size."""
    from torchvision.models.vision_transformer import interpolate_embeddings

    side = round(math.sqrt(target.shape[1] - 1))
    resized = interpolate_embeddings(side * 16, 16, {"encoder.pos_embedding": saved})
    return resized["encoder.pos_embedding"]


def replace_stem(net: nn.Module, path: str, in_channels: int) -> None:
    """Give the first convolution `in_channels` inputs."""
    old = net.get_submodule(path)
    assert isinstance(old, nn.Conv2d)
    new = nn.Conv2d(
        in_channels, old.out_channels, old.kernel_size, old.stride, old.padding, old.dilation, old.groups, old.bias is not None
    )
    parent, _, name = path.rpartition(".")
    setattr(net.get_submodule(parent) if parent else net, name, new)


def freeze_all_but(net: nn.Module, head: str) -> None:
    """Train only the head: every other parameter stops taking gradients."""
    for name, parameter in net.named_parameters():
        parameter.requires_grad = name.startswith(f"{head}.")
