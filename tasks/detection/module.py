"""The detection LightningModule: lists of images in; losses, or boxes with labels and scores, out.

Images travel from the loaders as uint8 and are scaled to [0, 1] on the device; the detectors
normalize them themselves. Metrics are COCO's, computed by torchmetrics on a COCO evaluator.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchmetrics.detection import MeanAveragePrecision

from zoo.errors import ZooError
from zoo.images import ServedImages, image_files, is_pil, open_image, to_tensor
from zoo.module import ZooModule
from zoo_tasks.detection.data import DetectionDataset, check_boxes, check_labels, resizer, single_split, transforms
from zoo_tasks.detection.models import Torchvision, Yolo

Batch = tuple[list[torch.Tensor], list[dict[str, torch.Tensor]]]
HEADLINE = {"map": "map", "map_50": "map50", "map_75": "map75", "map_small": "map_small", "map_medium": "map_medium", "map_large": "map_large", "mar_100": "mar100"}
SHOWN_IMAGES = 8  # validation images drawn in plots/predictions.png
PREDICT_BATCH = 16


class DetectionModule(ServedImages, ZooModule):
    """Sums the detector's losses; COCO mAP@[.5:.95], mAP@.5, mAP@.75 and AP per class."""

    predict_options = {
        "score-threshold": "the lowest score of a box that is reported (default 0.5)",
        "output": "the folder for annotated images (default: predictions)",
    }

    output_names = ("boxes", "scores")
    usage_shell = (
        "zoo predict {model} photo.jpg more_photos/ --score-threshold 0.5 --output drawn/",
        "zoo evaluate {model} --data annotations/instances_val.json",
    )
    usage_python = ('model.predict(["photo.jpg"], score_threshold=0.5)  # [{"width", "height", "detections": [{"label", "score", "box"}]}]',)
    limits = (
        "It finds only its classes; boxes scoring under the threshold (default 0.5) are not reported.",
        "Images are scaled so their longer side is its image size: objects much smaller than in training are missed.",
        "Only yolo exports (to ONNX or pt2), and its exported outputs come before non-maximum suppression.",
    )

    def __init__(self, config: dict[str, Any], info: dict[str, Any]) -> None:
        super().__init__(config, info)
        self.classes: list[str] = info["classes"]
        self.image_size: int = info["image_size"]
        self.net = self.build_net(in_channels=3, num_classes=len(self.classes), image_size=self.image_size)
        self.metrics = nn.ModuleDict({split: self.coco_metric() for split in ("val", "test")})
        self.eval_transform = transforms(self.image_size, "none")
        self.resize = resizer(self.image_size)
        self.shown: dict[str, list[tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]]] = {}

    @staticmethod
    def coco_metric() -> MeanAveragePrecision:
        """COCO's box evaluation, per class too, on the faster_coco_eval backend."""
        return MeanAveragePrecision(box_format="xyxy", iou_type="bbox", class_metrics=True, backend="faster_coco_eval")

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The exportable form of yolo: images (N, 3, H, W) in [0, 1], sides multiples of 32 ->
        boxes (N, A, 4) as x1 y1 x2 y2 pixels and class probabilities (N, A, classes) for its
        A anchor points, before non-maximum suppression."""
        if not isinstance(self.net, Yolo):
            raise ZooError(
                f"only yolo has a single-tensor form to export; {self.config['model']['name']} returns per-image lists",
                "train detection/yolo to export it",
            )
        boxes, logits = self.net.model(images)
        return boxes, logits.sigmoid()

    def on_fit_start(self) -> None:
        """A torchvision detector from scratch on a CPU learns in hours, not minutes: say so."""
        model = self.config["model"]
        from_scratch = not any(model.get(k) for k in ("pretrained", "weights", "pretrained_backbone"))
        if isinstance(self.net, Torchvision) and from_scratch and self.device.type == "cpu" and self.trainer.is_global_zero:
            warnings.warn(
                f"{model['name']} trained from scratch on a CPU learns slowly (minutes per epoch, low mAP for many epochs); "
                "detection/yolo trains in minutes on a CPU, or start from weights: model.pretrained=true",
                stacklevel=1,
            )

    @staticmethod
    def _scaled(images: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        return [image.float() / 255 if image.dtype == torch.uint8 else image for image in images]

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        images, targets = batch
        losses = self.net(self._scaled(images), targets)
        loss = sum(losses.values())
        self.log_train_loss(loss, batch_size=len(images))
        return loss

    def on_validation_epoch_start(self) -> None:
        self.shown.pop("val", None)

    def on_test_epoch_start(self) -> None:
        self.shown.pop("test", None)

    def evaluation_step(self, batch: Batch, split: str) -> None:
        images, targets = batch
        detections = self.net(self._scaled(images))
        detections = [{k: v.float() if v.is_floating_point() else v for k, v in d.items()} for d in detections]
        self.metrics[split].update(detections, targets)
        shown = self.shown.setdefault(split, [])
        for image, found, target in zip(images, detections, targets):
            if len(shown) < SHOWN_IMAGES:
                shown.append((image.cpu(), {k: v.cpu() for k, v in found.items()}, {k: v.cpu() for k, v in target.items()}))

    def on_validation_epoch_end(self) -> None:
        self._log_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_metrics("test")

    def _log_metrics(self, split: str) -> None:
        """The headline COCO numbers, and AP per class as `{split}/ap/<class>`. Numbers COCO
        reports as -1 (no objects of that size or class) are left out."""
        metric = self.metrics[split]
        values = metric.compute()
        metric.reset()
        logged = {f"{split}/{name}": values[key] for key, name in HEADLINE.items() if float(values[key]) >= 0}
        for index, ap in zip(values["classes"].reshape(-1).tolist(), values["map_per_class"].reshape(-1)):
            if float(ap) >= 0:
                logged[f"{split}/ap/{self.classes[int(index)]}"] = ap
        self.log(f"{split}/map", logged.pop(f"{split}/map", torch.tensor(0.0)), prog_bar=True)
        self.log(f"{split}/map50", logged.pop(f"{split}/map50", torch.tensor(0.0)), prog_bar=True)
        self.log_dict(logged)

    # Prediction -----------------------------------------------------------------------------

    def predict(self, inputs: Any, *, score_threshold: float = 0.5) -> list[dict[str, Any]]:
        """Each image (a file path, PIL image, or uint8 tensor (3, H, W)) -> its size and
        detections: {"label", "score", "box": [x1, y1, x2, y2] in the image's pixels}, best first."""
        if not 0 <= score_threshold <= 1:
            raise ZooError(f"score_threshold must be from 0 to 1, not {score_threshold!r}")
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs) if inputs.ndim == 4 else [inputs]
        elif isinstance(inputs, (str, Path)) or is_pil(inputs):
            inputs = [inputs]
        records = []
        for start in range(0, len(inputs), PREDICT_BATCH):
            originals = [self._pixels(item) for item in inputs[start : start + PREDICT_BATCH]]
            resized = [self.resize(image) for image in originals]
            with torch.inference_mode():
                found = self.net([image.to(self.device).float() / 255 for image in resized])
            for original, image, detections in zip(originals, resized, found):
                records.append(self._record(original, image, detections, score_threshold))
        return records

    @staticmethod
    def _pixels(item: Any) -> torch.Tensor:
        if isinstance(item, (str, Path)):
            item = open_image(Path(item))
        return to_tensor(item, 3)

    def _record(self, original: torch.Tensor, resized: torch.Tensor, found: dict[str, torch.Tensor], threshold: float) -> dict[str, Any]:
        height, width = original.shape[-2:]
        scale = torch.tensor([width / resized.shape[-1], height / resized.shape[-2]] * 2)
        scores = found["scores"].float().cpu()
        keep = scores >= threshold
        boxes = found["boxes"].float().cpu()[keep] * scale
        detections = [
            {"label": self.classes[int(label)], "score": round(float(score), 4), "box": [round(float(v), 1) for v in box]}
            for box, score, label in zip(boxes, scores[keep], found["labels"].cpu()[keep])
        ]
        return {"width": int(width), "height": int(height), "detections": detections}

    def predict_from_cli(self, args: Sequence[str], score_threshold: str = "0.5", output: str = "predictions") -> list[dict[str, Any]]:
        """Image files and folders of them; each record names the annotated PNG written for it."""
        from zoo_tasks.detection.plots import picture, save_png

        try:
            threshold = float(score_threshold)
        except ValueError:
            threshold = -1.0
        if not 0 <= threshold <= 1:  # NaN too
            raise ZooError(f"--score-threshold must be a number from 0 to 1, not {score_threshold!r}")
        files = image_files(args)
        folder = Path(output)
        if folder.exists() and not folder.is_dir():
            raise ZooError(f"--output {folder} is a file", "name a folder for the annotated images")
        records = self.predict(files, score_threshold=threshold)
        folder.mkdir(parents=True, exist_ok=True)
        taken: set[str] = set()
        results = []
        for file, record in zip(files, records):
            target = folder / _unique(f"{file.stem}.png", taken)
            save_png(picture(self._pixels(file), record["detections"], self.classes), target)
            results.append({"input": str(file), "image": str(target), **record})
        return results

    def format_prediction(self, record: dict[str, Any]) -> str:
        """`photo.jpg: 2 objects (drawn in predictions/photo.png)` and a line per object."""
        found = record["detections"]
        lines = [f"{record['input']}: {len(found)} object{'' if len(found) == 1 else 's'} (drawn in {record['image']})"]
        lines += [f"  {d['label']:<12} {d['score']:.2f}  x1={d['box'][0]} y1={d['box'][1]} x2={d['box'][2]} y2={d['box'][3]}" for d in found]
        return "\n".join(lines)

    # Evaluation, export, summary ------------------------------------------------------------

    def evaluation_dataset(self, path: Path) -> DetectionDataset:
        """Annotated images at `path` (for data with splits, its test or else val part)."""
        split = single_split(path, "--data")
        check_boxes(split, notes=[])
        check_labels(split, self.classes)
        return DetectionDataset(split.items, self.classes, range(len(split)), self.eval_transform)

    def example_input(self) -> torch.Tensor:
        side = -(-self.image_size // 32) * 32
        return torch.rand(2, 3, side, side, generator=torch.Generator().manual_seed(0))

    def interface(self) -> dict[str, Any]:
        side = -(-self.image_size // 32) * 32
        return {
            "classes": self.classes,
            "input": f"float RGB images (N, 3, {side}, {side}) with values in [0, 1] (export); the images' longer side scaled to image_size",
            "channel_order": "RGB",
            "image_size": self.image_size,
            "export_size": side,
            "normalization": "inside the network: feed it [0, 1] pixels",
            "output": "yolo export: boxes (N, A, 4) as x1, y1, x2, y2 pixels and scores (N, A, classes), before non-maximum suppression",
        }

    def write_plots(self, folder: Path) -> None:
        """plots/predictions.png: validation images with their predicted boxes (score >= 0.5)
        beside the annotated ones."""
        from zoo_tasks.detection.plots import prediction_grid

        if self.shown.get("val"):
            prediction_grid(self.shown["val"], self.classes, folder / "predictions.png")

    def describe(self) -> dict[str, Any]:
        shown = ", ".join(self.classes[:10]) + (f" ... ({len(self.classes)})" if len(self.classes) > 10 else "")
        return {"classes": shown, "image size": f"longer side {self.image_size} px"}


def _unique(name: str, taken: set[str]) -> str:
    """`name`, or `stem-2.png`, `stem-3.png`... when an earlier input had the same name."""
    stem, number, candidate = name.rsplit(".", 1)[0], 1, name
    while candidate in taken:
        number += 1
        candidate = f"{stem}-{number}.png"
    taken.add(candidate)
    return candidate
