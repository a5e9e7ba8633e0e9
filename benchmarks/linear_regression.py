"""Linear-regression training: `zoo` against a hand-written PyTorch loop doing the same work.

    uv run python benchmarks/linear_regression.py [--repeat 3] [--rows 200000]

Both sides train nn.Linear with SGD on standardized features and target, with the same batch
size, epochs and learning rate, and compute the validation MSE after every epoch. Two workloads:
  demo:      the embedded x = [1, 2, 3], y = [2, 4, 6], 100 full-batch epochs (the README's command)
  synthetic: --rows rows of 8 features, batch 256, 3 epochs (per-batch overhead at scale)
Timed in one process, after imports: zoo's fit time (Lightning's loop, checkpoints and CSV
logs included) against the loop's. Also the whole `zoo train linear-regression` process against
a process running the hand-written loop, imports included. Prints medians and ratios.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

import zoo

HAND_LOOP_PROCESS = """
import time, torch
from torch.utils.data import DataLoader, TensorDataset
x = torch.tensor([[1.0], [2.0], [3.0]]); y = torch.tensor([2.0, 4.0, 6.0])
torch.manual_seed(0)
xm, xs, ym, ys = x.mean(0), x.std(0, correction=0), y.mean(), y.std(correction=0)
net = torch.nn.Linear(1, 1); opt = torch.optim.SGD(net.parameters(), lr=0.1)
loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
for epoch in range(100):
    for xb, yb in loader:
        loss = torch.nn.functional.mse_loss(net((xb - xm) / xs).squeeze(1), (yb - ym) / ys)
        opt.zero_grad(); loss.backward(); opt.step()
    with torch.no_grad():
        mse = ((net((x - xm) / xs).squeeze(1) * ys + ym - y) ** 2).mean()
w = net.weight.item() * ys / xs.item()
print(f"weight {w.item():.4f} prediction at 4: {(net((torch.tensor([[4.0]]) - xm) / xs) * ys + ym).item():.4f}")
"""


def hand_loop(x: torch.Tensor, y: torch.Tensor, val: tuple[torch.Tensor, torch.Tensor], epochs: int, batch: int) -> float:
    """Seconds to train like zoo's defaults do, validating after each epoch."""
    started = time.perf_counter()
    torch.manual_seed(0)
    xm, xs, ym, ys = x.mean(0), x.std(0, correction=0), y.mean(), y.std(correction=0)
    net = torch.nn.Linear(x.shape[1], 1)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True)
    for _ in range(epochs):
        net.train()
        for xb, yb in loader:
            loss = torch.nn.functional.mse_loss(net((xb - xm) / xs).squeeze(1), (yb - ym) / ys)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        net.eval()
        with torch.no_grad():
            for xb, yb in DataLoader(TensorDataset(*val), batch_size=batch):
                ((net((xb - xm) / xs).squeeze(1) * ys + ym - yb) ** 2).mean()
    return time.perf_counter() - started


def synthetic_csv(folder: Path, rows: int) -> tuple[Path, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(rows, 8, generator=generator) * 3 + 1
    y = x @ torch.arange(1.0, 9.0) + 0.5 + torch.randn(rows, generator=generator) * 0.1
    path = folder / "synthetic.csv"
    lines = ["f0,f1,f2,f3,f4,f5,f6,f7,y"] + [",".join(f"{v:.5f}" for v in (*a, b)) for a, b in zip(x.tolist(), y.tolist())]
    path.write_text("\n".join(lines) + "\n")
    return path, x, y


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="zoo-bench-"))
    zoo.train("linear-regression", output=folder, max_epochs=1, progress=False)  # warm-up

    rows = []
    demo_x, demo_y = torch.tensor([[1.0], [2.0], [3.0]]), torch.tensor([2.0, 4.0, 6.0])
    zoo_times = [zoo.train("linear-regression", output=folder, progress=False).seconds for _ in range(args.repeat)]
    loop_times = [hand_loop(demo_x, demo_y, (demo_x, demo_y), 100, 64) for _ in range(args.repeat)]
    rows.append(("demo, 100 epochs of 1 batch", median(zoo_times), median(loop_times)))

    data, x, y = synthetic_csv(folder, args.rows)
    val_rows = round(args.rows * 0.2)
    zoo_times = [
        zoo.train("linear-regression", data=data, target="y", output=folder, max_epochs=3, progress=False,
                  overrides={"data.batch_size": 256}).seconds
        for _ in range(args.repeat)
    ]
    loop_times = [hand_loop(x[val_rows:], y[val_rows:], (x[:val_rows], y[:val_rows]), 3, 256) for _ in range(args.repeat)]
    batches = 3 * -(-(args.rows - val_rows) // 256)
    rows.append((f"synthetic {args.rows:,} rows, {batches:,} batches", median(zoo_times), median(loop_times)))

    zoo_cmd = [str(Path(sys.executable).with_name("zoo")), "train", "linear-regression", "--output", str(folder)]
    process_zoo, process_loop = [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        subprocess.run(zoo_cmd, capture_output=True, check=True)
        process_zoo.append(time.perf_counter() - started)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", HAND_LOOP_PROCESS], capture_output=True, check=True)
        process_loop.append(time.perf_counter() - started)
    rows.append(("demo, whole process (imports included)", median(process_zoo), median(process_loop)))

    print(f"median of {args.repeat} runs; torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'workload':44} {'zoo s':>8} {'loop s':>8} {'zoo/loop':>9}")
    for name, zoo_seconds, loop_seconds in rows:
        print(f"{name:44} {zoo_seconds:8.3f} {loop_seconds:8.3f} {zoo_seconds / loop_seconds:9.2f}")


if __name__ == "__main__":
    main()
