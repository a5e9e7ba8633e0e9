"""The damaged-file corpus: every file zoo reads, given empty, truncated, binary, in another
encoding or in the wrong JSON/YAML shape, stops with one line on stderr naming the file, exit
status 2, no traceback, and no run folder that looks finished.

A case writes a good input in its own folder, damages one file of it, and returns the `zoo`
arguments that read it. `file_cases` makes one case per damage of one file.
"""

from __future__ import annotations

import atexit
import functools
import json
import pickle
import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import boxes, images, texts
from tests.conftest import finished_runs
from tests.test_errors import assert_user_error

GARBAGE = b"\x93\x00\x1f\xfe" + random.Random(0).randbytes(508)  # random bytes, a NUL among them
Damage = Callable[[bytes], bytes]


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path], list[str]]  # writes the damaged input under a folder; returns the zoo arguments
    name: str  # the damaged file's name, which the one line must contain


def file_cases(kind: str, write: Callable[[Path], list[str]], file: str, **damages: Damage) -> list[Case]:
    """One case per damage (`wrong_shape=...` gives the id `KIND-wrong-shape`) of `file`, a
    path relative to the folder in which `write` makes a good input and returns the arguments."""

    def case(variant: str, damage: Damage) -> Case:
        def build(folder: Path) -> list[str]:
            args = write(folder)
            path = folder / file
            path.write_bytes(damage(path.read_bytes()))
            return args

        return Case(f"{kind}-{variant.replace('_', '-')}", build, Path(file).name)

    return [case(variant, damage) for variant, damage in damages.items()]


def train(folder: Path, name: str, *args: object) -> list[str]:
    """`zoo train NAME ARGS` for one epoch, its runs under folder/runs."""
    return ["train", name, *map(str, args), "--max-epochs", "1", "--output", str(folder / "runs")]


# Damages ---------------------------------------------------------------------------------------


def empty(data: bytes) -> bytes:
    return b""


def binary(data: bytes) -> bytes:
    return GARBAGE


def half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def latin1(data: bytes) -> bytes:
    """The text in latin-1 (it must hold a character beyond ASCII: "café" is the usual one)."""
    assert "é".encode() in data
    return data.decode("utf-8").encode("latin-1")


def utf16(data: bytes) -> bytes:
    return data.decode("utf-8").encode("utf-16")


def becomes(content: str | bytes) -> Damage:
    return lambda data: content.encode() if isinstance(content, str) else content


def cut_before(marker: str, ending: str = "") -> Damage:
    """The file cut just before the first `marker` (then `ending` added)."""
    return lambda data: data[: data.index(marker.encode())] + ending.encode()


def saved(value: object) -> bytes:
    """What torch.save writes for `value`."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def edit_json(change: Callable[[dict], object]) -> Damage:
    """The JSON object with `change` made to it."""

    def damage(data: bytes) -> bytes:
        document = json.loads(data)
        change(document)
        return json.dumps(document, ensure_ascii=False).encode()

    return damage


# Good inputs -----------------------------------------------------------------------------------

REVIEWS = [*texts.reviews(2), ("un café crème", "positive")]


def reviews(name: str) -> Callable[[Path], list[str]]:
    """folder/NAME: labelled reviews, as the suffix says (`.json`: one array of objects)."""

    def write(folder: Path) -> list[str]:
        path = folder / name
        rows = [{"text": t, "label": y} for t, y in REVIEWS]
        if name.endswith(".json"):
            path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        elif name.endswith(".jsonl"):
            path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
        else:
            texts.write_table(path, REVIEWS)
        return train(folder, "sentiment", "--data", path)

    return write


def review_folder(folder: Path) -> list[str]:
    (folder / "data").mkdir()
    texts.write_table(folder / "data" / "train.csv", REVIEWS)
    texts.write_table(folder / "data" / "dev.csv", REVIEWS[-6:])
    return train(folder, "sentiment", "--data", folder / "data")


def review_datasets(folder: Path) -> list[str]:
    import datasets

    rows = {"text": [t for t, _ in REVIEWS], "label": [y for _, y in REVIEWS]}
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows)}).save_to_disk(str(folder / "hf"))
    return train(folder, "sentiment", "--data", folder / "hf")


def documents(name: str) -> Callable[[Path], list[str]]:
    """folder/NAME: documents and their summaries."""

    def write(folder: Path) -> list[str]:
        texts.write_table(folder / name, [(f"{t} , said the café owner .", t) for t, _ in REVIEWS], "document", "summary")
        return train(folder, "summarization", "--data", folder / name)

    return write


def tokenizer(given: str) -> Callable[[Path], list[str]]:
    """Reviews and model.tokenizer=folder/tok (`given` "folder") or its tokenizer.json ("file")."""

    def write(folder: Path) -> list[str]:
        from zoo.text import train_tokenizer

        (folder / "tok").mkdir()
        train_tokenizer([t for t, _ in REVIEWS], vocab_size=60).save(str(folder / "tok" / "tokenizer.json"))
        texts.write_table(folder / "reviews.csv", REVIEWS)
        chosen = folder / "tok" if given == "folder" else folder / "tok" / "tokenizer.json"
        return train(folder, "sentiment", "--data", folder / "reviews.csv", f"model.tokenizer={chosen}")

    return write


def points(folder: Path) -> list[str]:
    rows = "".join(f"{a},{b},{3 * a - 2 * b}\n" for a in range(4) for b in range(4))
    (folder / "points.csv").write_text("a,b,café\n" + rows, encoding="utf-8")
    return train(folder, "linear-regression", "--data", folder / "points.csv")


def points_with_val(folder: Path) -> list[str]:
    args = points(folder)
    (folder / "val.csv").write_bytes((folder / "points.csv").read_bytes())
    return [*args, f"data.val_path={folder / 'val.csv'}"]


SENTENCES = [("ein café", "a café"), ("ein hund", "a dog"), ("eine katze", "a cat"), ("ein haus", "a house")] * 3


def parallel(folder: Path) -> list[str]:
    (folder / "pairs.de").write_text("".join(de + "\n" for de, _ in SENTENCES), encoding="utf-8")
    (folder / "pairs.en").write_text("".join(en + "\n" for _, en in SENTENCES), encoding="utf-8")
    return train(folder, "translation", "--data", f"{folder / 'pairs.de'},{folder / 'pairs.en'}")


def parallel_folder(folder: Path) -> list[str]:
    import gzip

    data = folder / "multi30k_de_en"
    data.mkdir()
    for index, lang in enumerate(("de", "en")):
        lines = "".join(pair[index] + "\n" for pair in SENTENCES).encode()
        (data / f"train.{lang}.gz").write_bytes(gzip.compress(lines))
        (data / f"val.{lang}").write_bytes(lines)
    return train(folder, "translation", "--data", data)


CNN = ("data.batch_size=4", "model.channels=[4]")


def image_folder(folder: Path) -> list[str]:
    images.image_folder(folder / "data", per_class=3, size=32)
    return train(folder, "classification", "--data", folder / "data", *CNN)


def jpeg_folder(folder: Path) -> list[str]:
    args = image_folder(folder)
    images.picture("dark", 9, size=32).save(folder / "data" / "dark" / "photo.jpg")
    return args


def image_table(name: str) -> Callable[[Path], list[str]]:
    def write(folder: Path) -> list[str]:
        path = images.table(folder / name, per_class=3)
        if name.endswith(".csv"):
            path.write_text(path.read_text().replace("dark0", "café0"), encoding="utf-8")
            (folder / "img" / "dark0.png").rename(folder / "img" / "café0.png")
        return train(folder, "classification", "--data", path, *CNN)

    return write


def image_datasets(folder: Path) -> list[str]:
    images.datasets_folder(folder / "hf", count=8)
    return train(folder, "classification", "--data", folder / "hf", *CNN)


def dataset_with_a_broken_image(folder: Path) -> list[str]:
    """A datasets folder whose row 3 holds bytes that are no image (decoded when the row is read)."""
    import io

    import datasets

    def png(index: int) -> bytes:
        buffer = io.BytesIO()
        images.picture(images.CLASSES[index % 2], index).save(buffer, format="PNG")
        return buffer.getvalue()

    features = datasets.Features({"img": datasets.Image(), "label": datasets.ClassLabel(names=list(images.CLASSES))})
    rows = {"img": [{"bytes": GARBAGE if n == 3 else png(n), "path": None} for n in range(8)], "label": [n % 2 for n in range(8)]}
    datasets.Dataset.from_dict(rows, features=features).save_to_disk(str(folder / "faces"))
    return train(folder, "classification", "--data", folder / "faces", *CNN)


def gan_images(folder: Path) -> list[str]:
    images.image_folder(folder / "data", per_class=4, size=16)
    tiny = ("model.width=4", "model.latent_dim=8", "data.batch_size=4", "metrics.features=none")
    return train(folder, "gan/dcgan", "--data", folder / "data", *tiny)


def mnist(compressed: bool) -> Callable[[Path], list[str]]:
    def write(folder: Path) -> list[str]:
        images.idx_files(folder / "mnist", count=8, compressed=compressed)
        return train(folder, "classification", "--data", folder / "mnist", *CNN)

    return write


def weights(name: str) -> Callable[[Path], list[str]]:
    """model.weights=folder/NAME: the network's state dict saved as .safetensors or with torch.save."""

    def write(folder: Path) -> list[str]:
        import torch

        import zoo

        args = image_folder(folder)
        state = zoo.create("classification", data=folder / "data", channels=[4]).net.state_dict()
        if name.endswith(".safetensors"):
            from safetensors.torch import save_file

            save_file(state, str(folder / name))
        else:
            torch.save(state, folder / name)
        return [*args, f"model.weights={folder / name}"]

    return write


def coco(folder: Path) -> list[str]:
    path = boxes.coco(folder / "coco")
    path.write_text(path.read_text().replace('"berry"', '"café"'), encoding="utf-8")
    return train(folder, "detection/yolo", "--data", path)


def voc(folder: Path) -> list[str]:
    boxes.voc(folder / "voc")
    xml = folder / "voc" / "Annotations" / "img3.xml"
    xml.write_text(xml.read_text().replace("<annotation>", "<annotation><source>café</source>"), encoding="utf-8")
    return train(folder, "detection/yolo", "--data", folder / "voc")


def yolo(with_yaml: bool) -> Callable[[Path], list[str]]:
    def write(folder: Path) -> list[str]:
        root = boxes.yolo(folder / "yolo", with_yaml=with_yaml)
        if with_yaml:
            spec = root / "data.yaml"
            text = spec.read_text().replace("names:\n  0: apple\n  1: berry\n", "names: [apple, berry]\n")
            spec.write_text("# les données du café\n" + text, encoding="utf-8")
        else:
            (root / "classes.txt").write_text("apple\nberry\ncafé\n", encoding="utf-8")
        return train(folder, "detection/yolo", "--data", root)

    return write


def box_table(folder: Path) -> list[str]:
    path = boxes.csv_boxes(folder / "boxes" / "boxes.csv")
    path.write_text(path.read_text().replace(",berry", ",café"), encoding="utf-8")
    return train(folder, "detection/yolo", "--data", path)


def config(folder: Path) -> list[str]:
    (folder / "run.yaml").write_text("# le café\ntask: linear-regression\ntrainer: {max_epochs: 1}\n", encoding="utf-8")
    return ["train", "--config", str(folder / "run.yaml"), "--output", str(folder / "runs")]


# The corpus ------------------------------------------------------------------------------------

TEXT = {"empty": empty, "binary": binary, "wrong_encoding": latin1, "utf16": utf16}  # damages every text format meets
ARROW_FILE = "hf/train/data-00000-of-00001.arrow"

CASES = [
    # config YAML (an empty config is a valid one)
    *file_cases("config-yaml", config, "run.yaml", truncated=cut_before("}"), binary=binary, wrong_encoding=latin1, utf16=utf16,
                wrong_shape=becomes("- task\n- linear-regression\n"), scalar=becomes("linear-regression\n")),
    # tables (zoo.tables), as sentiment, summarization and classification read them
    *file_cases("sentiment-csv", reviews("reviews.csv"), "reviews.csv", **TEXT, truncated=cut_before(",negative"),
                unclosed_quote=lambda data: data.replace(b"\nsuperb", b'\n"superb', 1)),
    *file_cases("sentiment-tsv", reviews("reviews.tsv"), "reviews.tsv", truncated=cut_before("\tnegative"), binary=binary),
    *file_cases("sentiment-tsv-gz", reviews("reviews.tsv.gz"), "reviews.tsv.gz", truncated=half, binary=binary, empty=empty),
    *file_cases("sentiment-jsonl", reviews("reviews.jsonl"), "reviews.jsonl", **TEXT, truncated=half,
                wrong_shape=becomes('["a gripping film", "positive"]\n["dull", "negative"]\n')),
    *file_cases("sentiment-json", reviews("reviews.json"), "reviews.json", truncated=half, empty=empty, wrong_encoding=latin1,
                wrong_shape=becomes("[1, 2, 3]")),
    *file_cases("sentiment-parquet", reviews("reviews.parquet"), "reviews.parquet", empty=empty, truncated=half, binary=binary),
    *file_cases("sentiment-split-folder", review_folder, "data/dev.csv", binary=binary, wrong_encoding=latin1),
    *file_cases("sentiment-datasets-dict-json", review_datasets, "hf/dataset_dict.json", empty=empty, wrong_shape=becomes("[]")),
    *file_cases("sentiment-datasets-state-json", review_datasets, "hf/train/state.json", truncated=half, binary=binary,
                wrong_shape=becomes("[]")),
    *file_cases("sentiment-datasets-arrow", review_datasets, ARROW_FILE, empty=empty, truncated=half, binary=binary),
    *file_cases("summarization-csv", documents("news.csv"), "news.csv", binary=binary, wrong_encoding=latin1, truncated=half),
    *file_cases("summarization-jsonl", documents("news.jsonl"), "news.jsonl", truncated=half, wrong_shape=becomes("5\n6\n")),
    *file_cases("classification-csv", image_table("images.csv"), "images.csv", utf16=utf16, wrong_encoding=latin1,
                truncated=cut_before(",light")),
    *file_cases("classification-jsonl", image_table("images.jsonl"), "images.jsonl", wrong_shape=becomes('"img/dark0.png"\n')),
    # linear regression's own CSV reader
    *file_cases("regression-csv", points, "points.csv", **TEXT, truncated=cut_before(",-"),
                unclosed_quote=cut_before("\n0,1", '\n"0,1')),
    *file_cases("regression-val-csv", points_with_val, "val.csv", binary=binary, truncated=cut_before(",-")),
    # translation's parallel text files and folders
    *file_cases("translation-parallel", parallel, "pairs.de", **TEXT),
    *file_cases("translation-parallel-target", parallel, "pairs.en", truncated=half),
    *file_cases("translation-folder-gz", parallel_folder, "multi30k_de_en/train.de.gz", truncated=half, binary=binary),
    # images: found by the survey before training, or while training (voc-jpeg: a JPEG whose header is whole)
    *file_cases("classification-png", image_folder, "data/dark/0.png", empty=empty, binary=binary, truncated=half),
    *file_cases("classification-jpeg", jpeg_folder, "data/dark/photo.jpg", empty=empty, truncated=half),
    *file_cases("classification-table-png", image_table("images.csv"), "img/light1.png", binary=binary),
    *file_cases("classification-datasets-arrow", image_datasets, "hf/data-00000-of-00001.arrow", truncated=half, binary=binary),
    *file_cases("classification-datasets-info-json", image_datasets, "hf/dataset_info.json", truncated=half),
    Case("classification-datasets-image-binary", dataset_with_a_broken_image, "faces [train] row 3"),
    *file_cases("gan-png", gan_images, "data/light/1.png", binary=binary, truncated=half),
    # MNIST IDX files
    *file_cases("idx-images", mnist(False), "mnist/train-images-idx3-ubyte", empty=empty, truncated=half, binary=binary,
                header_truncated=lambda data: data[:10]),
    *file_cases("idx-labels", mnist(False), "mnist/train-labels-idx1-ubyte", truncated=half, empty=empty),
    *file_cases("idx-images-gz", mnist(True), "mnist/train-images-idx3-ubyte.gz", truncated=half, binary=binary),
    # detection: COCO JSON, Pascal VOC XML, YOLO labels, names and data YAML, CSV of boxes
    *file_cases("coco-json", coco, "coco/instances.json", **TEXT, truncated=half,
                wrong_shape=lambda data: b"[" + data + b"]",
                images_number=edit_json(lambda document: document.update(images=5)),
                image_not_object=edit_json(lambda document: document.update(images=["img0.png"])),
                annotation_without_bbox=edit_json(lambda document: document["annotations"][0].pop("bbox")),
                bbox_strings=edit_json(lambda document: document["annotations"][0].update(bbox=["4", "4", "18", "16"])),
                image_id_list=edit_json(lambda document: document["annotations"][0].update(image_id=[1])),
                category_id_object=edit_json(lambda document: document["annotations"][0].update(category_id={"id": 1})),
                categories_object=edit_json(lambda document: document.update(categories={"1": "apple"}))),
    *file_cases("coco-png", coco, "coco/images/img3.png", binary=binary, truncated=half),
    *file_cases("voc-jpeg", voc, "voc/JPEGImages/img3.jpg", truncated=lambda data: data[:-200]),
    *file_cases("voc-xml", voc, "voc/Annotations/img3.xml", empty=empty, binary=binary, wrong_encoding=latin1, truncated=half,
                wrong_shape=lambda data: data.replace(b"<xmin>", b"<xmin><value>").replace(b"</xmin>", b"</value></xmin>")),
    *file_cases("voc-imagesets", voc, "voc/ImageSets/Main/train.txt", binary=binary, utf16=utf16),
    *file_cases("yolo-labels", yolo(True), "yolo/labels/train/img2.txt", binary=binary, utf16=utf16,
                wrong_encoding=lambda data: data + "1 0.5 0.5 0.2 0.2 # café\n".encode("latin-1"),
                truncated=cut_before(" ", " 0.5\n")),
    *file_cases("yolo-yaml", yolo(True), "yolo/data.yaml", **TEXT, truncated=cut_before("berry"),
                wrong_shape=becomes("- images/train\n- images/val\n"),
                names_number=lambda data: data.replace(b"[apple, berry]", b"5"),
                names_missing=lambda data: data.replace(b"names: [apple, berry]", b"classes: [apple, berry]"),
                train_list=lambda data: data.replace(b"train: images/train", b"train: [1, 2]")),
    *file_cases("yolo-names", yolo(False), "yolo/classes.txt", **TEXT),
    *file_cases("detection-csv", box_table, "boxes/boxes.csv", **TEXT, truncated=half),
    # a tokenizer given as model.tokenizer (a folder holding tokenizer.json, or the file)
    *file_cases("tokenizer-json", tokenizer("folder"), "tok/tokenizer.json", empty=empty, truncated=half, binary=binary,
                wrong_shape=becomes("[]"), model_number=edit_json(lambda document: document.update(model=5))),
    *file_cases("tokenizer-file", tokenizer("file"), "tok/tokenizer.json", truncated=half,
                wrong_encoding=becomes(b'{"caf\xe9": 1}')),
    # starting weights given as model.weights
    *file_cases("weights-safetensors", weights("start.safetensors"), "start.safetensors", empty=empty, truncated=half,
                binary=binary, wrong_header=lambda data: len(b"[1, 2]").to_bytes(8, "little") + b"[1, 2]"),
    *file_cases("weights-pt", weights("start.pt"), "start.pt", empty=empty, truncated=half, binary=binary,
                wrong_shape=lambda data: saved([1, 2]), python_object=lambda data: saved({"w": Path("start.pt")})),
]


# Model and run folders -------------------------------------------------------------------------


@functools.cache
def trained(task: str) -> Path:
    """A finished one-epoch run of `task`'s demo, trained once per test process."""
    import zoo

    output = Path(tempfile.mkdtemp(prefix="zoo-damaged-"))
    atexit.register(shutil.rmtree, output, ignore_errors=True)
    return zoo.train(task, output=output, max_epochs=1, progress=False).path


PREDICT_INPUTS = {"linear-regression": ["4"], "sentiment": ["a gripping film"]}


def shared_model(task: str) -> Callable[[Path], list[str]]:
    """folder/shared: a copy of a finished run's model/ folder, as someone shares it; predict with it."""

    def write(folder: Path) -> list[str]:
        shutil.copytree(trained(task) / "model", folder / "shared")
        return ["predict", str(folder / "shared"), *PREDICT_INPUTS[task]]

    return write


KILLED = "runs/linear-regression/linear/killed"


def predict_input(task: str, name: str, content: str) -> Callable[[Path], list[str]]:
    """folder/NAME (`content`) given to `zoo predict` of a finished run of `task`."""

    def write(folder: Path) -> list[str]:
        (folder / name).write_text(content, encoding="utf-8")
        given = ["--file", str(folder / name)] if task == "sentiment" else [str(folder / name)]
        return ["predict", str(trained(task)), *given]

    return write


def killed_run(folder: Path) -> list[str]:
    """folder/KILLED: a run as a kill after its last epoch leaves it (no model/, no
    metrics.json), which --resume finishes from its checkpoints."""
    shutil.copytree(trained("linear-regression"), folder / KILLED, ignore=shutil.ignore_patterns("model", "metrics.json"))
    return ["train", "--resume", str(folder / KILLED)]


def safetensors_of(tensors: dict) -> Damage:
    from safetensors.torch import save

    return lambda data: save(tensors)


def tensors(**shapes: int) -> dict:
    import torch

    return {name: torch.zeros(size) for name, size in shapes.items()}


CHECKPOINT = {"empty": empty, "truncated": half, "binary": binary}

CASES += [
    # model/config.json, model.safetensors and tokenizer.json of a shared model folder
    *file_cases("model-config-json", shared_model("linear-regression"), "shared/config.json", empty=empty, binary=binary,
                utf16=utf16, wrong_encoding=lambda data: data.replace(b"{", '{"caf\u00e9": 1,'.encode("latin-1"), 1), truncated=half,
                wrong_shape=becomes("[]"), no_config=becomes('{"zoo_version": "0.1.0"}'),
                no_model=edit_json(lambda document: document["config"].pop("model")),
                source_number=edit_json(lambda document: document["config"]["model"].update(source=5)),
                info_list=edit_json(lambda document: document.update(info=[])),
                unknown_task=edit_json(lambda document: document["config"].update(task="knitting")),
                hidden_text=edit_json(lambda document: document["config"]["model"].update(name="mlp", hidden="wide"))),
    *file_cases("model-safetensors", shared_model("linear-regression"), "shared/model.safetensors", **CHECKPOINT,
                other_weights=safetensors_of(tensors(**{"net.weight": 3}))),
    *file_cases("model-tokenizer-json", shared_model("sentiment"), "shared/tokenizer.json", **CHECKPOINT, utf16=utf16,
                wrong_shape=becomes("[]"), not_a_tokenizer=becomes('{"version": "1.0", "model": 5}')),
    # inputs given to zoo predict
    *file_cases("predict-lines", predict_input("sentiment", "lines.txt", "un café crème\nsuperb\n"), "lines.txt", binary=binary,
                wrong_encoding=latin1, utf16=utf16),
    *file_cases("predict-csv", predict_input("linear-regression", "rows.csv", "x\n1\n2\n"), "rows.csv", binary=binary,
                utf16=lambda data: data.decode().encode("utf-16"), truncated=becomes("x,y\n1")),
    # a run resumed with --resume: its checkpoints and config.yaml
    *file_cases("last-ckpt", killed_run, f"{KILLED}/checkpoints/last.ckpt", **CHECKPOINT,
                raw_pickle=lambda data: pickle.dumps({"epoch": 0, "state_dict": {}}),
                python_object=lambda data: saved({"epoch": 0, "state_dict": {}, "hyper_parameters": {"path": Path("x")}}),
                tensors_only=lambda data: saved(tensors(w=3)), json=becomes('{"epoch": 0}')),
    *file_cases("best-ckpt", killed_run, f"{KILLED}/checkpoints/best.ckpt", **CHECKPOINT, tensors_only=lambda data: saved(tensors(w=3))),
    *file_cases("run-config-yaml", killed_run, f"{KILLED}/config.yaml", binary=binary, truncated=half, utf16=utf16,
                wrong_shape=becomes("- task\n")),
]


def test_cases_have_distinct_ids():
    ids = [case.id for case in CASES]
    assert len(set(ids)) == len(ids) >= 60


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_damaged_file(case: Case, tmp_path: Path, zoo_cli) -> None:
    """One line naming the file (as a terminal shows stderr: a progress bar erases itself),
    exit status 2, no traceback, no run folder that looks finished."""
    assert_user_error(zoo_cli(*case.build(tmp_path)), case.name)
    assert not finished_runs(tmp_path / "runs")


@pytest.mark.parametrize("damage", [empty, half, binary, becomes("[]")], ids=["empty", "truncated", "binary", "wrong-shape"])
def test_damaged_file_data_info(damage: Damage, tmp_path: Path, zoo_cli, monkeypatch) -> None:
    """data_info.json, as a process that joins rank 0 on another device reads it."""
    from zoo.run import DATA_INFO, RUN_DIR_ENV

    killed_run(tmp_path)
    run = tmp_path / KILLED
    (run / DATA_INFO).write_bytes(damage((run / DATA_INFO).read_bytes()))
    monkeypatch.setenv(RUN_DIR_ENV, str(run))
    assert_user_error(zoo_cli("train", "--config", run / "config.yaml"), DATA_INFO)
    assert not finished_runs(tmp_path / "runs")
