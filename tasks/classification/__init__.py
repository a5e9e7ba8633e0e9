"""Image classification: a small CNN for CPUs and torchvision's architectures.

Metadata only: importing this imports no torch.
"""

from zoo.plugins import INFINITY, Model, Setting, Task
from zoo.shared_settings import HOLD_OUT, HOLD_OUT_ORDER, IMAGE_COLUMNS

_WEIGHT_OPTIONS = {
    "pretrained": Setting(False, "start from torchvision's ImageNet weights (downloaded once)"),
    "weights": Setting(None, "start from the weights in this file (.safetensors, .pth or a zoo model folder's)", type=str, path=True),
    "freeze_backbone": Setting(False, "train only the classifier head"),
}


def _torchvision(name: str, summary: str, params: int) -> Model:
    return Model(
        builder=f"zoo_tasks.classification.models:{name.replace('-', '_')}",
        summary=summary,
        params=params,
        settings=_WEIGHT_OPTIONS,
        tags=("torchvision", "pretrained"),
    )


task = Task(
    name="classification",
    summary="Image classification: one label per image, from folders, tables, IDX or datasets",
    aliases=("image-classification",),
    models={
        "cnn": Model(
            builder="zoo_tasks.classification.models:cnn",
            summary="A small CNN (3 stages of conv-BN-ReLU pairs) that trains in minutes on a CPU",
            params=288_230,
            settings={
                "channels": Setting([32, 64, 128], "output channels of each stage (each stage halves the image)", item=int, length=(1, INFINITY), range="[1, inf)"),
                "dropout": Setting(0.25, "dropout before the classifier", range="[0, 1)"),
                "weights": _WEIGHT_OPTIONS["weights"],  # no published weights exist for it
                "freeze_backbone": _WEIGHT_OPTIONS["freeze_backbone"],
            },
            tags=("cpu-friendly",),
        ),
        "resnet18": _torchvision("resnet18", "torchvision's ResNet-18 (He et al. 2016)", 11_179_590),
        "resnet34": _torchvision("resnet34", "torchvision's ResNet-34", 21_287_750),
        "resnet50": _torchvision("resnet50", "torchvision's ResNet-50", 23_520_326),
        "mobilenet-v3-small": _torchvision("mobilenet-v3-small", "torchvision's MobileNetV3-Small, for phones", 1_524_006),
        "mobilenet-v3-large": _torchvision("mobilenet-v3-large", "torchvision's MobileNetV3-Large", 4_209_718),
        "efficientnet-b0": _torchvision("efficientnet-b0", "torchvision's EfficientNet-B0", 4_015_234),
        "convnext-tiny": _torchvision("convnext-tiny", "torchvision's ConvNeXt-Tiny (Liu et al. 2022)", 27_824_742),
        "vit-b-16": _torchvision("vit-b-16", "torchvision's ViT-B/16 vision transformer", 85_655_814),
    },
    default_model="cnn",
    module="zoo_tasks.classification.module:ClassificationModule",
    data="zoo_tasks.classification.data:build_data",
    monitor="val/acc",
    mode="max",
    settings={
        **IMAGE_COLUMNS,
        **HOLD_OUT,
        **HOLD_OUT_ORDER,
        "data.image_size": Setting(None, "the side images are scaled to (default: the data's own size; 224 for pretrained weights)", type=int, range="[1, inf)"),
        "data.augment": Setting("none", "training augmentation: none, light (small affine jitter) or standard (crops, flips, color)", choices=("none", "light", "standard")),
    },
    defaults={
        "data": {"max_batch_size": 64},
        "optim": {"name": "adamw", "lr": 1e-3, "weight_decay": 0.05, "scheduler": "cosine"},
        "trainer": {"max_epochs": 10},
    },
    template="classification",
    demo={"data": {"batch_size": 64}},  # the demo set is tuned to its batch size: it is not chosen for the data's size
)
