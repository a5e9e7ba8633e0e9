"""`zoo serve`: a trained model behind an HTTP API and a web page, on FastAPI and uvicorn.

    POST /predict   the inputs `zoo predict` takes -> the records `zoo predict --json` prints
    GET  /          the task's page; GET /info, GET /health; OpenAPI at /openapi.json and /docs

Requests that arrive together are batched into one forward pass (zoo.batching). Every bad
request is a 4xx with one line of JSON, `{"error": "..."}`, and the server goes on serving.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import threading
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from zoo.errors import ZooError

PAGES = resources.files("zoo") / "pages"  # the pages' shared files (zoo.css, zoo.js) and the page of a task without its own
SWAGGER_UI = "fastapi_offline"  # the package whose static/ folder holds Swagger UI 5 (its script, style and icon), so /docs needs no CDN
INLINE_DECODE_BYTES = 64 * 1024  # a larger body (a photo) is decoded in a thread, so the server reads other requests meanwhile
SETTINGS_VARIABLE = "ZOO_SERVE_SETTINGS"  # how `--workers` hands the settings to each worker process
STARTUP_FAILURE = 3  # a worker's exit status that stops uvicorn's supervisor (uvicorn.config.STARTUP_FAILURE)


@dataclass(frozen=True)
class Settings:
    """What `zoo serve` serves, and how."""

    model: str  # a run folder, its model/ folder, or hf://ORG/NAME[@REVISION]
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    max_batch_size: int = 32  # requests in one forward pass; 1 turns batching off
    batch_timeout: float = 0.0  # seconds a batch may wait for more requests when fewer wait
    max_body_mb: float = 16.0
    max_queue: int = 1024  # requests waiting for the model; more are answered 503
    trust_code: bool = False

    def check(self) -> None:
        """A ZooError naming the first setting out of its range, by its command-line flag."""
        for flag, value, low in (("--workers", self.workers, 1), ("--max-batch-size", self.max_batch_size, 1), ("--max-queue", self.max_queue, 1), ("--port", self.port, 0)):
            if not isinstance(value, int) or value < low or (flag == "--port" and value > 65535):
                raise ZooError(f"{flag} must be a whole number of at least {low}{' and at most 65535' if flag == '--port' else ''}, not {value!r}")
        if not 0 <= self.batch_timeout < float("inf"):
            raise ZooError(f"--batch-timeout must be a finite number of 0 or more, not {self.batch_timeout!r}")
        if not 0 < self.max_body_mb < float("inf"):
            raise ZooError(f"--max-body-size must be a finite number above 0, not {self.max_body_mb!r}")
        if not self.host.strip():
            raise ZooError("--host is empty", "pass 127.0.0.1 (this machine only) or 0.0.0.0 (every network) or an address of this machine")


def build_app(module: Any, settings: Settings) -> FastAPI:
    """The FastAPI application serving `module` (a loaded zoo model)."""
    from zoo.batching import Batcher, Busy

    batcher = Batcher(lambda inputs, options: module.predict_served(inputs, **options), settings.max_batch_size, settings.batch_timeout, settings.max_queue)

    name = f"{module.config['task']}/{module.config['model']['name']}"
    app = FastAPI(title=f"zoo: {name}", description=f"The {name} model of {settings.model}, served by zoo.", docs_url=None, redoc_url=None)
    app.state.batcher = batcher
    app.router.redirect_slashes = False  # /predict/ is a 404 with its one line, not a redirect with an empty body
    app.add_middleware(BodyLimit, megabytes=settings.max_body_mb)
    app.mount("/static", StaticFiles(directory=str(PAGES)), name="static")
    app.mount("/swagger-ui", StaticFiles(directory=str(resources.files(SWAGGER_UI) / "static")), name="swagger-ui")
    info = describe(module, settings)
    page = task_page(module)

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    @app.exception_handler(ZooError)
    async def user_error(request: Request, exc: ZooError) -> JSONResponse:
        return error(400, str(exc))

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> JSONResponse:
        answer = error(503, f"{exc}; try again shortly (zoo serve --max-queue sets how many may wait)")
        answer.headers["Retry-After"] = "1"
        return answer

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error(404, f"no page {request.url.path}; the server has /, /predict, /info, /health, /docs and /openapi.json")
        if exc.status_code == 405:
            return error(405, f"{request.method} is not how {request.url.path} is used; see /docs")
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> JSONResponse:
        from zoo.files import first_line

        return error(500, f"the model failed on this request: {type(exc).__name__}: {first_line(exc)}")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def home() -> str:
        return page

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    async def docs() -> HTMLResponse:
        from fastapi.openapi.docs import get_swagger_ui_html

        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title}: API",
                                   swagger_js_url="/swagger-ui/swagger-ui-bundle.js", swagger_css_url="/swagger-ui/swagger-ui.css", swagger_favicon_url="/swagger-ui/favicon.png")

    @app.get("/health", summary="Whether the server is up")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/info", summary="The model: task, classes, metrics from its model card, predict options")
    async def about() -> dict[str, Any]:
        return {**info, "served": {"requests": batcher.requests, "forward_passes": batcher.batches}}

    async def predict(request: Request) -> JSONResponse:
        if misplaced := [key for key in request.query_params if key in module.request_fields()]:  # others (a cache-buster) are let be
            raise ZooError(f"/predict reads {misplaced[0]} from the body, not the URL", f'put it in the body: {{"inputs": [...], "{misplaced[0]}": ...}}')
        body = await read_body(request)
        large = int(request.headers.get("content-length") or INLINE_DECODE_BYTES + 1) > INLINE_DECODE_BYTES
        decoded = await asyncio.to_thread(module.decode_request, body) if large else module.decode_request(body)
        outputs = await batcher.predict(decoded.inputs, decoded.options, alone=decoded.alone)
        # As `zoo predict --json` writes them: an infinite or undefined number is Infinity or NaN (JavaScript's JSON.parse refuses them; Python's reads them).
        return Response(json.dumps({"predictions": module.served_records(decoded, outputs)}, ensure_ascii=False, separators=(",", ":")), media_type="application/json")

    # A plain Starlette route: FastAPI's per-request dependency solving would cost more than a
    # batched forward pass per request. OpenAPI learns of it below. It is the router's first
    # route, so a request for it is not matched against every other route first.
    app.add_route("/predict", predict, methods=["POST"])
    app.router.routes.insert(0, app.router.routes.pop())
    app.openapi = lambda: app.openapi_schema or documented(app, module)
    return app


def documented(app: FastAPI, module: Any) -> dict[str, Any]:
    """The OpenAPI schema of `app`, POST /predict included, worked out once."""
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schema["paths"]["/predict"] = {"post": {
        "summary": "Predictions, as `zoo predict --json` prints them",
        "operationId": "predict",
        **predict_schema(module),
        "responses": {
            "200": {"description": '{"predictions": [record, ...]}, one record per input', "content": {"application/json": {}}},
            "400": {"description": '{"error": "..."}: a bad request, in one line', "content": {"application/json": {}}},
            "413": {"description": '{"error": "..."}: a body over --max-body-size', "content": {"application/json": {}}},
            "503": {"description": '{"error": "..."}: more requests wait than --max-queue; try again (Retry-After)', "content": {"application/json": {}}},
        },
    }}
    app.openapi_schema = schema
    return schema


async def read_body(request: Request) -> dict[str, Any]:
    """A /predict body as a dict, from JSON or multipart form data."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        return await _form_body(request)
    raw = await request.body()
    try:
        body = json.loads(raw)  # whatever its Content-Type says: `curl -d '{...}'` calls JSON a form
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        if kind not in ("application/json", "") and raw.lstrip()[:1] not in (b"{", b"["):  # `curl -d '{...'` calls broken JSON a form
            raise ZooError(f"the body is {kind}, not JSON or multipart/form-data", 'send {"inputs": [...]} as application/json, or upload files as multipart/form-data') from None
        raise ZooError(f"the body is not JSON: {error}", 'send {"inputs": [...]}') from None
    if not isinstance(body, dict):
        from zoo.plugins import KIND_WORDS

        raise ZooError(f"the body is {KIND_WORDS[type(body)]}, not a JSON object", 'send {"inputs": [...]}')
    return body


async def _form_body(request: Request) -> dict[str, Any]:
    """A multipart body as a dict: "inputs" the files (as Uploads) or else the texts sent under
    that name, each other field an option value (JSON where it parses: "3" -> 3)."""
    from zoo.module import Upload

    try:
        form = await request.form()
    except HTTPException:  # the body is over the limit
        raise
    except Exception as error:  # the multipart parser raises its own types
        raise ZooError(f"the multipart body cannot be read: {error}") from None
    try:
        body: dict[str, Any] = {}
        for key, value in form.multi_items():
            if key == "inputs":
                body.setdefault(key, []).append(Upload(value.filename or "", await value.read()) if hasattr(value, "read") else value)
            elif key in body:
                raise ZooError(f"the field {key!r} is sent twice", "send each option once")
            elif hasattr(value, "read"):
                raise ZooError(f"the field {key!r} is a file", 'upload files as parts named "inputs"')
            else:
                body[key] = _json_or_text(value)
        return body
    finally:
        await form.close()


def _json_or_text(text: str) -> Any:
    """A form field's text as JSON when it parses ("3" -> 3, "[1, 2]" -> a list), else the text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


class BodyLimit:
    """ASGI middleware: a request body over `megabytes` is refused with 413, by its
    Content-Length before it is read, or as soon as a streamed body passes the limit."""

    def __init__(self, app: Any, megabytes: float) -> None:
        self.app = app
        self.megabytes = megabytes
        self.limit = int(megabytes * 2**20)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if length.isdigit() and int(length) > self.limit:
            await self._refuse(send)
            return
        seen = 0

        async def counted() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413, self.message)
            return message

        await self.app(scope, counted, send)

    @property
    def message(self) -> str:
        return f"the request body is over the server's limit of {self.megabytes:g} MB; send less, or start zoo serve with a larger --max-body-size"

    async def _refuse(self, send: Any) -> None:
        body = json.dumps({"error": self.message}, separators=(",", ":")).encode()  # as JSONResponse writes it
        await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def describe(module: Any, settings: Settings) -> dict[str, Any]:
    """What GET /info says: the model, its classes and its model card's metrics."""
    from zoo.files import read_json
    from zoo.run import model_dir

    saved = read_json(model_dir(settings.model) / "config.json", "a zoo model config")
    interface = module.interface()
    return {
        "task": module.config["task"],
        "model": module.config["model"]["name"],
        "name": f"{module.config['task']}/{module.config['model']['name']}",
        "source": settings.model,
        "classes": interface.get("classes") or getattr(module, "classes", None) or None,
        "metrics": saved.get("metrics", {}),
        "options": module.serve_options(),
        "interface": interface,
        "batching": {"max_batch_size": settings.max_batch_size, "batch_timeout": settings.batch_timeout},
    }


def predict_schema(module: Any) -> dict[str, Any]:
    """The OpenAPI description of POST /predict's body for this model."""
    options = module.serve_options()
    inputs = {"type": "array", "items": {}, "description": module.served_inputs_help}
    properties = {name: inputs if name == "inputs" else {"description": options[name]} for name in module.request_fields()}
    content = {"application/json": {"schema": {"type": "object", "properties": properties}}}
    if module.takes_uploads:
        files = {"inputs": {"type": "array", "items": {"type": "string", "format": "binary"}}}
        content["multipart/form-data"] = {"schema": {"type": "object", "properties": {**properties, **files}}}
    return {"requestBody": {"required": True, "content": content}}


def task_page(module: Any) -> str:
    """The HTML of the model's page: `page.html` beside the module's class, or beside the class
    it builds on (walking up), else the generic page."""
    for cls in type(module).__mro__:
        package = cls.__module__.rpartition(".")[0]
        if not package:
            continue
        try:
            page = resources.files(package) / "page.html"
        except (ModuleNotFoundError, TypeError):
            continue
        if page.is_file():
            return page.read_text(encoding="utf-8")
    return (PAGES / "generic.html").read_text(encoding="utf-8")


def announce_when_answering(host: str, port: int, announce: Any) -> None:
    """Call `announce` from a thread once GET /health on (host, port) answers 200: the workers are
    up, however long they take to load. (http.client, not urllib: a proxy set in the environment
    must not stand in between.)"""
    import http.client
    import time

    local = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)

    def wait() -> None:
        while True:
            connection = http.client.HTTPConnection(local, port, timeout=1)
            try:
                connection.request("GET", "/health")
                if connection.getresponse().status == 200:
                    announce()
                    return
            except OSError:
                pass
            finally:
                connection.close()
            time.sleep(0.1)

    threading.Thread(target=wait, name="zoo-announce", daemon=True).start()


def bound_socket(host: str, port: int, workers: int = 1) -> socket.socket:
    """The socket to serve on at (host, port); a port in use or a host not on this machine is a
    ZooError. For one process, a listening socket; for `workers` processes on Linux, a
    WorkersPort, bound and never listened on, from which each worker makes a listening socket of
    its own; elsewhere one listening socket the workers share."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    spread = workers > 1 and sys.platform == "linux"
    sock = (WorkersPort if spread else socket.socket)(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        taken = error.errno in (98, 48)  # EADDRINUSE on Linux, macOS
        raise ZooError(f"cannot listen on {host}:{port}: {error.strerror}", "choose another --port" if taken else "pass --host 127.0.0.1 or an address of this machine") from None
    if spread:
        # Bound alone first (a port in use, even by another program's SO_REUSEPORT socket, is
        # refused); from now on only sockets with SO_REUSEPORT of this user may share the port,
        # and no socket without it (SO_REUSEADDR off) may take it while the workers load.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
        return sock
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class WorkersPort(socket.socket):
    """The port of `--workers` processes on Linux, held by their parent, which never listens on it
    (no connection waits for it). uvicorn pickles its sockets to each worker it starts: this one
    arrives as a new socket of the worker's own on the same port (SO_REUSEPORT), listened on once
    the worker's model has loaded, and the kernel spreads new connections over the workers' sockets
    by their addresses (not by load). On one shared socket, whichever worker woke first took every
    connection waiting: the benchmark's keep-alive clients all landed on one worker of two, at
    times. The price: connections still waiting in a worker's queue when it dies are reset (the
    kernel moves them to another worker only with net.ipv4.tcp_migrate_req=1)."""

    def __reduce__(self) -> tuple[Any, ...]:
        return _worker_socket, (self.family, self.getsockname())


def _worker_socket(family: int, address: tuple[Any, ...]) -> socket.socket:
    """A worker's own socket on the WorkersPort at `address`, bound (uvicorn listens on it). A
    worker that cannot bind ends with uvicorn's startup-failure status: its parent stops, rather
    than starting it again and again."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind(address)
    except OSError as error:
        sock.close()
        print(f"zoo serve: a worker cannot listen on port {address[1]}: {error.strerror}", file=sys.stderr, flush=True)
        sys.exit(STARTUP_FAILURE)
    return sock


def app_from_environment() -> FastAPI:
    """The app of one `--workers` process: it loads the model itself (uvicorn's factory)."""
    settings = Settings(**json.loads(os.environ[SETTINGS_VARIABLE]))
    share_threads(settings.workers)
    return build_app(loaded(settings), settings)


def loaded(settings: Settings) -> Any:
    """The model to serve, from a run or model folder or the Hub."""
    from zoo.artifact import load

    return load(settings.model, settings.trust_code)


def loads_apart(settings: Settings) -> None:
    """Load the model in a process of its own and raise what loading raised: the workers' parent
    checks the model once before starting them, without holding torch and a model itself (about
    900 MB that no request would use). Stopped (Ctrl-C, SIGTERM), it stops that process too."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=_load_and_answer, args=(settings, sending), name="zoo-check", daemon=True)
    process.start()
    sending.close()
    try:
        error = receiving.recv()  # None: it loaded
    except EOFError:
        process.join()
        raise ZooError(f"loading {settings.model} ended its process abruptly (exit status {process.exitcode})",
                       "run zoo serve without --workers to see why") from None
    finally:
        if process.is_alive():
            process.terminate()  # stopped while it loads, or done: it exits without unwinding torch
        process.join()
        receiving.close()
    if error is not None:
        if not isinstance(error, (ZooError, OSError)):
            error.add_note("(raised loading the model in a process of its own; without --workers its traceback shows where)")
        raise error


def _load_and_answer(settings: Settings, answer: Any) -> None:
    """In loads_apart's process: send None once the model has loaded, else the error it raised."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops this process
    try:
        loaded(settings)
    except Exception as error:
        try:
            answer.send(error)
        except Exception:  # an exception that does not pickle: its text
            answer.send(RuntimeError(f"{type(error).__name__}: {error}"))
    else:
        answer.send(None)


def share_threads(workers: int) -> None:
    """Each worker process's forward passes get its share of the cores but one, which reads and
    answers requests. On 2 cores that is one thread: faster than two for one input and for
    batches alike (measured: benchmarks/serve.py), and recurrent networks slow down many times
    when torch's threads must meet at every time step of a small batch."""
    import torch

    from zoo.data import usable_cores

    torch.set_num_threads(max(1, usable_cores() // workers - 1))


def serve(settings: Settings, announce: Any = None) -> None:
    """Serve until Ctrl-C. The model loads before the port opens, so a bad folder is one line.
    `announce(line)` says where it serves (default: printed, flushed for a reader of a pipe)."""
    import uvicorn

    settings.check()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # `kill`, `docker stop`: stop as Ctrl-C does (uvicorn passes it on after shutting down)
    module = None
    if settings.workers == 1:
        share_threads(1)
        module = loaded(settings)
    else:
        loads_apart(settings)  # a bad model folder fails here, once, not in every worker
    sock = bound_socket(settings.host, settings.port, settings.workers)
    port = sock.getsockname()[1]
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    line = f"serving {settings.model} at http://{shown}:{port} (page /, API /predict, docs /docs); Ctrl-C stops"
    announce = announce or (lambda text: print(text, flush=True))
    if module is not None:
        announce(line)  # the socket listens already: requests wait there for the moment the loop starts
    else:
        announce_when_answering(settings.host, port, lambda: announce(line))  # worker processes start and load the model first
    # log_config None: uvicorn's own would reconfigure logging process-wide (dictConfig closes every handler there is).
    # lifespan off: nothing starts with the app (the batcher starts with the first request), and a second Ctrl-C finds no lifespan task to break.
    common = {"lifespan": "off", "log_config": None, "log_level": "warning", "access_log": False, "timeout_graceful_shutdown": 5}
    try:
        if module is not None:
            config = uvicorn.Config(build_app(module, settings), **common)
            uvicorn.Server(config).run(sockets=[sock])
            return
        os.environ[SETTINGS_VARIABLE] = json.dumps(asdict(settings))
        config = uvicorn.Config("zoo.server:app_from_environment", factory=True, workers=settings.workers, **common)
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:  # Ctrl-C is how a server stops: uvicorn shuts down, then passes the signal on
        pass
