"""Load on `zoo serve`: requests per second and p50/p99 latency at 1, 8 and 32 concurrent
clients, with batching on (--max-batch-size 32) and off (1, in one process and in one per core),
for sentiment models (SST-2 sentences) and classification models (MNIST digits sent as base64 PNG).

    uv run python benchmarks/serve.py [--data-root ../shared/data] [--models NAME ...] [--run NAME=RUN ...] [--seconds 10]

The models: the defaults `sentiment/textcnn` and `classification/cnn`, and `sentiment/bilstm`
and `classification/resnet18`, whose single-input forward pass gains more from batching. Without
--run, each trains here for one short epoch (trainer.limit_train_batches=50, random init) on the
shared data: serving speed does not depend on how well it learned. Each server is a real
`zoo serve RUN --port 0` process; the clients are keep-alive HTTP/1.1 connections in this process,
each sending one input per request and the next request when its answer came, every request a
distinct input; every answer is checked to be 200 with one record. Each setting runs --seconds
after a warm-up. Printed: req/s, p50 and p99 latency, the server's peak memory (VmHWM), and
the batching ratio at each client count (the target: at least 3x at 32 clients); then each
model's own batching gain without HTTP (predict_served on 32 inputs against one at a time, per
input; a server gains somewhat more, as unbatched each forward pass also waits for the GIL at
each operation while the event loop answers other requests).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ZOO = str(Path(sys.executable).with_name("zoo"))
MODELS = ("sentiment/textcnn", "sentiment/bilstm", "classification/cnn", "classification/resnet18")
CLIENTS = (1, 8, 32)
SETTINGS = {  # batching off: one process, or one per core (each with its own model and 1 thread)
    "off": ["--max-batch-size", "1"],
    "off x2": ["--max-batch-size", "1", "--workers", "2"],
    "on": ["--max-batch-size", "32"],
}


def train(name: str, data: Path, output: Path) -> str:
    """A run of `name` trained for one short epoch on `data`, from random weights."""
    pretrained = ["model.pretrained=false"] if "resnet" in name else []  # torchvision's weights are a download
    command = [ZOO, "train", name, "--data", str(data), "--max-epochs", "1", "trainer.limit_train_batches=50", *pretrained, "--output", str(output), "--json"]
    print("$", " ".join(command), flush=True)
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)["path"]


def sentiment_inputs(data: Path) -> list[bytes]:
    from zoo.tables import read_table, texts

    sentences = [t for t in texts(read_table(data / "sst2" / "dev.tsv").column("sentence")).to_pylist() if t]
    phrases = [t for t in texts(read_table(data / "sst2" / "train.tsv.gz").column("sentence")).to_pylist() if t and len(t.split()) > 3]
    return [json.dumps({"inputs": [t]}).encode() for t in dict.fromkeys(sentences + phrases)]


def classification_inputs(data: Path, count: int = 5000) -> list[bytes]:
    import gzip

    import numpy as np
    from PIL import Image

    raw = gzip.decompress((data / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes())
    images = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(-1, 28, 28)[:count]
    bodies = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        bodies.append(json.dumps({"inputs": [base64.b64encode(buffer.getvalue()).decode()]}).encode())
    return bodies


class Server:
    """A `zoo serve` process on a free port."""

    def __init__(self, run: str, options: list[str]) -> None:
        command = [ZOO, "serve", run, "--port", "0", *options]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if "http://" not in line:
            raise RuntimeError(f"zoo serve did not start: {line!r}")
        self.url = line.split("at ", 1)[1].split()[0]

    def peak_mb(self) -> float:
        """The peak resident memory of the server's processes (--workers: theirs summed)."""
        total, pids = 0, [self.process.pid]
        while pids:
            pid = pids.pop()
            status = Path(f"/proc/{pid}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
            for task in Path(f"/proc/{pid}/task").iterdir():
                pids += [int(child) for child in (task / "children").read_text().split()]
        return total / 1024

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(30)


class Connection:
    """One keep-alive HTTP/1.1 connection that posts pre-encoded JSON bodies: a few lines of
    asyncio streams, so the load generator costs the shared cores little (aiohttp, tried first,
    took about one of the two cores at 32 clients and capped what the server could show)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, url: str) -> Connection:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        return cls(reader, writer, host)

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """(status, body) of the answer to POST `path` with a JSON `body`."""
        self.writer.write(b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                          % (path.encode(), self.host.encode(), len(body), body))
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = next(int(line.split(b":", 1)[1]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:"))
        return int(head[9:12]), await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def load(url: str, bodies: list[bytes], clients: int, seconds: float) -> dict:
    """`clients` connections sending requests back to back for `seconds`; latencies in ms."""
    latencies: list[float] = []
    failures: list[str] = []
    stop = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def client(connection: Connection) -> None:
        while time.perf_counter() < stop:
            body = bodies[next(counter) % len(bodies)]
            started = time.perf_counter()
            status, answer = await connection.post("/predict", body)
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200 or len(json.loads(answer).get("predictions", [])) != 1:
                failures.append(f"{status} {answer[:200]!r}")

    connections = [await Connection.open(url) for _ in range(clients)]
    try:
        started = time.perf_counter()
        await asyncio.gather(*(client(connection) for connection in connections))
        elapsed = time.perf_counter() - started
    finally:
        for connection in connections:
            connection.close()
    if failures:
        raise RuntimeError(f"{len(failures)} failed requests, the first: {failures[0]}")
    latencies.sort()
    return {
        "requests_per_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "requests": len(latencies),
    }


def model_gain(run: str, bodies: list[bytes], batch: int = 32, seconds: float = 4.0) -> tuple[float, float]:
    """The model's own batching gain, without HTTP: ms per input of what the server's predict
    thread runs (`predict_served`) on one input and on `batch` inputs at once (decoded and
    prepared as the server does it), on the threads a served model gets (zoo.server.share_threads)."""
    import torch

    import zoo
    from zoo.server import share_threads

    threads = torch.get_num_threads()
    share_threads(1)
    try:
        module = zoo.load(run)
        inputs = [module.decode_request(json.loads(body)).inputs[0] for body in bodies]
        per_input = []
        for size in (1, batch):
            times, start, deadline = [], 0, time.perf_counter() + seconds
            while time.perf_counter() < deadline or len(times) < 5:
                chosen = [inputs[(start + i) % len(inputs)] for i in range(size)]
                started = time.perf_counter()
                module.predict_served(chosen)
                times.append((time.perf_counter() - started) * 1000 / size)
                start += size
            per_input.append(statistics.median(times[1:]))
        return per_input[0], per_input[1]
    finally:
        torch.set_num_threads(threads)


def measure(name: str, run: str, bodies: list[bytes], seconds: float) -> list[dict]:
    rows = []
    for batching, options in SETTINGS.items():
        server = Server(run, options)
        try:
            asyncio.run(load(server.url, bodies, 32, 2.0))  # warm-up: allocations, caches, the first batches
            for clients in CLIENTS:
                result = asyncio.run(load(server.url, bodies, clients, seconds))
                rows.append({"model": name, "batching": batching, "clients": clients, **result, "server_peak_mb": server.peak_mb()})
                print(f"{name:<24} batching {batching:<6} clients {clients:>2}: {result['requests_per_s']:7.0f} req/s  "
                      f"p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms  ({result['requests']} requests)", flush=True)
        finally:
            server.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--models", nargs="+", default=MODELS, help="sentiment and classification models")
    parser.add_argument("--run", action="append", default=[], metavar="NAME=RUN", help="a trained run of a model (default: train one briefly)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each setting runs")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args()
    data = args.data_root.resolve()
    given = dict(item.split("=", 1) for item in args.run)
    output = Path(tempfile.mkdtemp(prefix="zoo-serve-bench-"))
    inputs = {"sentiment": sentiment_inputs(data), "classification": classification_inputs(data)}
    folders = {"sentiment": data / "sst2", "classification": data / "mnist"}
    models = {name: (given.get(name) or train(name, folders[name.split("/")[0]], output), inputs[name.split("/")[0]]) for name in args.models}
    print(f"machine: {os.cpu_count()} CPUs; clients {CLIENTS}, {args.seconds:g} s each", flush=True)
    rows = [row for name, (run, bodies) in models.items() for row in measure(name, run, bodies, args.seconds)]
    print("\nthe models alone (predict in this process, no HTTP, the server's threads): ms per input")
    for name, (run, bodies) in models.items():
        alone, batched = model_gain(run, bodies)
        print(f"{name:<24} one input {alone:6.2f}  32 at once {batched:6.2f}  gain {alone / batched:5.2f}x")
    print("\nmodel                    clients  req/s: off  off x2      on  on/off  on/(off x2)   p50 ms off/on   p99 ms off/on   peak MB off/off x2/on")
    for name in models:
        for clients in CLIENTS:
            off, two, on = (next(r for r in rows if r["model"] == name and r["clients"] == clients and r["batching"] == b) for b in SETTINGS)
            print(f"{name:<24} {clients:>7} {off['requests_per_s']:10.0f} {two['requests_per_s']:7.0f} {on['requests_per_s']:7.0f}"
                  f" {on['requests_per_s'] / off['requests_per_s']:6.2f}x {on['requests_per_s'] / two['requests_per_s']:10.2f}x"
                  f"   {off['p50_ms']:6.1f} / {on['p50_ms']:<6.1f} {off['p99_ms']:6.1f} / {on['p99_ms']:<6.1f}"
                  f"  {off['server_peak_mb']:5.0f} / {two['server_peak_mb']:.0f} / {on['server_peak_mb']:.0f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
