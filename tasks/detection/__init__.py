"""Object detection: torchvision's detectors and a YOLO-style model written for CPUs.

Metadata only: importing this imports no torch.
"""

from zoo.plugins import Model, Setting, Task
from zoo.shared_settings import HOLD_OUT

_WEIGHTS = Setting(None, "start from the weights in this file (.safetensors, .pth or a zoo model folder's); heads of other classes start fresh", type=str, path=True)
_WEIGHT_OPTIONS = {
    "pretrained": Setting(False, "start from torchvision's COCO weights (downloaded once)"),
    "weights": _WEIGHTS,
    "pretrained_backbone": Setting(False, "start the backbone only from torchvision's ImageNet weights"),
}


def _torchvision(name: str, summary: str, params: int) -> Model:
    return Model(
        builder=f"zoo_tasks.detection.models:{name.replace('-', '_')}",
        summary=summary,
        params=params,
        settings=_WEIGHT_OPTIONS,
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
            settings={
                "widths": Setting([16, 32, 64, 128, 256], "channels of the stem and of the backbone's stages at strides 4, 8, 16 and 32", item=int, length=5, range="[2, inf)"),
                "neck_width": Setting(64, "channels of the feature pyramid (PAN) and heads", range="[2, inf)"),
                "depth": Setting(1, "CSP blocks per stage", range="[0, inf)"),
                "weights": _WEIGHTS,  # no published weights exist for it
            },
            tags=("cpu-friendly",),
        ),
    },
    default_model="yolo",  # trains from scratch in minutes on a CPU; the torchvision models want weights or a GPU
    module="zoo_tasks.detection.module:DetectionModule",
    data="zoo_tasks.detection.data:build_data",
    monitor="val/map",
    mode="max",
    settings={
        **HOLD_OUT,
        "data.image_size": Setting(None, "the longer side images are scaled to (default: the data's median, at most 640, a multiple of 32)", type=int, range="[64, inf)"),
        "data.augment": Setting("light", "training augmentation: none, light (flips, photometric) or standard (also zoom-out and crops)", choices=("none", "light", "standard")),
    },
    defaults={
        "data": {"max_batch_size": 8},
        "optim": {"name": "adamw", "lr": 1e-3, "weight_decay": 0.05, "scheduler": "cosine"},
        "trainer": {"max_epochs": 20},
    },
    template="detection",
)
