"""Object detection: torchvision's detectors and a YOLO-style model written for CPUs.

Metadata only: importing this imports no torch.
"""

from zoo.plugins import Model, Task

_WEIGHT_OPTIONS = {"pretrained": False, "weights": None, "pretrained_backbone": False}


def _torchvision(name: str, summary: str, params: int) -> Model:
    return Model(
        builder=f"zoo_tasks.detection.models:{name.replace('-', '_')}",
        summary=summary,
        params=params,
        defaults=dict(_WEIGHT_OPTIONS),
        tags=("torchvision", "pretrained"),
    )


task = Task(
    name="detection",
    summary="Object detection: boxes with labels, from COCO, Pascal VOC, YOLO or CSV annotations",
    aliases=("object-detection",),
    models={
        "fasterrcnn-mobilenet": _torchvision(
            "fasterrcnn-mobilenet", "torchvision's Faster R-CNN on a MobileNetV3-Large FPN (two-stage)", 18_964_879
        ),
        "fasterrcnn-resnet50": _torchvision(
            "fasterrcnn-resnet50", "torchvision's Faster R-CNN v2 on a ResNet-50 FPN (Li et al. 2021)", 43_266_403
        ),
        "retinanet": _torchvision("retinanet", "torchvision's RetinaNet v2 on a ResNet-50 FPN (focal loss)", 36_394_120),
        "fcos": _torchvision("fcos", "torchvision's FCOS on a ResNet-50 FPN (anchor-free)", 32_122_185),
        "ssdlite": _torchvision("ssdlite", "torchvision's SSDlite on MobileNetV3-Large, for phones", 2_234_240),
        "yolo": Model(
            builder="zoo_tasks.detection.models:yolo",
            summary="A YOLO-style one-stage anchor-free detector (CSP backbone, PAN, task-aligned assigner) for CPUs",
            params=1_686_181,
            defaults={"widths": [16, 32, 64, 128, 256], "neck_width": 64, "depth": 1, **_WEIGHT_OPTIONS},
            tags=("cpu-friendly",),
        ),
    },
    default_model="fasterrcnn-mobilenet",
    module="zoo_tasks.detection.module:DetectionModule",
    data="zoo_tasks.detection.data:build_data",
    monitor="val/map",
    mode="max",
    defaults={
        "data": {
            "val_fraction": 0.1,
            "val_path": None,
            "test_path": None,
            "image_size": None,  # the longer side images are scaled to; default: the data's, at most 640
            "augment": "light",  # none, light (flips, photometric) or standard (also zoom-out and crops)
            "batch_size": 8,
        },
        "optim": {"name": "adamw", "lr": 1e-3, "weight_decay": 0.05, "scheduler": "cosine"},
        "trainer": {"max_epochs": 20},
    },
    template="detection",
)
