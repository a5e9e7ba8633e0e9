"""Classification: bad data, and weights from torchvision or a local file."""

from __future__ import annotations

import json
import urllib.error
from pathlib import Path

import pytest
import torch

import zoo
from tests.conftest import finished_runs
from tests.images import idx_files, image_folder, table
from tests.test_errors import assert_user_error

FAST = ["--max-epochs", "1", "data.batch_size=8"]


def train(zoo_cli, tmp_path: Path, data: Path, *extra: str):
    return zoo_cli("train", "classification", "--data", data, "--output", tmp_path / "runs", *FAST, *extra)


def test_corrupt_image_is_named(zoo_cli, tmp_path):
    image_folder(tmp_path / "data")
    (tmp_path / "data" / "dark" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    assert_user_error(train(zoo_cli, tmp_path, tmp_path / "data"), "broken.png is not a readable image", "remove or replace")
    assert not finished_runs(tmp_path / "runs")


def test_non_image_files_in_class_folders_are_ignored(zoo_cli, tmp_path):
    image_folder(tmp_path / "data")
    (tmp_path / "data" / "dark" / "README.txt").write_text("notes")
    (tmp_path / "data" / ".DS_Store").write_bytes(b"\0\0")
    (tmp_path / "data" / "dark" / "._0.png").write_bytes(b"\0\5\x16\7 AppleDouble")
    (tmp_path / "data" / "dark" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "data" / "dark" / ".ipynb_checkpoints" / "0-checkpoint.png").write_bytes(b"junk")
    result = train(zoo_cli, tmp_path, tmp_path / "data", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["metrics"]["val"]


def test_table_naming_a_text_file_as_image(zoo_cli, tmp_path):
    csv = table(tmp_path / "labels.csv")
    (tmp_path / "img" / "dark0.png").write_text("I am text")
    assert_user_error(train(zoo_cli, tmp_path, csv), "dark0.png is not a readable image")


def test_empty_class_folder(zoo_cli, tmp_path):
    image_folder(tmp_path / "data")
    (tmp_path / "data" / "empty").mkdir()
    assert_user_error(train(zoo_cli, tmp_path, tmp_path / "data"), "class folder", "empty has no images", "remove the folder")


def test_validation_label_training_never_saw(zoo_cli, tmp_path):
    image_folder(tmp_path / "data" / "train")
    image_folder(tmp_path / "data" / "val", per_class=1)
    (tmp_path / "data" / "val" / "dark").rename(tmp_path / "data" / "val" / "medium")
    assert_user_error(train(zoo_cli, tmp_path, tmp_path / "data"), "label 'medium' does not occur in the training data", "dark, light")


def test_missing_paths(zoo_cli, tmp_path):
    assert_user_error(train(zoo_cli, tmp_path, tmp_path / "nowhere"), "nowhere does not exist")
    csv = table(tmp_path / "labels.csv")
    (tmp_path / "img" / "light3.png").unlink()
    assert_user_error(train(zoo_cli, tmp_path, csv), "labels.csv:11: image", "light3.png does not exist")


def test_table_without_a_label_column(zoo_cli, tmp_path):
    csv = tmp_path / "labels.csv"
    csv.write_text("path,kind\nimg/a.png,x\n")
    assert_user_error(train(zoo_cli, tmp_path, csv), "has no label column", "kind", "data.label_column")
    assert_user_error(train(zoo_cli, tmp_path, csv, "data.label_column=knd"), "no label column 'knd'", "did you mean 'kind'")


def test_unknown_file_format(zoo_cli, tmp_path):
    (tmp_path / "data.xyz").write_text("?")
    assert_user_error(train(zoo_cli, tmp_path, tmp_path / "data.xyz"), "cannot tell the format")


def test_truncated_idx_file(zoo_cli, tmp_path):
    images = idx_files(tmp_path / "mnist", compressed=False)
    images.write_bytes(images.read_bytes()[:-7])
    assert_user_error(train(zoo_cli, tmp_path, tmp_path / "mnist"), "is truncated")


def test_bad_options(zoo_cli, tmp_path):
    image_folder(tmp_path / "data")
    assert_user_error(train(zoo_cli, tmp_path, tmp_path / "data", "data.augment=heavy"), "data.augment: unknown value 'heavy'; choose one of none, light, standard")
    assert_user_error(train(zoo_cli, tmp_path, tmp_path / "data", "model.pretrained=true"), "model.pretrained is not a setting of classification/cnn")
    assert_user_error(zoo_cli("predict", tmp_path, "x.png"), "not a zoo run or model folder")


def test_split_folders_are_told_by_name(tmp_path):
    from zoo.images import read_splits

    image_folder(tmp_path / "data" / "Train")
    image_folder(tmp_path / "data" / "dev", per_class=1)
    found = read_splits(tmp_path / "data")
    assert {split: len(images) for split, images in found.items()} == {"train": 12, "val": 2}
    image_folder(tmp_path / "data" / "validation", per_class=1)
    with pytest.raises(zoo.ZooError, match="two val splits: dev and validation"):
        read_splits(tmp_path / "data")


def test_sizes_come_upright_from_headers_without_decoding(tmp_path, monkeypatch):
    """Image sizes are read from file headers (a PNG's chunk list, a JPEG's EXIF segment) and
    turned as the images will be; pixels are decoded only for an orientation that a PNG keeps
    after its pixel data."""
    from PIL import Image, ImageFile

    from tests.images import picture, turned_png
    from zoo.images import FileImages, open_image, survey

    folder = tmp_path / "images"
    folder.mkdir()
    wide = picture("dark", 0, size=12).resize((30, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    wide.save(folder / "turned.jpg", exif=exif)
    wide.save(folder / "plain.png")
    turned_png(folder / "turned-before.png", wide, after_pixels=False)
    turned_png(folder / "turned-after.png", wide)
    files = sorted(folder.iterdir())
    found = survey(FileImages(files), range(len(files)))
    assert found.sizes == [(open_image(f).height, open_image(f).width) for f in files]
    assert dict(zip((f.name for f in files), found.sizes)) == {
        "plain.png": (20, 30), "turned-after.png": (30, 20), "turned-before.png": (30, 20), "turned.jpg": (30, 20)
    }

    def no_decoding(image):
        raise AssertionError(f"{image.filename} was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    headers_only = [f for f in files if f.name != "turned-after.png"] * 40  # several threads' worth
    assert survey(FileImages(headers_only), range(len(headers_only))).sizes == [(20, 30), (30, 20), (30, 20)] * 40


# Weights ------------------------------------------------------------------------------------

SMALL = "classification/mobilenet-v3-small"


@pytest.fixture
def imagenet_file(tmp_path) -> tuple[Path, dict[str, torch.Tensor]]:
    """A state dict shaped like torchvision's ImageNet mobilenet_v3_small (random values)."""
    from torchvision.models import mobilenet_v3_small

    state = mobilenet_v3_small(num_classes=1000).state_dict()
    path = tmp_path / "mobilenet.pth"
    torch.save(state, path)
    return path, state


def test_pretrained_weights_come_from_torchvisions_cache(monkeypatch, tmp_path, imagenet_file):
    """Offline, torchvision's download cache serves `model.pretrained=true`."""
    from torchvision.models import MobileNet_V3_Small_Weights

    path, state = imagenet_file
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    path.rename(cache / Path(MobileNet_V3_Small_Weights.DEFAULT.url).name)
    module = zoo.create(SMALL, data=image_folder(tmp_path / "data"), pretrained=True)
    own = module.net.state_dict()
    assert torch.equal(own["features.0.0.weight"], state["features.0.0.weight"])
    assert own["classifier.3.weight"].shape == (2, 1024)  # a new head for two classes
    assert module.image_size == [224, 224] and module.info["mean"] == [0.485, 0.456, 0.406]


def test_offline_pretrained_says_how_to_pass_a_file(zoo_cli, monkeypatch, tmp_path):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    result = train(zoo_cli, tmp_path, image_folder(tmp_path / "data"), "model.name=mobilenet-v3-small", "model.pretrained=true")
    assert_user_error(result, "cannot download https://download.pytorch.org/models/mobilenet_v3_small", "model.weights=PATH")


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_local_weights_into_a_grayscale_model(tmp_path, imagenet_file, suffix):
    """RGB stem weights are summed over colors for one-channel data; the head is new."""
    path, state = imagenet_file
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        path = tmp_path / "mobilenet.safetensors"
        save_file(state, str(path))
    module = zoo.create(SMALL, data=idx_files(tmp_path / "mnist"), weights=str(path))
    stem = module.net.state_dict()["features.0.0.weight"]
    assert module.channels == 1 and torch.allclose(stem, state["features.0.0.weight"].sum(dim=1, keepdim=True))


def test_weights_of_another_architecture_are_refused(zoo_cli, tmp_path, imagenet_file):
    path, _ = imagenet_file
    result = train(zoo_cli, tmp_path, image_folder(tmp_path / "data"), "model.name=resnet18", f"model.weights={path}")
    assert_user_error(result, "are for another architecture")
    assert_user_error(train(zoo_cli, tmp_path, image_folder(tmp_path / "data"), f"model.weights={tmp_path / 'none.pt'}"), "none.pt does not exist")


def test_freeze_backbone_trains_only_the_head(tmp_path, imagenet_file):
    path, state = imagenet_file
    run = zoo.train(
        SMALL,
        data=image_folder(tmp_path / "data", size=32),
        output=tmp_path / "runs",
        max_epochs=1,
        progress=False,
        overrides={"model.weights": str(path), "model.freeze_backbone": True, "data.image_size": 32, "data.batch_size": 4},
    )
    trained = zoo.load(run.path).net.state_dict()
    for key in ("features.0.0.weight", "features.0.1.running_mean", "classifier.0.weight"):
        assert torch.equal(trained[key], state[key]), key
    assert json.loads((run.path / "model" / "config.json").read_text())["params"] > 1_000_000


def test_image_that_fails_to_decode_in_a_loader_worker(zoo_cli, tmp_path):
    """A truncated PNG passes the header check; decoding it in a worker process still stops
    the run with one line naming the file."""
    image_folder(tmp_path / "data", size=64)
    damaged = tmp_path / "data" / "light" / "0.png"
    damaged.write_bytes(damaged.read_bytes()[:200])
    result = train(zoo_cli, tmp_path, tmp_path / "data", "data.num_workers=1")
    assert_user_error(result, "0.png is not a readable image")
    assert "Traceback" not in result.err and "worker" not in result.err


def test_a_last_batch_of_one_image_is_dropped_for_batch_norm(tmp_path):
    """13 training images in batches of 12: torchvision's batch norm cannot train on 1."""
    run = zoo.train(SMALL, data=image_folder(tmp_path / "data", per_class=7), output=tmp_path / "runs", max_epochs=1,
                    progress=False, overrides={"data.batch_size": 12, "data.val_fraction": 0.05})
    assert run.epochs == 1


def test_float_images_out_of_range_are_refused(zoo_cli, tmp_path):
    model = zoo.create("classification")
    with pytest.raises(zoo.ZooError, match=r"values in \[0, 1\].*divide by 255"):
        model.predict(torch.rand(3, 24, 24) * 255)


def test_weights_from_a_zoo_model_folder(tmp_path):
    data = image_folder(tmp_path / "data")
    first = zoo.train("classification", data=data, output=tmp_path / "runs", max_epochs=1, progress=False)
    module = zoo.create("classification", data=data, weights=str(first.path / "model"))
    assert torch.equal(module.net.state_dict()["head.2.weight"], zoo.load(first.path).net.state_dict()["head.2.weight"])
    bad = tmp_path / "bad.pt"
    bad.write_text("not weights")
    with pytest.raises(zoo.ZooError, match="is not a state-dict file"):
        zoo.create("classification", data=data, weights=str(bad))
