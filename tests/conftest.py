"""Shared fixtures: tiny data made on the spot, the CLI run in-process, one trained run."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import zoo_cli as cli

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Many tests start processes that import torch and Lightning again (an application's own tests,
# DDP's second process, a run killed on purpose). Where PYTHONDONTWRITEBYTECODE is set each of
# them compiles those packages anew (17 s of CPU here, 7 s from bytecode): the test session
# writes bytecode on first import instead, and every later process reads it.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False
if os.environ.get("PYTEST_XDIST_WORKER"):
    # The workers (pytest -n, one per core) share the cores: a thread each, or their thread
    # pools spin against each other. Set before torch is imported.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parent.parent
# The data cache of this test session (each worker its own): tests neither read a user's cache
# nor leave entries in it. Test processes inherit it.
os.environ["ZOO_CACHE"] = tempfile.mkdtemp(prefix="zoo-cache-")
atexit.register(shutil.rmtree, os.environ["ZOO_CACHE"], True)


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def zoo_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run `zoo ARGS...` in this process (Lightning imports once per test session)."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = cli.main([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def ctrl_c() -> Iterator[None]:
    """Ctrl-C reaches this test's process and the processes it starts (they inherit it): SIGINT
    unblocked, with Python's handler. A test worker was seen, now and then, holding SIGINT
    blocked or ignored (what left it so is not known), and then a Ctrl-C test waited forever."""
    mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def zoo_process(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: int = 300) -> Result:
    """Run the installed `zoo` console script in a new process."""
    command = [str(Path(sys.executable).with_name("zoo")), *map(str, args)]
    done = subprocess.run(command, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout)
    return Result(done.returncode, done.stdout, done.stderr)


def write_csv(path: Path, header: str, rows: list[tuple[float, ...]]) -> Path:
    path.write_text(header + "\n" + "\n".join(",".join(str(v) for v in row) for row in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def points_csv(tmp_path: Path) -> Path:
    """40 rows of y = 3a - 2b + 1, exactly."""
    rows = [(a, b, 3 * a - 2 * b + 1) for a in range(8) for b in range(5)]
    return write_csv(tmp_path / "points.csv", "a,b,y", rows)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo linear regression, trained once for the tests that only read a run."""
    import zoo

    output = tmp_path_factory.mktemp("runs")
    return zoo.train("linear-regression", output=output, progress=False).path


def finished_runs(output: Path) -> list[Path]:
    """Run folders under `output` that look finished (model/ and metrics.json)."""
    return [p.parent for p in output.rglob("metrics.json") if (p.parent / "model").is_dir()]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line counting the damaged-file cases that passed (each: one line, exit 2)."""
    passed = [r for r in terminalreporter.stats.get("passed", []) if "test_damaged_files.py::test_damaged_file" in r.nodeid]
    if passed:
        terminalreporter.write_line(f"damaged-file corpus: {len(passed)} cases, each one line and exit 2")
