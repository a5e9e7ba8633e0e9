"""The model of {{app_name}}. It is yours: change it, and `zoo train --config config.yaml` trains it.

zoo calls `ShapeDetector(in_channels=3, num_classes=..., image_size=..., **model_keys)`, where
`image_size` is the longer image side in pixels and `model_keys` are the other keys of the
`model:` section in config.yaml (here `width`). The detector speaks torchvision's detection API,
with labels counted from 0:

- training: `model(images, targets)`, images a list of float (3, H, W) tensors in [0, 1] and
  targets a list of {"boxes": (K, 4) x1 y1 x2 y2 pixels, "labels": (K,) int64} -> a dict of
  losses, which zoo sums;
- evaluation: `model(images)` -> per image {"boxes", "scores", "labels"}.

Here your own backbone feeds zoo's YOLO-style neck and head (`zoo_tasks.detection.yolo`), which
bring the loss, the target assignment and non-maximum suppression. Any torchvision detector
(`torchvision.models.detection.FasterRCNN(my_backbone, ...)`) fits too: wrap it in
`zoo_tasks.detection.models.Torchvision`, which shifts its labels past the background class.
"""

from torch import nn

from zoo_tasks.detection.models import Yolo
from zoo_tasks.detection.yolo import YoloDetector


def conv(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """A 3x3 convolution, batch norm and SiLU; stride 2 halves height and width."""
    convolution = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1)
    return nn.Sequential(convolution, nn.BatchNorm2d(out_channels), nn.SiLU())


class Backbone(nn.Module):
    """Five stages, each a strided convolution and a plain one: the image is halved five
    times. The head predicts from the last three (1/8, 1/16 and 1/32 of the image)."""

    def __init__(self, in_channels: int, widths: list[int]) -> None:
        super().__init__()
        stages, previous = [], in_channels
        for width in widths:
            stages.append(nn.Sequential(conv(previous, width, stride=2), conv(width, width)))
            previous = width
        self.stages = nn.ModuleList(stages)

    def forward(self, x):
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features[-3:]


class ShapeDetector(Yolo):
    """Your backbone under zoo's YOLO-style neck (a feature pyramid) and detection head."""

    def __init__(self, in_channels: int, num_classes: int, image_size: int, width: int = 16) -> None:
        widths = [width, 2 * width, 4 * width, 8 * width, 16 * width]
        detector = YoloDetector(in_channels, num_classes, widths, neck_width=4 * width, depth=1)
        detector.backbone = Backbone(in_channels, widths)
        super().__init__(detector)
