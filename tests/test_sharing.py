"""Sharing through the Hugging Face Hub, with no network: the download path on a Hub cache laid
out in a temporary folder (the tests run with HF_HUB_OFFLINE=1), the upload path against an
HfApi that records what it is asked to do."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import huggingface_hub
import pytest
import yaml
from huggingface_hub import constants

import zoo
from tests.serving import call, serving
from tests.test_errors import assert_user_error

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache of this test's own."""
    cache = tmp_path / "hub-cache"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def cached(cache: Path, repo: str, model: Path, revision: str = "main") -> Path:
    """`model` (a model/ folder) laid out as snapshot_download leaves a download of `repo`."""
    root = cache / f"models--{repo.replace('/', '--')}"
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / revision).write_text(COMMIT)
    snapshot = root / "snapshots" / COMMIT
    shutil.copytree(model, snapshot, dirs_exist_ok=True)
    return snapshot


def test_a_hub_model_predicts_evaluates_and_loads_from_the_cache(zoo_cli, trained_run: Path, hub_cache: Path, tmp_path: Path, monkeypatch):
    cached(hub_cache, "someone/line", trained_run / "model")
    local = json.loads(zoo_cli("predict", trained_run, "4", "--json").out)
    for name in ("hf://someone/line", "hf://someone/line@main"):
        result = zoo_cli("predict", name, "4", "--json")
        assert result.code == 0, result.err
        assert json.loads(result.out) == local
    assert zoo.load("hf://someone/line").predict([[5.0]]) == pytest.approx(zoo.load(trained_run).predict([[5.0]]))
    with serving("hf://someone/line") as url:
        assert call(url + "/predict", {"inputs": [4]})[1] == local
        assert call(url + "/info")[1]["source"] == "hf://someone/line"
    data = tmp_path / "eval.csv"
    data.write_text("x,y\n4,8\n5,10\n", encoding="utf-8")
    assert json.loads(zoo_cli("evaluate", "hf://someone/line", "--data", data, "--json").out)["rows"] == 2
    monkeypatch.chdir(tmp_path)  # an export of a Hub model goes to the working folder, not into the cache
    exported = json.loads(zoo_cli("export", "hf://someone/line", "--format", "pt2", "--json").out)
    assert Path(exported["path"]).resolve() == (tmp_path / "export" / "model.pt2").resolve()


def test_a_hub_model_not_in_the_cache_offline_is_one_line(zoo_cli, hub_cache: Path):
    assert_user_error(zoo_cli("predict", "hf://someone/absent", "4"), "hf://someone/absent is not in the Hugging Face cache, and the Hub cannot be reached",
                      "run the command once with a connection")
    assert_user_error(zoo_cli("predict", "hf://no-slash", "4"), "'hf://no-slash' is not a Hub model name", "hf://ORG/NAME")


def test_a_hub_model_carrying_code_follows_the_trust_rule(zoo_cli, trained_run: Path, hub_cache: Path, tmp_path: Path):
    model = tmp_path / "model"
    shutil.copytree(trained_run / "model", model)
    saved = json.loads((model / "config.json").read_text())
    saved["config"]["model"]["source"] = "model.py:Net"
    (model / "config.json").write_text(json.dumps(saved))
    (model / "model.py").write_text("raise SystemExit('this must not run')\n")
    cached(hub_cache, "someone/coded", model)
    assert_user_error(zoo_cli("predict", "hf://someone/coded", "4"), "model.py is Python code that loading this model would run", "--trust-code")


class RecordingHub:
    """HfApi's create_repo, create_branch and upload_folder, recorded instead of sent."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.uploaded: dict[str, str] = {}

    def create_repo(self, _api, repo_id, **options):
        self.calls.append(("create_repo", {"repo_id": repo_id, **options}))
        return f"https://huggingface.co/{repo_id}"

    def create_branch(self, _api, repo_id, **options):
        self.calls.append(("create_branch", {"repo_id": repo_id, **options}))

    def upload_folder(self, _api, **options):
        self.calls.append(("upload_folder", {k: v for k, v in options.items() if k != "folder_path"}))
        folder = Path(options["folder_path"])
        self.uploaded = {str(p.relative_to(folder)): p.read_text(encoding="utf-8", errors="replace") for p in folder.rglob("*") if p.is_file()}


def test_push_uploads_the_model_folder_with_hub_metadata_on_its_card(zoo_cli, trained_run: Path, monkeypatch):
    hub = RecordingHub()
    for name in ("create_repo", "create_branch", "upload_folder"):
        monkeypatch.setattr(huggingface_hub.HfApi, name, lambda api, *args, _name=name, **kwargs: getattr(hub, _name)(api, *args, **kwargs))
    result = zoo_cli("push", trained_run, "someone/line", "--private", "--revision", "v1", "--json")
    assert result.code == 0, result.err
    pushed = json.loads(result.out)
    assert pushed["repo"] == "someone/line" and pushed["revision"] == "v1"
    assert [name for name, _ in hub.calls] == ["create_repo", "create_branch", "upload_folder"]
    assert hub.calls[0][1] == {"repo_id": "someone/line", "private": True, "exist_ok": True}
    assert hub.calls[2][1]["repo_id"] == "someone/line" and hub.calls[2][1]["revision"] == "v1"
    assert sorted(hub.uploaded) == sorted(p.name for p in (trained_run / "model").iterdir()) == pushed["files"]
    card = hub.uploaded["README.md"]
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["library_name"] == "zoo" and header["pipeline_tag"] == "tabular-regression"
    assert {"zoo", "linear-regression", "linear-regression/linear"} <= set(header["tags"]) and "mse" in header["metrics"]
    assert card.split("---\n", 2)[2].lstrip() == (trained_run / "model" / "README.md").read_text()  # the card itself, unchanged below
    assert "---" not in (trained_run / "model" / "README.md").read_text()[:3]  # the run's own card is left as it was
    assert_user_error(zoo_cli("push", trained_run, "not-a-repo"), "'not-a-repo' is not a Hub repository name", "write ORG/NAME")


def test_a_push_that_cannot_reach_the_hub_or_is_refused_is_one_line(zoo_cli, trained_run: Path, monkeypatch):
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    assert_user_error(zoo_cli("push", trained_run, "someone/line"), "cannot push to someone/line: HF_HUB_OFFLINE is set", "unset HF_HUB_OFFLINE")
    failures = {
        "cannot reach the Hugging Face Hub to push to someone/line: [Errno -2] Name or service not known": httpx2.ConnectError("[Errno -2] Name or service not known"),
        "the Hub refused the push to someone/line: 401 Unauthorized": HfHubHTTPError("401 Unauthorized\nmore lines", response=httpx2.Response(401, request=httpx2.Request("POST", "https://huggingface.co/api/repos/create"))),
    }
    for message, failure in failures.items():
        monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", lambda api, *args, _failure=failure, **kwargs: (_ for _ in ()).throw(_failure))
        assert_user_error(zoo_cli("push", trained_run, "someone/line"), message, "hf auth login" if "refused" in message else "check the connection")
