"""`zoo serve` (FastAPI + uvicorn, zoo's own batcher) against LitServe serving the same model:
requests per second, p50/p99 latency, peak memory and time to the first answer, at 1, 8 and 32
concurrent clients, with batching on (32 requests at most) and off.

    uv run python benchmarks/serve_engines.py [--data-root ../shared/data] [--sentiment RUN] [--classification RUN] [--seconds 10]

The models, inputs, clients and checks are benchmarks/serve.py's (its helpers are imported):
sentiment/textcnn on SST-2 sentences and classification/cnn on MNIST digits sent as base64 PNG,
trained briefly here unless a run is given; one input per request, every answer checked to be
200 with one record; a 2-second warm-up, then --seconds per client count.

zoo: a `zoo serve RUN --port 0` process, `--max-batch-size 32` (batch timeout 0) or 1.
LitServe: a process running `litserve.LitServer(ZooAPI(...), accelerator="cpu")` on 127.0.0.1
with LitServe's defaults otherwise (one inference worker per device, one API server process);
ZooAPI calls the same zoo methods `zoo serve` calls (decode_request, predict_served on the joined
inputs of a batch, served_records), with `max_batch_size=32` and `batch_timeout` 1 ms
(--lit-batch-timeout; LitServe waits it out for every batch that does not fill, a lone request
too), or `max_batch_size=1`. Its predict runs on as many torch threads as zoo serve's (the
usable cores but one), so the two differ in the serving engine only.

Printed per server: its peak memory (VmHWM summed over its processes) and the seconds from
starting the process to the first answered /predict; then a table and the ratios zoo/LitServe.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import litserve as ls

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve import Server, classification_inputs, load, sentiment_inputs, train  # noqa: E402  (benchmarks/serve.py)

CLIENTS = (1, 8, 32)
BATCH_SIZES = {"on": 32, "off": 1}
LIT_BATCH_TIMEOUT = 0.001  # seconds LitServe waits to fill a batch (--lit-batch-timeout); it always waits them out unless the batch fills


class ZooAPI(ls.LitAPI):
    """A zoo model as a LitServe API: the hooks call what `zoo serve` calls."""

    def __init__(self, run: str, max_batch_size: int = 1, batch_timeout: float = 0.0) -> None:
        super().__init__(max_batch_size=max_batch_size, batch_timeout=batch_timeout)
        self.run = run

    def setup(self, device: str) -> None:
        import torch

        import zoo
        from zoo.data import usable_cores

        torch.set_num_threads(max(1, usable_cores() - 1))  # as zoo serve does (zoo.server.loaded)
        self.module = zoo.load(self.run)

    def decode_request(self, request: dict) -> Any:
        return self.module.decode_request(request)

    def predict(self, x: Any) -> Any:
        """One forward pass over a request, or a batch of them -> (request, outputs) for each."""
        from zoo.batching import _joined

        requests = x if isinstance(x, list) else [x]
        if any(r.options != requests[0].options for r in requests):
            raise ValueError("requests with different options cannot share a batch here")
        outputs = self.module.predict_served(_joined([r.inputs for r in requests]), **requests[0].options)
        parts, start = [], 0
        for request in requests:
            parts.append((request, outputs[start : start + len(request.sent)]))
            start += len(request.sent)
        return parts if isinstance(x, list) else parts[0]

    def encode_response(self, output: tuple) -> dict:
        request, outputs = output
        return {"predictions": self.module.served_records(request, outputs)}


class BatchedZooAPI(ZooAPI):
    """ZooAPI with batching: LitServe hands predict the batch's requests as they are (a
    subclass, as LitServe warns of batch hooks on an API that does not batch)."""

    def batch(self, inputs: list) -> list:
        return inputs  # predict joins them, and needs each request to split the outputs back

    def unbatch(self, output: list) -> list:
        return output


def serve_litserve(run: str, port: int, max_batch_size: int, batch_timeout: float) -> None:
    """The LitServe server process (this file with --litserve-child)."""
    api = BatchedZooAPI(run, max_batch_size, batch_timeout) if max_batch_size > 1 else ZooAPI(run)
    server = ls.LitServer(api, accelerator="cpu")
    server.run(host="127.0.0.1", port=port, log_level="warning", generate_client_file=False)


class LitServeServer(Server):
    """A LitServe process serving `run` on a free port; peak_mb and stop as zoo's Server."""

    def __init__(self, run: str, max_batch_size: int, batch_timeout: float = LIT_BATCH_TIMEOUT) -> None:
        with socket.socket() as probe:  # LitServe takes no port 0: pick a free one
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        command = [sys.executable, __file__, "--litserve-child", run, "--port", str(port), "--max-batch-size", str(max_batch_size), "--batch-timeout", str(batch_timeout)]
        self.process = subprocess.Popen(command)
        self.url = f"http://127.0.0.1:{port}"


def first_answer(server: Server, body: bytes, started: float, limit: float = 120.0) -> float:
    """Seconds from `started` until /predict first answers 200."""
    request = urllib.request.Request(server.url + "/predict", data=body, headers={"content-type": "application/json"})
    while time.perf_counter() - started < limit:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited with {server.process.returncode}")
        try:
            with urllib.request.urlopen(request, timeout=limit) as answer:
                if answer.status == 200:
                    return time.perf_counter() - started
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.02)
    raise RuntimeError(f"no answer from {server.url} within {limit:g} s")


def measure(name: str, run: str, bodies: list[bytes], seconds: float, lit_batch_timeout: float) -> list[dict]:
    rows = []
    for engine in ("zoo", "LitServe"):
        for batching, size in BATCH_SIZES.items():
            started = time.perf_counter()
            server = Server(run, ["--max-batch-size", str(size)]) if engine == "zoo" else LitServeServer(run, size, lit_batch_timeout)
            try:
                startup = first_answer(server, bodies[0], started)
                asyncio.run(load(server.url, bodies, 32, 2.0))  # warm-up
                for clients in CLIENTS:
                    result = asyncio.run(load(server.url, bodies, clients, seconds))
                    rows.append({"model": name, "engine": engine, "batching": batching, "clients": clients, **result})
                    print(f"{name:<18} {engine:<8} batching {batching:<3} clients {clients:>2}: {result['requests_per_s']:6.0f} req/s  "
                          f"p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms  ({result['requests']} requests)", flush=True)
                peak = server.peak_mb()
                for row in rows[-len(CLIENTS) :]:
                    row.update(server_peak_mb=peak, startup_s=startup)
                print(f"{name:<18} {engine:<8} batching {batching:<3} peak {peak:.0f} MB, first answer {startup:.1f} s after start", flush=True)
            finally:
                server.stop()
    return rows


def report(rows: list[dict]) -> None:
    """The table, and zoo/LitServe for each setting."""
    print(f"\n{'model':<19} {'engine':<9} {'batch':<5} {'clients':>7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'peak MB':>8} {'start s':>8}")
    for r in rows:
        print(f"{r['model']:<19} {r['engine']:<9} {r['batching']:<5} {r['clients']:>7} {r['requests_per_s']:7.0f} {r['p50_ms']:7.1f} {r['p99_ms']:7.1f}"
              f" {r['server_peak_mb']:8.0f} {r['startup_s']:8.1f}")
    print(f"\nzoo/LitServe\n{'model':<19} {'batch':<5} {'clients':>7} {'req/s':>7} {'p50':>7} {'p99':>7} {'peak MB':>8} {'start':>8}")
    for r in rows:
        if r["engine"] != "zoo":
            continue
        lit = next(x for x in rows if x["engine"] == "LitServe" and all(x[k] == r[k] for k in ("model", "batching", "clients")))
        ratios = [r[k] / lit[k] for k in ("requests_per_s", "p50_ms", "p99_ms", "server_peak_mb", "startup_s")]
        print(f"{r['model']:<19} {r['batching']:<5} {r['clients']:>7}" + "".join(f" {ratio:{w}.2f}x" for ratio, w in zip(ratios, (6, 6, 6, 7, 7))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--sentiment", help="a trained sentiment run (default: train one briefly)")
    parser.add_argument("--classification", help="a trained classification run (default: train one briefly)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each setting runs")
    parser.add_argument("--lit-batch-timeout", type=float, default=LIT_BATCH_TIMEOUT, help="LitServe's batch_timeout with batching on, in seconds")
    parser.add_argument("--litserve-child", help=argparse.SUPPRESS)  # the LitServe server process: its run
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--max-batch-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--batch-timeout", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.litserve_child:
        serve_litserve(args.litserve_child, args.port, args.max_batch_size, args.batch_timeout)
        return
    data = args.data_root.resolve()
    output = Path(tempfile.mkdtemp(prefix="zoo-serve-engines-"))
    models = {
        "sentiment/textcnn": (args.sentiment or train("sentiment/textcnn", data / "sst2", output), sentiment_inputs(data)),
        "classification/cnn": (args.classification or train("classification/cnn", data / "mnist", output), classification_inputs(data)),
    }
    print(f"machine: {os.cpu_count()} CPUs; litserve {ls.__version__} (batch_timeout {args.lit_batch_timeout:g} s); clients {CLIENTS}, {args.seconds:g} s each", flush=True)
    report([row for name, (run, bodies) in models.items() for row in measure(name, run, bodies, args.seconds, args.lit_batch_timeout)])


if __name__ == "__main__":
    main()
