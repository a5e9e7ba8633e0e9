"""Startup time: `zoo --help`, `zoo list`, `zoo info` and `import zoo` against `python -c "import torch"`.

    uv run python benchmarks/startup.py [--repeat 7] [--target 1.0]

Prints the median wall time of each command (a fresh process each time) and its ratio to
importing torch, which every training command must pay anyway. Target: each light command
(`zoo --help`, `zoo list`, `zoo list --json`, `zoo info`, `import zoo`) answers in under
--target seconds (1.0 s), median of fresh processes on a warm file-system cache; the script
says whether it is met and exits 1 when it is not. The test suite checks only that these
commands import no torch, Lightning or transformers (tests/test_startup.py): a time depends on
the processor and on what else the machine is doing, so it is measured here, not asserted there.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def median_seconds(command: list[str], repeat: int) -> float:
    subprocess.run(command, capture_output=True, check=True)  # warm the file-system cache
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--target", type=float, default=1.0, help="seconds each light command must stay under (median)")
    args = parser.parse_args()
    zoo = str(Path(sys.executable).with_name("zoo"))
    python = sys.executable
    light = {
        "zoo --help": [zoo, "--help"],
        "zoo list": [zoo, "list"],
        "zoo list --json": [zoo, "list", "--json"],
        "zoo info linear-regression": [zoo, "info", "linear-regression"],
        "zoo info detection/yolo": [zoo, "info", "detection/yolo"],
        "python -c 'import zoo'": [python, "-c", "import zoo"],
    }
    cases = {
        **light,
        "python -c 'import torch'": [python, "-c", "import torch"],
        "python -c 'import lightning'": [python, "-c", "import lightning"],
    }
    results = {name: median_seconds(command, args.repeat) for name, command in cases.items()}
    baseline = results["python -c 'import torch'"]
    print(f"median of {args.repeat} runs, fresh process each")
    print(f"{'command':32} {'seconds':>8} {'/ import torch':>15}")
    for name, seconds in results.items():
        print(f"{name:32} {seconds:8.3f} {seconds / baseline:15.3f}")
    slow = [name for name in light if results[name] >= args.target]
    print(f"target (each light command under {args.target:g} s): {'met' if not slow else 'NOT met: ' + ', '.join(slow)}")
    sys.exit(1 if slow else 0)


if __name__ == "__main__":
    main()
