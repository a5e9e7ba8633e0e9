"""Image classification: data formats, models, metrics, plots, predict and export."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from tests.images import CLASSES, datasets_folder, idx_files, image_folder, table

FAST = ["--max-epochs", "2", "data.batch_size=8"]


@pytest.fixture(scope="session")
def shapes_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo shapes, trained once with the default CNN (8 epochs: seeds 0, 1 and 2 reach
    100%, 92% and 97% validation accuracy on one thread; at 6, seed 0 had 89%)."""
    output = tmp_path_factory.mktemp("runs")
    return zoo.train("classification", output=output, max_epochs=8, progress=False).path


def test_lists_the_cnn_and_torchvision_models(zoo_cli):
    result = zoo_cli("list", "image-classification/*", "--json")
    models = {m["name"]: m for t in json.loads(result.out)["tasks"] for m in t["models"]}
    assert set(models) == {
        f"classification/{name}"
        for name in ("cnn", "resnet18", "resnet34", "resnet50", "mobilenet-v3-small", "mobilenet-v3-large",
                     "efficientnet-b0", "convnext-tiny", "vit-b-16")
    }
    assert models["classification/cnn"]["default"]


def test_demo_run_reports_metrics_and_draws_plots(shapes_run):
    metrics = json.loads((shapes_run / "metrics.json").read_text())["val"]
    assert metrics["acc"] >= 0.8  # 92-100% seen (at worst 6 of 72 wrong): room for any float rounding; chance is 17%
    assert {"top5", "f1", "loss"} <= set(metrics)
    assert {f"precision/{c}" for c in ("circle", "ring")} | {"recall/square"} <= set(metrics)
    for plot in ("loss.png", "acc.png", "confusion_matrix.png"):
        assert Image.open(shapes_run / "plots" / plot).size[0] > 100


def test_predict_files_and_folders_from_the_command_line(zoo_cli, shapes_run, tmp_path):
    from zoo_tasks.classification.data import demo_splits

    shapes = demo_splits()["train"]
    folder = tmp_path / "more"
    folder.mkdir()
    Image.fromarray(shapes.images[0].permute(1, 2, 0).numpy()).save(tmp_path / "a.png")
    Image.fromarray(shapes.images[1].permute(1, 2, 0).numpy()).save(folder / "b.jpg", quality=95)
    (folder / "notes.txt").write_text("not an image")
    result = zoo_cli("predict", shapes_run, tmp_path / "a.png", folder, "--json")
    assert result.code == 0, result.err
    records = json.loads(result.out)["predictions"]
    assert [Path(r["input"]).name for r in records] == ["a.png", "b.jpg"]
    top = records[0]["top_k"]
    assert len(top) == 5 and top[0]["label"] == records[0]["label"]
    assert [t["probability"] for t in top] == sorted((t["probability"] for t in top), reverse=True)
    # A file is read as the image it holds: a.png (lossless) is classified as its pixels are.
    # (Whether the model gets these two right is a matter of its training, which
    # test_demo_run_reports_metrics_and_draws_plots checks with a margin.)
    model = zoo.load(shapes_run)
    assert model.predict([tmp_path / "a.png"]) == model.predict([shapes.images[0]])
    # The command line answers as the Python API does: labels exactly; probabilities to 1e-5,
    # since one image alone and a batch of two take different float paths (6th decimal seen).
    floats = {"probability", "top_k"}
    for record, alone in zip(records, [*model.predict([tmp_path / "a.png"]), *model.predict([folder / "b.jpg"])], strict=True):
        assert {k: v for k, v in alone.items() if k not in floats} == {k: v for k, v in record.items() if k not in floats | {"input"}}
        assert alone["probability"] == pytest.approx(record["probability"], abs=1e-5)
        assert {t["label"]: t["probability"] for t in alone["top_k"]} == pytest.approx({t["label"]: t["probability"] for t in record["top_k"]}, abs=1e-5)


def test_predict_takes_paths_pil_images_and_tensors_alike(shapes_run, tmp_path):
    model = zoo.load(shapes_run)
    pixels = torch.randint(0, 256, (3, 24, 24), dtype=torch.uint8)
    image = Image.fromarray(pixels.permute(1, 2, 0).numpy())
    image.save(tmp_path / "x.png")
    by_path, by_pil, by_uint8, by_float = model.predict([tmp_path / "x.png", image, pixels, pixels.float() / 255])
    assert by_path == by_pil == by_uint8
    assert by_float["label"] == by_uint8["label"]
    assert abs(by_float["probability"] - by_uint8["probability"]) < 1e-5
    assert len(model.predict(torch.stack([pixels, pixels]))) == 2


def test_predict_resizes_images_of_other_sizes(shapes_run):
    """A 3x larger copy of an image is scaled back to the model's 24x24 (antialiased, so a
    little blurred) before it is classified."""
    from zoo_tasks.classification.data import demo_splits

    small = demo_splits()["train"].images[3]
    large = Image.fromarray(small.permute(1, 2, 0).numpy()).resize((72, 72), Image.NEAREST)
    model = zoo.load(shapes_run)
    fitted = model.eval_transform(torch.from_numpy(np.array(large)).permute(2, 0, 1))
    assert fitted.shape == small.shape
    assert (fitted.float() - small.float()).abs().mean() < 12
    assert model.predict([large])[0]["label"] in model.classes


@pytest.mark.parametrize("format", ["onnx", "pt2"])
def test_export_matches_pytorch(zoo_cli, shapes_run, tmp_path, format):
    target = tmp_path / f"model.{format}"
    result = zoo_cli("export", shapes_run, "--format", format, "--output", target, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["max_abs_diff"] < 1e-4
    assert target.stat().st_size > 100_000


def test_image_folder_with_splits_and_mixed_color_modes(zoo_cli, tmp_path):
    image_folder(tmp_path / "data" / "train", modes=("L", "RGB", "RGBA", "P"))
    image_folder(tmp_path / "data" / "val", per_class=2)
    result = zoo_cli("train", "classification", "--data", tmp_path / "data", "--output", tmp_path / "runs", *FAST, "--json")
    assert result.code == 0, result.err
    run = json.loads(result.out)
    assert any("converted to RGB" in note for note in run["notes"])
    assert json.loads((Path(run["path"]) / "model" / "config.json").read_text())["info"]["rows"] == {"train": 12, "val": 4}


@pytest.mark.parametrize("name", ["labels.csv", "labels.jsonl"])
def test_tables_of_paths_and_labels(zoo_cli, tmp_path, name):
    result = zoo_cli("train", "classification", "--data", table(tmp_path / name), "--output", tmp_path / "runs", *FAST, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["metrics"]["val"]["acc"] >= 0


@pytest.mark.parametrize("compressed", [True, False])
def test_idx_files_train_grayscale_models(zoo_cli, tmp_path, compressed):
    idx_files(tmp_path / "mnist", compressed=compressed)
    idx_files(tmp_path / "mnist", count=6, prefix="t10k", compressed=compressed)
    result = zoo_cli("train", "classification", "--data", tmp_path / "mnist", "--output", tmp_path / "runs", *FAST, "--json")
    assert result.code == 0, result.err
    run = json.loads(result.out)
    info = json.loads((Path(run["path"]) / "model" / "config.json").read_text())["info"]
    assert info["channels"] == 1 and info["image_size"] == [10, 10] and info["classes"] == ["0", "1"]
    assert "test" in run["metrics"]  # t10k-* is the test split


def test_idx_last_rows_validate_in_order(tmp_path):
    from zoo.training import resolve_config
    from zoo_tasks.classification.data import build_data

    images = idx_files(tmp_path / "mnist", count=10)
    _, config = resolve_config("classification", data=images, overrides={"data.val_split": "last", "data.val_fraction": 0.2})
    bundle = build_data(config)
    assert bundle.train.indices == list(range(8)) and bundle.val.indices == [8, 9]


def test_datasets_folder_with_image_and_label_columns(zoo_cli, tmp_path):
    result = zoo_cli("train", "classification", "--data", datasets_folder(tmp_path / "hf"), "--output", tmp_path / "runs", *FAST, "--json")
    assert result.code == 0, result.err
    info = json.loads((Path(json.loads(result.out)["path"]) / "model" / "config.json").read_text())["info"]
    assert info["classes"] == list(CLASSES)


def test_evaluate_on_another_folder(zoo_cli, tmp_path):
    image_folder(tmp_path / "train")
    image_folder(tmp_path / "holdout", per_class=3)
    trained = zoo_cli("train", "classification", "--data", tmp_path / "train", "--output", tmp_path / "runs", *FAST, "--json")
    result = zoo_cli("evaluate", json.loads(trained.out)["path"], "--data", tmp_path / "holdout", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["rows"] == 6


@pytest.mark.parametrize(
    "name",
    ["resnet18", "resnet34", "resnet50", "mobilenet-v3-small", "mobilenet-v3-large", "efficientnet-b0", "convnext-tiny", "vit-b-16"],
)
def test_torchvision_models_follow_the_data(tmp_path, name):
    """Channels, classes and a usable image size come from the data (10x10 grayscale here)."""
    module = zoo.create(f"classification/{name}", data=idx_files(tmp_path, count=12)).eval()
    assert module.image_size[0] >= 32 and module.channels == 1
    with torch.no_grad():
        assert module(module.example_input()).shape == (2, 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_with_bf16_mixed_precision(tmp_path):
    run = zoo.train("classification", output=tmp_path, max_epochs=6, progress=False,
                    overrides={"trainer.accelerator": "gpu", "trainer.devices": 1, "trainer.precision": "bf16-mixed"})
    assert run.metrics["val"]["acc"] >= 0.8
    assert zoo.load(run.path).predict(torch.zeros(3, 24, 24))[0]["label"]  # loads on CPU


def test_the_cnn_folds_its_batch_norms_when_predicting():
    """Without gradients each batch norm is folded into its convolution: the same logits, and
    folded again after a training step has changed the weights and running statistics."""
    from zoo_tasks.classification.models import SmallCNN

    torch.manual_seed(0)
    net = SmallCNN(3, 4, [4, 8], dropout=0.0)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    images = torch.rand(6, 3, 12, 12)
    folded = []
    for _ in range(2):
        net.train()
        net(images).logsumexp(dim=1).mean().backward()
        optimizer.step()
        net.eval()
        with torch.enable_grad():
            unfolded = net(images).detach()
        with torch.inference_mode():
            assert torch.allclose(net(images), unfolded, atol=1e-5)
        folded.append(net._folded._made[1])
        assert not any(isinstance(layer, torch.nn.BatchNorm2d) for layer in folded[-1])
    assert folded[0] is not folded[1]
    with torch.no_grad():  # exported (and compiled) with its plain layers: a traced weight has no storage to key on
        exported = torch.export.export(net, (images,)).module()
    assert torch.allclose(exported(images), unfolded, atol=1e-5) and copy.deepcopy(net)._folded._made is None


def test_classifiers_predict_on_the_cpu_through_a_frozen_graph():
    """Predicting on the CPU, a network marked traces_faithfully runs as a frozen TorchScript
    graph (traced at one batch size, right at others): the logits of the network as it is, the
    graph made again after a training step; not while training, with gradients, under autocast
    or for an unmarked network; a network tracing cannot follow runs as it is."""
    import torchvision

    from zoo.inference import FrozenGraph, traces_faithfully
    from zoo_tasks.classification.models import SmallCNN

    torch.manual_seed(0)
    for net, size in ((traces_faithfully(SmallCNN(3, 4, [4, 8], dropout=0.2)), 12), (traces_faithfully(torchvision.models.resnet18(num_classes=3)), 32)):
        graph, optimizer = FrozenGraph(), torch.optim.SGD(net.parameters(), lr=0.1)
        made = []
        for _ in range(2):
            net.train()
            graph(net, torch.rand(4, 3, size, size)).logsumexp(dim=1).mean().backward()  # training: the network itself
            optimizer.step()
            assert graph._made._made is None or graph._made._made[1] is made[-1]
            net.eval()
            for batch in (2, 5):
                images = torch.rand(batch, 3, size, size)
                with torch.enable_grad():
                    plain = graph(net, images).detach()
                with torch.inference_mode():
                    assert torch.allclose(graph(net, images), plain, atol=1e-5)
                made.append(graph._made._made[1])
                assert isinstance(made[-1], torch.jit.ScriptModule)
            assert made[-1] is made[-2]  # one graph for every batch size
        assert made[1] is not made[2]  # made again after the step
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            assert graph(net, images).dtype == torch.bfloat16  # autocast: the network itself, in bf16
        assert copy.deepcopy(graph)._made._made is None
        seen = []
        last = [layer for layer in net.modules() if isinstance(layer, torch.nn.Linear)][-1]
        hook = last.register_forward_hook(lambda layer, inputs, output: seen.append(inputs[0].shape))
        with torch.no_grad():
            graph(net, images)  # a hook watches a layer: the network itself, which calls it
        hook.remove()
        assert seen == [(5, last.in_features)]

    unmarked, graph = torch.nn.Linear(3, 2).eval(), FrozenGraph()
    with torch.no_grad():
        graph(unmarked, torch.rand(2, 3))
    assert graph._made._made is None

    class Untraceable(torch.nn.Module):  # returns a dict: tracing refuses it
        def __init__(self) -> None:
            super().__init__()
            self.scale = torch.nn.Parameter(torch.tensor(2.0))

        def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"logits": x * self.scale}

    net, graph = traces_faithfully(Untraceable()).eval(), FrozenGraph()
    with torch.no_grad():
        assert graph(net, torch.ones(1, 1))["logits"].item() == 2
    assert graph._made._made[1] is None

    class BatchOfItsTrace(torch.nn.Module):  # x.view(len(x), ...) traces the batch size as a constant
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(x.view(len(x), -1))

    net, graph = traces_faithfully(BatchOfItsTrace()).eval(), FrozenGraph()
    with torch.no_grad():
        assert graph(net, torch.rand(1, 2, 2)).shape == (1, 2) and graph(net, torch.rand(4, 2, 2)).shape == (4, 2)
    assert graph._made._made[1] is None  # checked on a batch of another size: refused

    net, graph = traces_faithfully(SmallCNN(3, 4, [4, 8], dropout=0.0)).eval(), FrozenGraph()
    net.features[1].train()  # a batch norm adapting at test time: the graph would not
    with torch.no_grad():
        graph(net, torch.rand(2, 3, 12, 12))
    assert graph._made._made is None


def test_a_classifiers_graph_follows_weights_written_through_data():
    """Weights changed through `.data` (no version counter sees it): the next switch to eval
    makes the graph again."""
    module = zoo.create("classification").eval()
    images = torch.rand(2, 3, *module.image_size)
    with torch.no_grad():
        module(images)
        for parameter in module.net.parameters():
            parameter.data.mul_(0.5)
        module.train().eval()
        through_graph = module(images)
    with torch.enable_grad():
        plain = module(images).detach()
    assert torch.allclose(through_graph, plain, atol=1e-5) and isinstance(module.graph._made._made[1], torch.jit.ScriptModule)


def test_a_loaded_classifier_predicts_through_its_graph_but_not_while_fitting(shapes_run):
    """A graph is made for predicting and evaluating a model as it is, not for a fit's
    validations (the weights change each epoch; it would be traced again each time)."""
    import lightning
    from torch.utils.data import DataLoader, TensorDataset

    module = zoo.load(shapes_run)
    data = DataLoader(TensorDataset(torch.rand(8, 3, 24, 24), torch.randint(0, len(module.classes), (8,))), batch_size=4)
    trainer = lightning.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module.train(), data, data)
    assert module.graph._made._made is None and not module.fitting
    trainer.validate(module, data, verbose=False)
    assert isinstance(module.graph._made._made[1], torch.jit.ScriptModule)
    assert len(module.predict(torch.rand(3, 3, 24, 24))) == 3


def test_top5_is_counted_apart_from_accuracy():
    """A first batch that top-1 gets right must not tie top-5 to top-1 for the rest."""
    module = zoo.create("classification")
    metrics = module.metrics["val"]
    logits = torch.zeros(6, 6)
    for i in range(6):  # image i: class i first, class i+1 second, class i+3 last
        logits[i, i], logits[i, (i + 1) % 6], logits[i, (i + 3) % 6] = 10, 5, -5
    metrics.update(logits, torch.arange(6))  # all right
    metrics.update(logits, torch.tensor([1, 2, 3, 4, 5, 0]))  # all wrong at top-1, right at top-5
    values = metrics.compute()
    assert values["val/acc"] == pytest.approx(0.5) and values["val/top5"] == pytest.approx(1.0)
