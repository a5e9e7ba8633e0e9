"""Image classification: a small CNN for CPUs and torchvision's architectures.

Metadata only: importing this imports no torch.
"""

from zoo.plugins import Model, Task

_WEIGHT_OPTIONS = {"pretrained": False, "weights": None, "freeze_backbone": False}


def _torchvision(name: str, summary: str, params: int) -> Model:
    return Model(
        builder=f"zoo_tasks.classification.models:{name.replace('-', '_')}",
        summary=summary,
        params=params,
        defaults=dict(_WEIGHT_OPTIONS),
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
            defaults={"channels": [32, 64, 128], "dropout": 0.25, **_WEIGHT_OPTIONS},
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
    defaults={
        "data": {
            "image_column": None,  # tables and datasets: default path/image/file..., then the first image column
            "label_column": None,  # default label/class/target/category
            "val_fraction": 0.1,
            "val_split": "random",  # or "last": the last rows, in order
            "val_path": None,
            "test_path": None,
            "image_size": None,  # default: the data's own size (224 for pretrained weights)
            "augment": "none",  # none, light (small affine jitter) or standard (crops, flips, color)
            "batch_size": 64,
        },
        "optim": {"name": "adamw", "lr": 1e-3, "weight_decay": 0.05, "scheduler": "cosine"},
        "trainer": {"max_epochs": 10},
    },
    template="classification",
)
