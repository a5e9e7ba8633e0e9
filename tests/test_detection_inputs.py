"""Detection data a user gets wrong: each mistake is one clear line (exit 2) or a counted note."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.boxes import coco, csv_boxes, voc, yolo
from tests.conftest import finished_runs
from tests.test_errors import assert_user_error

FAST = ["--max-epochs", "1", "data.batch_size=4"]


def train(zoo_cli, tmp_path: Path, data: Path, *args: str):
    return zoo_cli("train", "detection/yolo", "--data", data, "--output", tmp_path / "runs", *FAST, *args, "--json")


def edit_coco(path: Path, change) -> Path:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))
    return path


def test_boxes_outside_the_image_are_clipped_and_counted(zoo_cli, tmp_path):
    def stretch(document):
        document["annotations"][0]["bbox"] = [50, 30, 40, 40]  # to x=90, y=70 on a 64x48 image
        document["annotations"][1]["bbox"] = [-5, -5, 20, 20]

    data = edit_coco(coco(tmp_path / "data"), stretch)
    result = train(zoo_cli, tmp_path, data)
    assert result.code == 0, result.err
    run = json.loads(result.out)
    assert any("2 box(es) reached outside their image and were clipped" in note for note in run["notes"])


def test_degenerate_boxes_are_dropped_and_counted(zoo_cli, tmp_path):
    path = csv_boxes(tmp_path / "data" / "boxes.csv")
    lines = path.read_text().splitlines()
    lines.append("img0.png,30,10,20,40,apple")  # x2 < x1
    lines.append("img1.png,10,10,40,10,berry")  # no height
    path.write_text("\n".join(lines) + "\n")
    result = train(zoo_cli, tmp_path, path)
    assert result.code == 0, result.err
    notes = json.loads(result.out)["notes"]
    assert any("2 box(es) without area" in note and f"{path}:{len(lines) - 1}" in note for note in notes)


def test_unknown_category_id_is_named_with_its_annotation(zoo_cli, tmp_path):
    data = edit_coco(coco(tmp_path / "data"), lambda d: d["annotations"][2].update(category_id=7))
    assert_user_error(train(zoo_cli, tmp_path, data), "(annotation id 3): category_id 7 is not in its 'categories'", "known ids: 1, 3")
    assert finished_runs(tmp_path / "runs") == []


def test_yolo_class_outside_the_names_is_named_by_line(zoo_cli, tmp_path):
    root = yolo(tmp_path / "data")
    label = root / "labels" / "train" / "img3.txt"
    label.write_text(label.read_text() + "5 0.5 0.5 0.2 0.2\n")
    line = len(label.read_text().splitlines())
    assert_user_error(train(zoo_cli, tmp_path, root), f"{label}:{line}: class 5 is not one of the 2 named classes")


def test_annotation_naming_a_missing_image(zoo_cli, tmp_path):
    root = voc(tmp_path / "data")
    (root / "JPEGImages" / "img4.jpg").unlink()
    assert_user_error(train(zoo_cli, tmp_path, root), "img4.xml names image", "img4.jpg, which does not exist")


def test_coco_layout_with_many_images_names_the_first_unreadable_one(tmp_path):
    """annotations/instances_train2017.json beside train2017/, as COCO lays itself out: every
    image is found; of two unreadable images (read several at a time), the first listed is named."""
    from zoo.errors import ZooError
    from zoo.training import resolve_config
    from zoo_tasks.detection.data import check_boxes, read_data

    written = coco(tmp_path / "written", count=150)
    root = tmp_path / "coco"
    (root / "annotations").mkdir(parents=True)
    (tmp_path / "written" / "images").rename(root / "train2017")
    path = written.rename(root / "annotations" / "instances_train2017.json")
    _, config = resolve_config("detection/yolo", data=path)
    split = read_data(config["data"])["train"]
    assert len(split) == 150 and all(item.image.parent == root / "train2017" for item in split.items)
    assert check_boxes(split, [])[:2] == [(48, 64), (48, 64)]
    for name in ("img140.png", "img100.png"):
        (root / "train2017" / name).write_bytes(b"not an image")
    with pytest.raises(ZooError, match="img100.png is not a readable image"):
        check_boxes(read_data(config["data"])["train"], [])
    (root / "train2017" / "img20.png").unlink()
    with pytest.raises(ZooError, match=r"\(image id 21\) names image \S*img20.png, which does not exist"):
        check_boxes(read_data(config["data"])["train"], [])


def test_malformed_json_is_named_with_line_and_column(zoo_cli, tmp_path):
    path = coco(tmp_path / "data")
    path.write_text(path.read_text().replace('"images": [', '"images": [,', 1))
    assert_user_error(train(zoo_cli, tmp_path, path), f"{path}:2:", "invalid JSON")


def test_malformed_xml_is_named_with_line_and_column(zoo_cli, tmp_path):
    root = voc(tmp_path / "data")
    xml = root / "Annotations" / "img2.xml"
    xml.write_text(xml.read_text().replace("</annotation>", "<object>\n</annotation>"))
    assert_user_error(train(zoo_cli, tmp_path, root), f"{xml}:2:", "malformed XML")


@pytest.mark.parametrize(
    ("header", "fragment"),
    [("image,x1,y1,x2,y2,label", "missing filename, xmin, ymin, xmax, ymax"), ("filename,xmin,ymin,xmax,ymax", "missing label")],
)
def test_csv_without_the_needed_columns(zoo_cli, tmp_path, header, fragment):
    path = csv_boxes(tmp_path / "data" / "boxes.csv")
    path.write_text(header + "\n" + "\n".join(path.read_text().splitlines()[1:]) + "\n")
    assert_user_error(train(zoo_cli, tmp_path, path), f"{path}:1:", fragment)


def test_a_validation_class_training_never_saw(zoo_cli, tmp_path):
    root = voc(tmp_path / "data")
    xml = root / "Annotations" / "img0.xml"  # a validation image
    xml.write_text(xml.read_text().replace("<name>apple</name>", "<name>cherry</name>"))
    assert_user_error(train(zoo_cli, tmp_path, root), "img0.xml (object 1): class 'cherry' does not occur in the training data")


def test_data_without_any_box(zoo_cli, tmp_path):
    path = tmp_path / "data" / "boxes.csv"
    csv_boxes(path)
    path.write_text("filename,xmin,ymin,xmax,ymax,label\nimg0.png,,,,,\nimg7.png,,,,,\n")
    assert_user_error(train(zoo_cli, tmp_path, path), "has no objects to learn from")


def test_torchvision_detector_refuses_grayscale_channels():
    from zoo.plugins import find_task
    from zoo_tasks.detection.models import fasterrcnn_mobilenet

    with pytest.raises(ValueError, match="RGB"):
        fasterrcnn_mobilenet(in_channels=1, num_classes=2, image_size=64, **find_task("detection").models["fasterrcnn-mobilenet"].defaults)


def test_coco_annotation_with_a_bad_bbox(zoo_cli, tmp_path):
    data = edit_coco(coco(tmp_path / "data"), lambda d: d["annotations"][0].update(bbox=[1, 2, 3]))
    assert_user_error(train(zoo_cli, tmp_path, data), "(annotation id 1): 'bbox' must be [x, y, width, height]")


def test_yolo_folder_with_a_names_only_yaml(zoo_cli, tmp_path):
    root = yolo(tmp_path / "data", with_yaml=False)
    (root / "classes.txt").unlink()
    (root / "data.yaml").write_text("names: [apple, berry]\n")
    result = train(zoo_cli, tmp_path, root)
    assert result.code == 0, result.err
    assert json.loads(result.out)["notes"][0].startswith("YOLO data: ")


def test_python_predict_checks_its_threshold(tmp_path):
    import zoo
    from zoo.errors import ZooError

    run = zoo.train("detection/yolo", data=coco(tmp_path / "data"), output=tmp_path / "runs", max_epochs=1, progress=False,
                    overrides={"data.batch_size": 4})
    with pytest.raises(ZooError, match="score_threshold must be from 0 to 1"):
        zoo.load(run.path).predict([tmp_path / "data" / "images" / "img0.png"], score_threshold=2)


def test_a_truncated_image_stops_the_run_and_leaves_no_folders(zoo_cli, tmp_path):
    root = voc(tmp_path / "data")
    jpeg = root / "JPEGImages" / "img5.jpg"  # a training image: its header reads, its pixels do not
    jpeg.write_bytes(jpeg.read_bytes()[: jpeg.stat().st_size * 9 // 10])
    assert_user_error(train(zoo_cli, tmp_path, root), f"{jpeg} is not a readable image")
    assert list((tmp_path / "runs").iterdir()) == []  # no empty <task>/<model>/ folders either
