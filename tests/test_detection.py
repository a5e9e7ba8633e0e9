"""Object detection: data formats, models, COCO metrics, predict with drawn boxes, export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

import zoo
from tests.boxes import CLASSES, HEIGHT, WIDTH, coco, csv_boxes, draw, scenes, voc, voc_beside, yolo

FAST = ["--max-epochs", "1", "data.batch_size=4"]


def train(zoo_cli, tmp_path: Path, data: Path | None, *args: str):
    data_args = ["--data", data] if data is not None else []
    return zoo_cli("train", "detection/yolo", *data_args, "--output", tmp_path / "runs", *FAST, *args, "--json")


@pytest.fixture(scope="session")
def coco_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The yolo model trained a few epochs on tiny COCO data (enough to test the plumbing)."""
    root = tmp_path_factory.mktemp("coco")
    data = coco(root / "data", count=12)
    return zoo.train("detection/yolo", data=data, output=root / "runs", max_epochs=20, progress=False,
                     overrides={"data.batch_size": 4, "data.val_fraction": 0.34, "optim.lr": 0.005}).path


def test_lists_torchvision_detectors_and_yolo(zoo_cli):
    result = zoo_cli("list", "object-detection/*", "--json")
    models = {m["name"]: m for t in json.loads(result.out)["tasks"] for m in t["models"]}
    names = ("fasterrcnn-mobilenet", "fasterrcnn-resnet50", "retinanet", "fcos", "ssdlite", "yolo")
    assert set(models) == {f"detection/{n}" for n in names}
    assert [name for name, model in models.items() if model["default"]] == ["detection/yolo"]


@pytest.mark.parametrize("layout", ["coco", "voc", "voc-beside", "yolo-yaml", "yolo-names", "csv"])
def test_every_annotation_format_reads_the_same_boxes(tmp_path, layout):
    from zoo_tasks.detection.data import read_data

    writers = {
        "coco": lambda p: coco(p),
        "voc": lambda p: voc(p),
        "voc-beside": lambda p: voc_beside(p),
        "yolo-yaml": lambda p: yolo(p),
        "yolo-names": lambda p: yolo(p, with_yaml=False),
        "csv": lambda p: csv_boxes(p / "boxes.csv"),
    }
    path = writers[layout](tmp_path / "data")
    from zoo.training import resolve_config

    _, config = resolve_config("detection/yolo", data=path)
    splits = read_data(config["data"])
    found = {}
    for split in splits.values():
        for item in split.items:
            number = int(Path(item.image).stem.removeprefix("img"))
            found[number] = sorted(zip(item.labels, [tuple(round(v, 3) for v in box) for box in item.boxes]))
            if item.normalized:
                found[number] = sorted((label, tuple(round(v * s, 3) for v, s in zip(box, (WIDTH, HEIGHT) * 2)))
                                       for label, box in zip(item.labels, item.boxes))
    expected = {n: sorted((label, (x1, y1, x2, y2)) for label, x1, y1, x2, y2 in boxes) for n, boxes in enumerate(scenes())}
    assert found == expected
    if layout in ("voc", "yolo-yaml"):
        assert set(splits) == {"train", "val"} and len(splits["val"]) == 2


def test_training_writes_coco_metrics_per_class_ap_and_a_prediction_plot(coco_run):
    metrics = json.loads((coco_run / "metrics.json").read_text())["val"]
    assert {"map", "map50", "map75", "mar100"} <= set(metrics)
    assert all(0 <= metrics[k] <= 1 for k in ("map", "map50", "map75"))
    assert any(name.startswith("ap/") for name in metrics)
    assert Image.open(coco_run / "plots" / "predictions.png").size[0] > 2 * WIDTH  # four validation images in a row
    assert (coco_run / "plots" / "map.png").is_file()


def test_predict_writes_boxes_as_json_and_annotated_pngs(zoo_cli, coco_run, tmp_path):
    draw(scenes()[0], 0).save(tmp_path / "one.png")
    draw(scenes()[3], 3).resize((128, 96)).save(tmp_path / "two.jpg")
    output = tmp_path / "drawn"
    result = zoo_cli("predict", coco_run, tmp_path / "one.png", tmp_path / "two.jpg", "--score-threshold", "0", "--output", output, "--json")
    assert result.code == 0, result.err
    records = json.loads(result.out)["predictions"]
    assert [Path(r["input"]).name for r in records] == ["one.png", "two.jpg"]
    assert [(r["width"], r["height"]) for r in records] == [(WIDTH, HEIGHT), (128, 96)]
    assert [Image.open(r["image"]).size for r in records] == [(320, 240), (320, 240)]  # small images drawn enlarged, so labels read
    second = records[1]["detections"]
    assert second, "a score threshold of 0 keeps every detection"
    for detection in second:
        assert detection["label"] in CLASSES and 0 <= detection["score"] <= 1
        x1, y1, x2, y2 = detection["box"]
        assert 0 <= x1 < x2 <= 128 and 0 <= y1 < y2 <= 96  # in the image's own pixels
    assert [d["score"] for d in second] == sorted((d["score"] for d in second), reverse=True)

    python = zoo.load(coco_run).predict([tmp_path / "one.png", tmp_path / "two.jpg"], score_threshold=0)
    assert python == [{k: v for k, v in r.items() if k not in ("input", "image")} for r in records]
    strict = zoo.load(coco_run).predict([tmp_path / "two.jpg"], score_threshold=1.0)
    assert strict[0]["detections"] == []


def test_predict_prints_one_line_per_object(zoo_cli, coco_run, tmp_path):
    draw(scenes()[0], 0).save(tmp_path / "one.png")
    result = zoo_cli("predict", coco_run, tmp_path / "one.png", "--score-threshold", "0.01", "--output", tmp_path / "drawn")
    assert result.code == 0, result.err
    first, *objects = result.out.splitlines()
    assert first.startswith(f"{tmp_path / 'one.png'}: ") and f"(drawn in {tmp_path / 'drawn' / 'one.png'})" in first
    assert objects and all(line.split()[0] in CLASSES and "x1=" in line for line in objects)


def test_predict_options_are_checked(zoo_cli, coco_run, tmp_path):
    from tests.test_errors import assert_user_error

    draw(scenes()[0], 0).save(tmp_path / "one.png")
    assert_user_error(zoo_cli("predict", coco_run, tmp_path / "one.png", "--score-treshold", "0.2"), "unknown option --score-treshold", "score-threshold")
    assert_user_error(zoo_cli("predict", coco_run, tmp_path / "one.png", "--score-threshold", "high"), "--score-threshold must be a number")


def test_onnx_export_of_yolo_matches_pytorch(zoo_cli, coco_run, tmp_path):
    pytest.importorskip("onnxruntime")
    result = zoo_cli("export", coco_run, "--format", "onnx", "--output", tmp_path / "yolo.onnx", "--json")
    assert result.code == 0, result.err
    exported = json.loads(result.out)
    assert exported["max_abs_diff"] < 1e-3  # boxes are in pixels (up to the image's side): as allclose below

    import onnxruntime

    module = zoo.load(coco_run)
    assert exported["outputs"] == ["boxes", "scores"]
    side = exported["input"]["shape"][-1]  # the model's image size, rounded up to 32
    images = torch.rand(3, 3, side, side)
    session = onnxruntime.InferenceSession(str(tmp_path / "yolo.onnx"), providers=["CPUExecutionProvider"])
    boxes, scores = session.run(None, {"input": images.numpy()})
    expected_boxes, expected_scores = module(images)
    assert scores.shape == (3, expected_scores.shape[1], len(CLASSES))
    assert torch.allclose(torch.from_numpy(boxes), expected_boxes, atol=1e-3)
    assert torch.allclose(torch.from_numpy(scores), expected_scores, atol=1e-4)


def test_coco_metrics_equal_pycocotools(tmp_path):
    """The module's mAP, mAP@.5, mAP@.75 and per-class AP are COCOeval's on the same boxes."""
    pycocotools = pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from zoo_tasks.detection.module import DetectionModule

    del pycocotools
    generator = torch.Generator().manual_seed(0)
    targets, predictions = [], []
    for _ in range(12):
        count = int(torch.randint(1, 5, (), generator=generator))
        corner = torch.rand(count, 2, generator=generator) * 80
        boxes = torch.cat([corner, corner + 8 + torch.rand(count, 2, generator=generator) * 40], dim=1)
        labels = torch.randint(0, 3, (count,), generator=generator)
        targets.append({"boxes": boxes, "labels": labels})
        noisy = boxes + torch.randn(count, 4, generator=generator) * 4
        extra = torch.rand(2, 2, generator=generator) * 60
        noisy = torch.cat([noisy, torch.cat([extra, extra + 20], dim=1)])
        predictions.append({
            "boxes": noisy,
            "scores": torch.rand(count + 2, generator=generator),
            "labels": torch.cat([labels, torch.randint(0, 3, (2,), generator=generator)]),
        })
    metric = DetectionModule.coco_metric()
    metric.update(predictions, targets)
    ours = metric.compute()

    truth = {"images": [], "annotations": [], "categories": [{"id": c} for c in range(3)]}
    found = []
    for image_id, (target, prediction) in enumerate(zip(targets, predictions)):
        truth["images"].append({"id": image_id})
        for box, label in zip(target["boxes"].tolist(), target["labels"].tolist()):
            x1, y1, x2, y2 = box
            truth["annotations"].append({"id": len(truth["annotations"]) + 1, "image_id": image_id, "category_id": label,
                                         "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
        for box, score, label in zip(prediction["boxes"].tolist(), prediction["scores"].tolist(), prediction["labels"].tolist()):
            x1, y1, x2, y2 = box
            found.append({"image_id": image_id, "category_id": label, "bbox": [x1, y1, x2 - x1, y2 - y1], "score": score})
    ground = COCO()
    ground.dataset = truth
    ground.createIndex()
    evaluation = COCOeval(ground, ground.loadRes(found), "bbox")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    assert float(ours["map"]) == pytest.approx(evaluation.stats[0], abs=1e-3)
    assert float(ours["map_50"]) == pytest.approx(evaluation.stats[1], abs=1e-3)
    assert float(ours["map_75"]) == pytest.approx(evaluation.stats[2], abs=1e-3)
    for index, category in enumerate(range(3)):
        precision = evaluation.eval["precision"][:, :, index, 0, -1]  # all areas, 100 detections
        assert float(ours["map_per_class"][index]) == pytest.approx(precision[precision > -1].mean(), abs=1e-3)


def detector(name: str, **model: object):
    """An untrained detection module for three classes and 64-pixel images."""
    from zoo.training import resolve_config
    from zoo_tasks.detection.module import DetectionModule

    _, config = resolve_config(f"detection/{name}", overrides={f"model.{k}": v for k, v in model.items()})
    return DetectionModule(config, {"classes": ["a", "b", "c"], "image_size": 64})


@pytest.mark.parametrize("name", ["fasterrcnn-mobilenet", "fasterrcnn-resnet50", "retinanet", "fcos", "ssdlite"])
def test_torchvision_detectors_train_and_detect_with_our_classes(name):
    """One training step and one detection pass on 64-pixel images, labels counted from 0."""
    module = detector(name)
    images = [torch.rand(3, 48, 64), torch.rand(3, 64, 40)]
    targets = [{"boxes": torch.tensor([[4.0, 4, 30, 30]]), "labels": torch.tensor([2])},
               {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}]
    module.train()
    losses = module.net(images, targets)
    sum(losses.values()).backward()
    module.eval()
    with torch.no_grad():
        detections = module.net(images)
    assert len(detections) == 2
    for found in detections:
        assert found["boxes"].shape[1] == 4 and len(found["boxes"]) == len(found["scores"]) == len(found["labels"])
        assert found["labels"].numel() == 0 or 0 <= int(found["labels"].min()) and int(found["labels"].max()) < 3


def coco_shaped_ssdlite() -> dict[str, torch.Tensor]:
    """A random state dict shaped like torchvision's COCO ssdlite320 weights (91 classes)."""
    from torchvision.models.detection import ssdlite320_mobilenet_v3_large

    return ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=91).state_dict()


def test_pretrained_detector_weights_come_from_torchvisions_cache(monkeypatch, tmp_path):
    """Offline, torchvision's download cache serves `model.pretrained=true`; the class head
    is new, everything else is the published weights."""
    from torchvision.models.detection import SSDLite320_MobileNet_V3_Large_Weights

    state = coco_shaped_ssdlite()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(state, cache / Path(SSDLite320_MobileNet_V3_Large_Weights.DEFAULT.url).name)
    module = detector("ssdlite", pretrained=True)
    own = module.net.model.state_dict()
    assert torch.equal(own["backbone.features.0.0.0.weight"], state["backbone.features.0.0.0.weight"])
    assert torch.equal(own["head.regression_head.module_list.0.1.weight"], state["head.regression_head.module_list.0.1.weight"])
    assert own["head.classification_head.module_list.0.1.weight"].shape[0] == 6 * (3 + 1)  # 6 anchors x (3 classes + background)


def test_offline_pretrained_backbone_says_where_to_put_the_file(zoo_cli, monkeypatch, tmp_path):
    import urllib.error

    from tests.test_errors import assert_user_error

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    result = zoo_cli("train", "detection/fasterrcnn-mobilenet", "--output", tmp_path, "model.pretrained_backbone=true")
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    assert_user_error(result, "cannot download https://download.pytorch.org/models/mobilenet_v3_large", f"place it at {cache}")
    assert "model.weights" not in result.err  # backbone weights are not a whole detector's


def test_weights_from_a_run_start_a_model_for_other_classes(coco_run, tmp_path):
    """A zoo run's yolo weights load into a yolo for other classes: all but the class layer."""
    module = detector("yolo", weights=str(coco_run))
    trained = zoo.load(coco_run).net.model.state_dict()
    own = module.net.model.state_dict()
    assert torch.equal(own["backbone.stem.0.weight"], trained["backbone.stem.0.weight"])
    assert own["heads.0.cls.2.weight"].shape[0] == 3 and trained["heads.0.cls.2.weight"].shape[0] == 2


def test_a_model_started_from_published_weights_loads_without_them(monkeypatch, tmp_path):
    """Loading a saved model skips downloads (the machine may be offline) yet rebuilds the
    same layers (frozen batch norm included), so its saved weights load strictly."""
    import urllib.error

    from torchvision.models import MobileNet_V3_Large_Weights, mobilenet_v3_large

    from zoo.weights import restoring

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cached = tmp_path / "torch" / "hub" / "checkpoints" / Path(MobileNet_V3_Large_Weights.DEFAULT.url).name
    cached.parent.mkdir(parents=True)
    torch.save(mobilenet_v3_large().state_dict(), cached)
    trained = detector("fasterrcnn-mobilenet", pretrained_backbone=True)
    cached.unlink()

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with restoring():
        restored = detector("fasterrcnn-mobilenet", pretrained_backbone=True)
    restored.load_state_dict(trained.state_dict(), strict=True)


def test_evaluate_on_other_annotated_data(zoo_cli, coco_run, tmp_path):
    """`zoo evaluate --data` reads any format; a VOC tree with splits gives its val part."""
    result = zoo_cli("evaluate", coco_run, "--data", voc(tmp_path / "voc"), "--json")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["rows"] == 2 and 0 <= document["metrics"]["map50"] <= 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="the advice is for CPUs")
def test_a_torchvision_detector_trains_end_to_end_and_says_yolo_is_faster_on_a_cpu(zoo_cli, tmp_path):
    result = zoo_cli("train", "detection/ssdlite", "--data", coco(tmp_path / "data"), "--output", tmp_path / "runs",
                     "--max-epochs", "1", "data.batch_size=4", "data.image_size=64", "--json")
    assert result.code == 0, result.err
    assert "zoo: warning: ssdlite trained from scratch on a CPU learns slowly" in result.err
    assert "map50" in json.loads(result.out)["metrics"]["val"]
