"""A real `zoo serve` server (uvicorn, the app zoo.server builds) in a thread of the test
process, on a free port: tests talk HTTP to it without paying Lightning's import again."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from zoo.server import Settings, bound_socket, build_app, loaded


@contextmanager
def serving(model: str | Path, **settings: Any) -> Iterator[str]:
    """The base URL ("http://127.0.0.1:PORT") of a server for `model` while the block runs."""
    chosen = Settings(model=str(model), port=0, **settings)
    app = build_app(loaded(chosen), chosen)
    sock = bound_socket(chosen.host, 0)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_config=None, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def call(url: str, body: Any = None, *, data: bytes | None = None, headers: dict[str, str] | None = None, method: str | None = None) -> tuple[int, Any]:
    """(status, JSON answer) of one request: `body` sent as JSON, or raw `data` with `headers`."""
    if body is not None:
        data, headers = json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
