"""Startup time: `zoo --help`, `zoo list` and `import zoo` against `python -c "import torch"`.

    uv run python benchmarks/startup.py [--repeat 7]

Prints the median wall time of each command (a fresh process each time) and its ratio to
importing torch, which every training command must pay anyway.
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
    args = parser.parse_args()
    zoo = str(Path(sys.executable).with_name("zoo"))
    python = sys.executable
    cases = {
        "zoo --help": [zoo, "--help"],
        "zoo list": [zoo, "list"],
        "python -c 'import zoo'": [python, "-c", "import zoo"],
        "python -c 'import torch'": [python, "-c", "import torch"],
        "python -c 'import lightning'": [python, "-c", "import lightning"],
    }
    results = {name: median_seconds(command, args.repeat) for name, command in cases.items()}
    baseline = results["python -c 'import torch'"]
    print(f"median of {args.repeat} runs, fresh process each")
    print(f"{'command':32} {'seconds':>8} {'/ import torch':>15}")
    for name, seconds in results.items():
        print(f"{name:32} {seconds:8.3f} {seconds / baseline:15.3f}")


if __name__ == "__main__":
    main()
