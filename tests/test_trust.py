"""Code a model folder carries runs only when the user says so, and only from inside the folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import zoo
from tests.serving import call, serving
from tests.test_errors import assert_user_error

NET = """
from pathlib import Path
from torch import nn

Path({marker!r}).open("a").write(__file__ + "\\n")  # proof that this file ran, and from where


class Net(nn.Module):
    def __init__(self, in_features, out_features=1):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x):
        return self.linear(x)
"""


@pytest.fixture
def code_folder(tmp_path: Path) -> tuple[Path, Path]:
    """(model/ folder of a run trained from the user's net.py, the file its code writes to)."""
    marker = tmp_path / "ran.txt"
    (tmp_path / "net.py").write_text(NET.format(marker=str(marker)), encoding="utf-8")
    run = zoo.train("linear-regression", output=tmp_path / "runs", max_epochs=2, progress=False,
                    overrides={"model.source": f"{tmp_path / 'net.py'}:Net", "model.name": "mine"})
    marker.unlink()  # training ran it: the user named it
    return run.path / "model", marker


def test_carried_code_never_runs_without_trust(zoo_cli, code_folder):
    folder, marker = code_folder
    for args in (["predict", folder, "4"], ["evaluate", folder.parent], ["export", folder, "--format", "pt2"], ["serve", folder, "--port", "0"]):
        assert_user_error(zoo_cli(*args), f"{folder / 'net.py'} is Python code that loading this model would run", "--trust-code")
    with pytest.raises(zoo.ZooError, match="trust_code=True"):
        zoo.load(folder)
    assert not marker.exists()
    assert "--trust-code" in (folder / "README.md").read_text()  # the model card says how to load it


def test_trusted_code_runs_from_inside_the_folder(zoo_cli, code_folder):
    folder, marker = code_folder
    result = zoo_cli("predict", folder, "--trust-code", "4", "--json")
    assert result.code == 0, result.err
    assert marker.read_text().splitlines() == [str((folder / "net.py").resolve())]
    assert zoo.load(folder, trust_code=True).predict([[4.0]])
    with serving(folder, trust_code=True) as url:  # the user's own model serves like any other
        assert call(url + "/predict", {"inputs": [4]})[1] == json.loads(result.out)


@pytest.mark.parametrize("place", ["absolute", "dotdot", "symlink"])
def test_code_outside_the_folder_is_refused_even_when_trusted(zoo_cli, code_folder, tmp_path, place):
    folder, marker = code_folder
    outside = tmp_path / "net.py"
    config = json.loads((folder / "config.json").read_text())
    if place == "symlink":
        (folder / "net.py").unlink()
        (folder / "net.py").symlink_to(outside)
    else:
        config["config"]["model"]["source"] = f"{outside}:Net" if place == "absolute" else "../../net.py:Net"
    (folder / "config.json").write_text(json.dumps(config))
    assert_user_error(zoo_cli("predict", folder, "--trust-code", "4"), "points outside the model folder")
    with pytest.raises(zoo.ZooError, match="outside the model folder"):
        zoo.load(folder, trust_code=True)
    assert not marker.exists()


def test_an_installed_module_named_by_a_folder_is_not_imported_unasked(zoo_cli, trained_run, tmp_path):
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(trained_run / "model", folder)
    config = json.loads((folder / "config.json").read_text())
    config["config"]["model"]["source"] = "antigravity:fly"  # importing it opens a web browser
    (folder / "config.json").write_text(json.dumps(config))
    assert_user_error(zoo_cli("predict", folder, "4"), "asks to import 'antigravity:fly'", "--trust-code")
