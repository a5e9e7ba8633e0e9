"""A new user's data mistakes, told at once: paths and a table's header checked before torch and
Lightning are imported, and a file's bad rows named together; small data validated on every class."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import REPO, write_csv
from tests.images import image_folder, table
from tests.test_startup import HEAVY, PROBE
from zoo import tables
from zoo.errors import ZooError
from zoo.training import check_inputs, resolve_config


def light_run(*args: object) -> tuple[str, str]:
    """(the error line, the heavy modules imported) of `zoo ARGS` in a new process."""
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=set(HEAVY)), *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=60)
    errors = [line for line in done.stderr.splitlines() if line.startswith("zoo: error: ")]
    heavy = [line for line in done.stderr.splitlines() if line.startswith("HEAVY:")]
    assert len(errors) == 1 and len(heavy) == 1, done.stderr
    return errors[0], heavy[0].removeprefix("HEAVY:").strip()


@pytest.fixture
def numbers_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "numbers.csv", "x1,x2,y", [(i, 2 * i, 3 * i) for i in range(20)])


@pytest.mark.parametrize(
    ("case", "fragments"),
    [
        ("missing-data", ["data.path: ", "nowhere does not exist", "check the path"]),
        ("missing-val", ["data.val_path: ", "val.csv does not exist"]),
        ("misnamed-target", ["numbers.csv has no target column 'yy' (data.target); did you mean 'y'?"]),
        ("misnamed-feature", ["numbers.csv has no feature column 'x3' (data.features)"]),
        ("misnamed-label", ["reviews.tsv has no label column 'star' (data.label_column); did you mean 'stars'?"]),
        ("binary-csv", ["binary.csv is a binary file, not text"]),
        ("missing-target-language", ["data.path: ", "pairs.en does not exist"]),
        ("misnamed-jsonl-label", ["reviews.jsonl.gz has no label column 'star' (data.label_column); did you mean 'stars'?"]),
        ("misnamed-parquet-target", ["numbers.parquet has no target column 'yy' (data.target); did you mean 'y'?"]),
        ("no-usual-label", ["reviews.tsv has no label column (looked for label, labels, sentiment", "name one with data.label_column=COLUMN"]),
        ("no-usual-source", ["pairs.jsonl.gz has no source column (looked for source, src, input); its columns are de, en"]),
    ],
)
def test_mistakes_found_before_torch_is_imported(tmp_path, numbers_csv, case, fragments):
    (tmp_path / "reviews.tsv").write_text("text\tstars\ngood\t5\n", encoding="utf-8")
    (tmp_path / "binary.csv").write_bytes(b"x,y\n\0\0\1\2")
    (tmp_path / "pairs.de").write_text("hallo\n", encoding="utf-8")
    (tmp_path / "reviews.jsonl.gz").write_bytes(gzip.compress(b'\n{"text": "good", "stars": 5}\n{"text": "bad", "stars": 1}\n'))
    pq.write_table(pa.table({"x1": [1.0, 2.0], "y": [2.0, 4.0]}), tmp_path / "numbers.parquet")
    (tmp_path / "pairs.jsonl.gz").write_bytes(gzip.compress(b'{"de": "hallo", "en": "hello"}\n'))
    regression = ["train", "linear-regression", "--data", numbers_csv]
    args = {
        "missing-data": ["train", "classification", "--data", tmp_path / "nowhere"],
        "missing-val": [*regression, f"data.val_path={tmp_path / 'val.csv'}"],
        "misnamed-target": [*regression, "--target", "yy"],
        "misnamed-feature": [*regression, "data.features=x1, x3"],
        "misnamed-label": ["train", "sentiment", "--data", tmp_path / "reviews.tsv", "data.label_column=star"],
        "binary-csv": ["train", "linear-regression", "--data", tmp_path / "binary.csv"],
        "missing-target-language": ["train", "translation", "--data", f"{tmp_path / 'pairs.de'},{tmp_path / 'pairs.en'}"],
        "misnamed-jsonl-label": ["train", "sentiment", "--data", tmp_path / "reviews.jsonl.gz", "data.label_column=star"],
        "misnamed-parquet-target": ["train", "linear-regression", "--data", tmp_path / "numbers.parquet", "--target", "yy"],
        "no-usual-label": ["train", "sentiment", "--data", tmp_path / "reviews.tsv"],  # its label column has no usual name
        "no-usual-source": ["train", "translation", "--data", tmp_path / "pairs.jsonl.gz"],
    }[case]
    error, heavy = light_run(*args, "--output", tmp_path / "runs")
    assert heavy == ""
    for fragment in fragments:
        assert fragment in error, error
    assert not (tmp_path / "runs").exists()


def test_the_early_check_passes_good_inputs(tmp_path, numbers_csv):
    check_inputs(*resolve_config("linear-regression", data=numbers_csv, target="y", overrides={"data.features": ["x1", "x2"]}))
    (tmp_path / "pairs.de").write_text("hallo\n", encoding="utf-8")
    (tmp_path / "pairs.en").write_text("hello\n", encoding="utf-8")
    check_inputs(*resolve_config("translation", data=f"{tmp_path / 'pairs.de'},{tmp_path / 'pairs.en'}"))
    jsonl = tmp_path / "rows.jsonl"  # JSON lines may name a column first on a later line: read whole, later
    jsonl.write_text('{"x": 1}\n{"x": 2, "y": 3}\n', encoding="utf-8")
    check_inputs(*resolve_config("linear-regression", data=jsonl, target="y"))


def error_lines(result) -> list[str]:
    assert result.code == 2 and result.out == "" and "Traceback" not in result.err, result.err
    return result.err.strip().splitlines()


def test_a_files_bad_rows_are_named_in_one_error(zoo_cli, tmp_path):
    rows: list[tuple[object, ...]] = [(i, 2 * i, 3 * i) for i in range(30)]
    for i in (3, 7, 11, 12, 20, 25, 28):
        rows[i] = (i, f"bad{i}", 3 * i)
    rows[7] = (7, "bad7", "")  # two bad cells, one line
    data = write_csv(tmp_path / "data.csv", "x1,x2,y", rows)
    lines = error_lines(zoo_cli("train", "linear-regression", "--data", data, "--output", tmp_path / "runs"))
    assert lines == [
        f"zoo: error: {data} has 7 bad rows:",
        f"  {data}:5: column 'x2' holds 'bad3', not a number",
        f"  {data}:9: column 'x2' holds 'bad7', not a number; column 'y' is empty",
        f"  {data}:13: column 'x2' holds 'bad11', not a number",
        f"  {data}:14: column 'x2' holds 'bad12', not a number",
        f"  {data}:22: column 'x2' holds 'bad20', not a number",
        "  and 2 more; fix or remove those rows",
    ]
    assert not (tmp_path / "runs").exists()


def test_bad_numbers_and_rows_of_the_wrong_length_are_named_in_one_error(zoo_cli, tmp_path):
    data = tmp_path / "reg.csv"
    data.write_text("x,y\n1,2\n2,4\n3,6\n4,8\n5,1O\n6,12\n3,4,9\n7\n8,nan\n9,18\n", encoding="utf-8")
    lines = error_lines(zoo_cli("train", "linear-regression", "--data", data, "--output", tmp_path / "runs"))
    assert lines == [
        f"zoo: error: {data} has 4 bad rows:",
        f"  {data}:6: column 'y' holds '1O', not a number",
        f"  {data}:8: 3 cells, but the header has 2 columns",
        f"  {data}:9: 1 cell, but the header has 2 columns",
        f"  {data}:10: column 'y' holds 'nan', not a number; fix or remove those rows (a wrong number of cells: a stray separator or quote?)",
    ]
    assert not (tmp_path / "runs").exists()
    # --target and --features choose the columns that must be numbers; the others may hold anything
    named = tmp_path / "named.csv"
    named.write_text("note,x,y\nok,1,2\n,2,1_000\nfine,3,6,7\n", encoding="utf-8")
    lines = error_lines(zoo_cli("train", "linear-regression", "--data", named, "--target", "y", "data.features=x", "--output", tmp_path / "runs"))
    assert lines[1:] == [
        f"  {named}:3: column 'y' holds '1_000', not a number",
        f"  {named}:4: 4 cells, but the header has 3 columns; fix or remove those rows (a wrong number of cells: a stray separator or quote?)",
    ]


def test_bad_rows_are_placed_by_line_in_one_pass(tmp_path):
    data = tmp_path / "quoted.csv"
    data.write_text('text,label\n"two\nlines",a\n\nplain,\n"three\nmore\nlines",\nlast,b\n', encoding="utf-8")
    found = tables.read_table(data)
    assert found.places_of([3, 1, 2]) == [f"{data}:9", f"{data}:5", f"{data}:6"]
    problems = tables.Problems(found)
    problems.add([1, 2], lambda row: f"row {row} has no label")
    with pytest.raises(ZooError) as raised:
        problems.check("label it", "label them")
    assert str(raised.value) == f"{data} has 2 bad rows:\n{data}:5: row 1 has no label\n{data}:6: row 2 has no label; label them"
    one = tables.Problems(found)
    one.add([2], lambda row: "no label")
    with pytest.raises(ZooError, match=f"^{data}:6: no label; label it$"):
        one.check("label it", "label them")
    tables.Problems(found).check("nothing to say")


def test_image_labels_training_never_saw_are_named_together(tmp_path):
    from zoo.images import FileImages, LabelledImages, encode

    paths = [tmp_path / "val" / label / f"{i}.png" for i, label in enumerate(["cat", "zebra", "dog", "emu", *["yak"] * 5])]
    split = LabelledImages(str(tmp_path / "val"), FileImages(paths), [p.parent.name for p in paths], [str(p.parent) for p in paths])
    with pytest.raises(ZooError) as raised:
        encode(split, ["cat", "dog"])
    shown = [f"{p.parent}: label {p.parent.name!r} does not occur in the training data ({p})" for p in paths[1:2] + paths[3:7]]
    assert str(raised.value) == "\n".join([f"{tmp_path / 'val'} has 7 bad rows:", *shown, "and 2 more; the training classes are cat, dog"])
    assert encode(LabelledImages("ok", FileImages(paths[:1]), ["dog"], ["ok"]), ["cat", "dog"]) == [1]


def test_image_table_rows_without_images_or_labels_are_named_together(zoo_cli, tmp_path):
    csv = table(tmp_path / "labels.csv")
    (tmp_path / "img" / "light3.png").unlink()
    (tmp_path / "img" / "dark1.png").unlink()
    lines = csv.read_text(encoding="utf-8").splitlines()
    lines[5] = "img/dark4.png,"
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    err = error_lines(zoo_cli("train", "classification", "--data", csv, "--output", tmp_path / "runs"))
    assert err[0] == f"zoo: error: {csv} has 3 bad rows:" and len(err) == 4
    assert err[1].startswith(f"  {csv}:3: image ") and err[1].endswith("dark1.png does not exist")
    assert err[2] == f"  {csv}:6: 'label' is empty"
    assert err[3].startswith(f"  {csv}:11: image ") and "light3.png does not exist; fill in the cells" in err[3]


def test_unlabelled_texts_are_named_together(zoo_cli, tmp_path):
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\n" + "".join(f"review {i},{'' if i in (2, 5) else i % 2}\n" for i in range(12)), encoding="utf-8")
    err = error_lines(zoo_cli("train", "sentiment", "--data", data, "--output", tmp_path / "runs"))
    assert err == [f"zoo: error: {data} has 2 bad rows:", f"  {data}:4: the 'label' cell is empty or NaN",
                   f"  {data}:7: the 'label' cell is empty or NaN; label the rows or remove them"]


def build(task: str, data: Path | None):
    from zoo.plugins import load_ref

    found, config = resolve_config(task, data=data)
    return load_ref(found.data_of(config["model"]))(config)


def test_small_image_data_validates_on_every_class(tmp_path):
    root = image_folder(tmp_path / "data", per_class=30)
    (root / "medium").mkdir()
    for label, n in [("dark", n) for n in range(10)] + [("light", n) for n in range(14)]:
        (root / label / f"{n}.png").rename(root / "medium" / f"{label}{n}.png")  # 20, 16 and 24 images
    bundle = build("classification", root)
    held = [bundle.val.targets[i] for i in bundle.val.indices]
    assert sorted(held) == [0, 0, 1, 1, 2, 2]  # dark, light, medium: shares 2, 1.6 and 2.4 of 6, the largest remainder rounded up
    assert any("of the training images (6), stratified by class" in note for note in bundle.notes), bundle.notes
    assert any(note.startswith("validation is too small to trust: 6 images") and "cover" not in note for note in bundle.notes), bundle.notes


def test_small_text_data_validates_on_every_class(tmp_path):
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\n" + "".join(f"review number {i},{('bad', 'good', 'mixed')[i % 3]}\n" for i in range(60)), encoding="utf-8")
    bundle = build("sentiment", data)
    assert sorted(bundle.val.targets[bundle.val.indices].tolist()) == [0, 0, 1, 1, 2, 2]
    assert any(note.startswith("validation is too small to trust: 6 texts") for note in bundle.notes), bundle.notes
    assert not any("cover" in note for note in bundle.notes)
    assert json.dumps(bundle.info["rows"]) == '{"train": 54, "val": 6}'


def test_validation_labels_training_never_saw_are_named_together(zoo_cli, tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("text,label\n" + "".join(f"review {i},{('bad', 'good')[i % 2]}\n" for i in range(12)), encoding="utf-8")
    val = tmp_path / "val.csv"
    val.write_text("text,label\nfine,good\nmeh,okay\n\nawful,bda\nnice,good\n", encoding="utf-8")
    err = error_lines(zoo_cli("train", "sentiment", "--data", train, f"data.val_path={val}", "--output", tmp_path / "runs"))
    assert err == [f"zoo: error: {val} has 2 bad rows:", f"  {val}:3: label 'okay' does not occur in the training data",
                   f"  {val}:5: label 'bda' does not occur in the training data; the training labels are bad, good"]


def test_the_demos_carry_no_small_validation_warning_and_small_pairs_do(tmp_path):
    """The embedded demos are small on purpose; a user's few pairs are warned about like few images."""
    for task in ("classification", "sentiment", "translation"):
        assert not any("too small to trust" in note for note in build(task, None).notes), task
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(f'{{"source": "satz {i}", "target": "sentence {i}"}}\n' for i in range(30)), encoding="utf-8")
    notes = build("translation", pairs).notes
    assert any(note.startswith("validation is too small to trust: 3 pairs") for note in notes), notes
