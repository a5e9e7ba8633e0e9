"""A one-stage, anchor-free detector in the YOLO family, in plain PyTorch, small enough for CPUs.

Backbone: a convolution stem and stages of strided convolutions with cross-stage-partial
blocks (YOLOv5/v8 style). Neck: a feature pyramid with a top-down and a bottom-up path (PAN).
Head: per pyramid level, decoupled class and box branches (one head per level: batch norm
statistics differ between levels); every cell center is a candidate ("anchor point") that predicts class scores and its distances to the four
sides of a box. Training assigns targets with the task-aligned assigner of TOOD/YOLOv8 and
trains classes with quality-weighted binary cross-entropy and boxes with the complete-IoU loss.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

STRIDES = (8, 16, 32)  # the pyramid levels the head predicts on
TOP_K = 10  # anchor points assigned to each object
ALIGN_ALPHA, ALIGN_BETA = 1.0, 6.0  # alignment = score**alpha * iou**beta
LOSS_WEIGHTS = {"cls": 0.5, "box": 7.5}  # YOLOv8's balance of its class and box losses


class ConvBNAct(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(c_out), nn.SiLU(inplace=True)
        )


class Bottleneck(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.convs = nn.Sequential(ConvBNAct(channels, channels), ConvBNAct(channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.convs(x)


class CSPBlock(nn.Module):
    """Half the channels pass through `depth` bottlenecks; every intermediate is concatenated
    and mixed by a 1x1 convolution (YOLOv8's C2f)."""

    def __init__(self, c_in: int, c_out: int, depth: int) -> None:
        super().__init__()
        hidden = c_out // 2
        self.split = ConvBNAct(c_in, 2 * hidden, 1)
        self.blocks = nn.ModuleList(Bottleneck(hidden) for _ in range(depth))
        self.mix = ConvBNAct((2 + depth) * hidden, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = list(self.split(x).chunk(2, dim=1))
        for block in self.blocks:
            parts.append(block(parts[-1]))
        return self.mix(torch.cat(parts, dim=1))


class Backbone(nn.Module):
    """A stem of stride 2, then stages of stride 2 each; returns the last three stages
    (strides 8, 16, 32)."""

    def __init__(self, in_channels: int, widths: Sequence[int], depth: int) -> None:
        super().__init__()
        self.stem = ConvBNAct(in_channels, widths[0], 3, 2)
        self.stages = nn.ModuleList(
            nn.Sequential(ConvBNAct(c_in, c_out, 3, 2), CSPBlock(c_out, c_out, depth)) for c_in, c_out in zip(widths, widths[1:])
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        outputs = []
        for stage in self.stages:
            x = stage(x)
            outputs.append(x)
        return outputs[-3:]


class PAN(nn.Module):
    """Top-down then bottom-up fusion of three levels, all brought to `width` channels."""

    def __init__(self, in_widths: Sequence[int], width: int, depth: int) -> None:
        super().__init__()
        self.lateral = nn.ModuleList(ConvBNAct(c, width, 1) for c in in_widths)
        self.top_down = nn.ModuleList(CSPBlock(2 * width, width, depth) for _ in range(2))
        self.down = nn.ModuleList(ConvBNAct(width, width, 3, 2) for _ in range(2))
        self.bottom_up = nn.ModuleList(CSPBlock(2 * width, width, depth) for _ in range(2))

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        p3, p4, p5 = (lateral(f) for lateral, f in zip(self.lateral, features))
        p4 = self.top_down[0](torch.cat([p4, F.interpolate(p5, size=p4.shape[-2:], mode="nearest")], dim=1))
        p3 = self.top_down[1](torch.cat([p3, F.interpolate(p4, size=p3.shape[-2:], mode="nearest")], dim=1))
        p4 = self.bottom_up[0](torch.cat([p4, self.down[0](p3)], dim=1))
        p5 = self.bottom_up[1](torch.cat([p5, self.down[1](p4)], dim=1))
        return [p3, p4, p5]


class Head(nn.Module):
    """Class logits and box distances (left, top, right, bottom, in strides) per cell."""

    def __init__(self, width: int, num_classes: int) -> None:
        super().__init__()
        self.cls = nn.Sequential(ConvBNAct(width, width), ConvBNAct(width, width), nn.Conv2d(width, num_classes, 1))
        self.box = nn.Sequential(ConvBNAct(width, width), ConvBNAct(width, width), nn.Conv2d(width, 4, 1))
        prior = 0.01  # the first predictions say "probably nothing here", as in RetinaNet
        nn.init.constant_(self.cls[-1].bias, -math.log((1 - prior) / prior))
        nn.init.zeros_(self.box[-1].bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.cls(x), self.box(x)


class YoloDetector(nn.Module):
    """Images (N, C, H, W) in [0, 1], sides multiples of 32 -> per anchor point: decoded boxes
    (x1, y1, x2, y2 in input pixels) and class logits. `detect` adds non-maximum suppression;
    `loss` trains against targets."""

    def __init__(self, in_channels: int, num_classes: int, widths: Sequence[int], neck_width: int, depth: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.backbone = Backbone(in_channels, widths, depth)
        self.neck = PAN(widths[-3:], neck_width, depth)
        self.heads = nn.ModuleList(Head(neck_width, num_classes) for _ in STRIDES)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(boxes (N, A, 4), class logits (N, A, classes)) over the A anchor points of all levels."""
        boxes, logits = [], []
        for stride, head, feature in zip(STRIDES, self.heads, self.neck(self.backbone(images))):
            cls, distances = head(feature)
            points = anchor_points(feature.shape[-2:], stride, feature)
            distances = F.softplus(distances.flatten(2).transpose(1, 2)) * stride
            boxes.append(torch.cat([points - distances[..., :2], points + distances[..., 2:]], dim=-1))
            logits.append(cls.flatten(2).transpose(1, 2))
        return torch.cat(boxes, dim=1), torch.cat(logits, dim=1)

    def loss(self, images: torch.Tensor, targets: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        boxes, logits = self(images)
        points = torch.cat([anchor_points((images.shape[-2] // s, images.shape[-1] // s), s, images) for s in STRIDES])
        return detection_loss(boxes, logits, points, targets)

    @torch.no_grad()
    def detect(
        self, images: torch.Tensor, score_threshold: float = 0.05, iou_threshold: float = 0.6, max_detections: int = 100
    ) -> list[dict[str, torch.Tensor]]:
        boxes, logits = self(images)
        return [select(b, s, score_threshold, iou_threshold, max_detections) for b, s in zip(boxes, logits.sigmoid())]


def anchor_points(size: Sequence[int], stride: int, like: torch.Tensor) -> torch.Tensor:
    """Centers (x, y) in input pixels of the cells of a (height, width) feature map, row by row."""
    ys = (torch.arange(size[0], device=like.device, dtype=torch.float32) + 0.5) * stride
    xs = (torch.arange(size[1], device=like.device, dtype=torch.float32) + 0.5) * stride
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([x.flatten(), y.flatten()], dim=-1)


def select(
    boxes: torch.Tensor, scores: torch.Tensor, score_threshold: float, iou_threshold: float, max_detections: int
) -> dict[str, torch.Tensor]:
    """One image's detections: (box, class) pairs over the threshold, per-class non-maximum
    suppression, the `max_detections` best."""
    from torchvision.ops import batched_nms

    point, label = (scores > score_threshold).nonzero(as_tuple=True)
    score = scores[point, label]
    if len(score) > 10 * max_detections:  # suppression is quadratic: keep the likeliest first
        score, order = score.topk(10 * max_detections)
        point, label = point[order], label[order]
    keep = batched_nms(boxes[point].float(), score.float(), label, iou_threshold)[:max_detections]
    return {"boxes": boxes[point[keep]], "scores": score[keep], "labels": label[keep]}


def detection_loss(
    boxes: torch.Tensor, logits: torch.Tensor, points: torch.Tensor, targets: Sequence[dict[str, torch.Tensor]]
) -> dict[str, torch.Tensor]:
    """Quality-weighted class BCE plus complete-IoU box loss, both normalized by the summed
    target quality of the batch (YOLOv8's recipe without distribution focal loss)."""
    from torchvision.ops import complete_box_iou_loss

    target_scores, target_boxes, positive = assign(boxes.detach(), logits.detach().sigmoid(), points, targets)
    normalizer = target_scores.sum().clamp_min(1.0)
    cls_loss = F.binary_cross_entropy_with_logits(logits.float(), target_scores, reduction="sum") / normalizer
    if positive.any():
        weight = target_scores.sum(-1)[positive]
        box_loss = (complete_box_iou_loss(boxes[positive].float(), target_boxes[positive], reduction="none") * weight).sum() / normalizer
    else:
        box_loss = boxes.sum() * 0.0  # no objects in the batch: keep the graph, add nothing
    return {"loss_cls": LOSS_WEIGHTS["cls"] * cls_loss, "loss_box": LOSS_WEIGHTS["box"] * box_loss}


@torch.no_grad()
def assign(
    boxes: torch.Tensor, scores: torch.Tensor, points: torch.Tensor, targets: Sequence[dict[str, torch.Tensor]]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The task-aligned assigner (TOOD): each object takes the TOP_K anchor points inside it
    with the best score**alpha * IoU**beta; a point claimed twice goes to the object it
    overlaps most. Returns per point: soft class targets (N, A, classes), target boxes (N, A, 4)
    and whether it is positive (N, A)."""
    from torchvision.ops import box_iou

    batch, count, classes = scores.shape
    target_scores = torch.zeros_like(scores, dtype=torch.float32)
    target_boxes = torch.zeros(batch, count, 4, device=boxes.device)
    positive = torch.zeros(batch, count, dtype=torch.bool, device=boxes.device)
    for i, target in enumerate(targets):
        gt_boxes, gt_labels = target["boxes"].float(), target["labels"]
        if len(gt_boxes) == 0:
            continue
        inside = _points_inside(points, gt_boxes)  # (M, A)
        iou = box_iou(gt_boxes, boxes[i].float()).clamp_min(0) * inside
        align = scores[i][:, gt_labels].T.float() ** ALIGN_ALPHA * iou**ALIGN_BETA * inside
        top = align.topk(min(TOP_K, count), dim=1).indices
        chosen = torch.zeros_like(inside).scatter_(1, top, True) & inside
        if not chosen.any():
            continue
        owner = torch.where(chosen, iou, -1.0).argmax(dim=0)  # (A,): the object each point serves
        taken = chosen.any(dim=0)
        chosen = torch.zeros_like(chosen).scatter_(0, owner[None], True) & taken[None]
        align, iou = align * chosen, iou * chosen
        quality = align / align.amax(dim=1, keepdim=True).clamp_min(1e-9) * iou.amax(dim=1, keepdim=True)
        point_quality = quality.amax(dim=0)  # (A,)
        positive[i] = taken
        target_boxes[i, taken] = gt_boxes[owner[taken]]
        target_scores[i, taken, gt_labels[owner[taken]]] = point_quality[taken]
    return target_scores, target_boxes, positive


def _points_inside(points: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """(M, A): whether each point lies strictly inside each box."""
    x, y = points[:, 0], points[:, 1]
    return (
        (x[None] > boxes[:, 0:1]) & (x[None] < boxes[:, 2:3]) & (y[None] > boxes[:, 1:2]) & (y[None] < boxes[:, 3:4])
    )
