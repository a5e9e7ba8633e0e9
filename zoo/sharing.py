"""Models shared through the Hugging Face Hub: `zoo push RUN ORG/NAME` uploads a run's model/
folder (with Hub metadata on its card), and `hf://ORG/NAME[@revision]` names one wherever a run
folder is taken, downloaded into the Hub cache once and read from there afterwards, offline too.
huggingface_hub is imported only when one is used."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zoo import __version__
from zoo.errors import ZooError
from zoo.files import read_json

PREFIX = "hf://"
PIPELINE_TAGS = {  # a task's Hub pipeline tag, so the Hub lists its models with their kind
    "linear-regression": "tabular-regression",
    "classification": "image-classification",
    "detection": "object-detection",
    "sentiment": "text-classification",
    "translation": "translation",
    "summarization": "summarization",
    "gan": "unconditional-image-generation",
}
CARD = "README.md"


def is_hub(name: str | Path) -> bool:
    return isinstance(name, str) and name.startswith(PREFIX)


def parse(name: str) -> tuple[str, str | None]:
    """(repo id, revision or None) of `hf://ORG/NAME[@revision]`."""
    repo, _, revision = name.removeprefix(PREFIX).partition("@")
    if not _repo_id(repo):
        raise ZooError(f"{name!r} is not a Hub model name", "write hf://ORG/NAME, or hf://ORG/NAME@REVISION")
    return repo, revision or None


def _repo_id(repo: str) -> bool:
    """Whether `repo` has the shape of a Hub repository id, ORG/NAME."""
    return repo.count("/") == 1 and all(repo.split("/"))


def download(name: str) -> Path:
    """The local folder of Hub model `name`: downloaded into the Hub cache the first time (only
    what zoo reads), read from the cache afterwards and whenever the Hub cannot be reached."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    repo, revision = parse(name)
    try:
        return Path(snapshot_download(repo, revision=revision, library_name="zoo", library_version=__version__))
    except RepositoryNotFoundError:
        raise ZooError(f"{name}: no model {repo} on the Hub", "check the name; a private model needs `hf auth login` first") from None
    except RevisionNotFoundError:
        raise ZooError(f"{name}: the model has no revision {revision!r}", "name a branch, tag or commit it has") from None
    except LocalEntryNotFoundError:
        raise ZooError(f"{name} is not in the Hugging Face cache, and the Hub cannot be reached",
                       "run the command once with a connection (and HF_HUB_OFFLINE unset) to download it") from None


def push(run: str | Path, repo: str, *, private: bool = False, revision: str | None = None) -> dict[str, Any]:
    """Upload the model/ folder of `run` to Hub repo `repo` (ORG/NAME), created when missing,
    on branch `revision` (created when missing) or main; its card gains the Hub's metadata."""
    from huggingface_hub import HfApi

    from zoo.run import model_dir

    if not _repo_id(repo):
        raise ZooError(f"{repo!r} is not a Hub repository name", "write ORG/NAME: your user or organization, a slash, the model's name")
    folder = model_dir(run)
    api = HfApi(library_name="zoo", library_version=__version__)
    with tempfile.TemporaryDirectory(prefix="zoo-push-") as staging:
        staged = Path(staging) / "model"
        shutil.copytree(folder, staged)
        card = staged / CARD
        card.write_text(front_matter(folder) + card.read_text(encoding="utf-8"), encoding="utf-8")
        with _hub_errors(repo):
            url = api.create_repo(repo, private=private, exist_ok=True)
            if revision:
                api.create_branch(repo, branch=revision, exist_ok=True)
            commit = api.upload_folder(repo_id=repo, folder_path=staged, revision=revision,
                                       commit_message=f"Upload {folder.name} with zoo {__version__}")
        files = sorted(str(path.relative_to(staged)) for path in staged.rglob("*") if path.is_file())
    return {"repo": repo, "url": str(url), "revision": revision or "main", "commit": getattr(commit, "oid", None), "files": files}


@contextlib.contextmanager
def _hub_errors(repo: str) -> Iterator[None]:
    """The Hub's refusals and an unreachable Hub, while pushing to `repo`, as ZooErrors."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    from zoo.files import first_line

    try:
        yield
    except OfflineModeIsEnabled:
        raise ZooError(f"cannot push to {repo}: HF_HUB_OFFLINE is set", "unset HF_HUB_OFFLINE and push again") from None
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else None
        hint = {401: "log in with a token that may write (`hf auth login`)", 403: "log in with a token that may write to it (`hf auth login`)",
                404: "check the repository's name: ORG is your user or an organization of yours"}.get(status, "try again later" if status in (429, 500, 502, 503, 504) else None)
        raise ZooError(f"the Hub refused the push to {repo}: {first_line(error)}", hint) from None
    except Exception as error:
        if not (isinstance(error, OSError) or any(kind.__name__ == "TransportError" for kind in type(error).__mro__)):  # httpx's: no connection, DNS, timeout
            raise
        raise ZooError(f"cannot reach the Hugging Face Hub to push to {repo}: {first_line(error)}", "check the connection and push again") from None


def front_matter(folder: Path) -> str:
    """The card's YAML header for the Hub: library, task tags and pipeline tag, metrics."""
    from huggingface_hub import ModelCardData

    saved = read_json(folder / "config.json", "a zoo model config")
    config, metrics = saved.get("config") or {}, saved.get("metrics") or {}
    task = config["task"]
    data = ModelCardData(
        library_name="zoo",
        tags=["zoo", task, f"{task}/{config['model']['name']}"],
        pipeline_tag=PIPELINE_TAGS.get(task),
        metrics=sorted({name for values in metrics.values() for name in values}),
    )
    return f"---\n{data.to_yaml()}\n---\n\n"
