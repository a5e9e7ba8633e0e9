"""The model of {{app_name}}. It is yours: change it, and `zoo train --config config.yaml` trains it.

zoo calls `ShapeNet(in_channels=..., num_classes=..., image_size=[height, width], **model_keys)`,
where the first three come from the data and `model_keys` are the other keys of the `model:`
section in config.yaml (here `width` and `dropout`). The input is a batch of float images
(N, C, H, W), already resized to `image_size` and normalized with the training data's per-channel
mean and standard deviation; the output is one logit per class, (N, num_classes). zoo applies the
cross-entropy loss, the softmax and the class names.
"""

from torch import nn


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """A 3x3 convolution, batch norm and ReLU, then a 2x2 max-pool that halves height and width."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
        nn.MaxPool2d(2),
    )


class ShapeNet(nn.Module):
    """Three conv blocks (`width`, 2x`width`, 4x`width` channels), then a linear classifier
    over the flattened feature map.

    `image_size` sets the size of that classifier: each block halves the image, so the last
    feature map is (4*width, H // 8, W // 8) and the linear layer takes 4*width*(H//8)*(W//8)
    inputs. The image must therefore be at least 8 pixels a side; set `data.image_size` in
    config.yaml to resize larger images (the classifier grows with the image).
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        image_size: list[int],
        width: int = 16,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        image_height, image_width = image_size
        if min(image_height, image_width) < 8:
            raise ValueError(f"ShapeNet needs images of at least 8x8 pixels, not {image_height}x{image_width}")
        self.features = nn.Sequential(
            conv_block(in_channels, width),
            conv_block(width, 2 * width),
            conv_block(2 * width, 4 * width),
        )
        flat = 4 * width * (image_height // 8) * (image_width // 8)  # channels x rows x columns
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(flat, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))
