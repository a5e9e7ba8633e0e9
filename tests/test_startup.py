"""`import zoo`, `zoo --help`, `zoo list` and `zoo info` stay light: no torch, Lightning or transformers.

How long they take depends on the processor and on what else the machine is doing, so it is
measured, against a stated target, by `benchmarks/startup.py`, not asserted here."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

HEAVY = ("torch", "torchvision", "lightning", "transformers", "pytorch_lightning", "torchmetrics")

PROBE = """
import sys
sys.argv = ["zoo", *sys.argv[1:]]
try:
    import zoo_cli as cli
    cli.main(sys.argv[1:]) if len(sys.argv) > 1 else None
except SystemExit:
    pass
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r})
print("HEAVY:", ",".join(heavy), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [[], ["--help"], ["list"], ["list", "linear-regression/*", "--json"], ["info", "linear-regression"]])
def test_no_heavy_imports(args):
    code = PROBE.format(heavy=set(HEAVY))
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True, timeout=60)
    heavy_line = [line for line in done.stderr.splitlines() if line.startswith("HEAVY:")]
    assert heavy_line == ["HEAVY: "], done.stderr


def test_import_zoo_is_light():
    code = f"import zoo, sys; print(sorted(m for m in sys.modules if m.split('.')[0] in {set(HEAVY)!r}))"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr

