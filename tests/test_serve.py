"""`zoo serve` over real HTTP: answers equal to `zoo predict --json`, requests batched and none
lost, uploads and base64 images, bad requests as one JSON line while the server goes on, and
the command itself (its announcement, --workers, Ctrl-C, a port in use)."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

import pytest

import zoo
from tests.images import image_folder, picture
from tests.serving import call, serving
from tests.test_errors import assert_user_error
from zoo.server import bound_socket

WORDS = "good bad great awful fine dull moving boring warm cold sharp flat".split()


@pytest.fixture(scope="module")
def sentiment_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return zoo.train("sentiment", output=tmp_path_factory.mktemp("runs"), progress=False).path


@pytest.fixture(scope="module")
def shapes_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shapes")
    return zoo.train("classification", data=image_folder(root / "data"), output=root / "runs", max_epochs=1, progress=False).path


def distinct_texts(count: int) -> list[str]:
    return [f"{WORDS[i % 12]} {WORDS[i // 12 % 12]} film number {i}" for i in range(count)]


def png_bytes(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def upload(url: str, files: list[tuple[str, bytes]], fields: dict[str, str] | None = None) -> tuple[int, dict]:
    """POST /predict as multipart/form-data: file parts named "inputs", and plain fields."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in (fields or {}).items()]
    parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="inputs"; filename="{name}"\r\nContent-Type: image/png\r\n\r\n'.encode() + data + b"\r\n"
              for name, data in files]
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return call(url + "/predict", data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


def test_200_concurrent_requests_each_get_their_own_answer_equal_to_zoo_predict(zoo_cli, sentiment_run):
    texts = distinct_texts(200)
    expected = json.loads(zoo_cli("predict", sentiment_run, *texts, "--json").out)["predictions"]
    with serving(sentiment_run) as url, ThreadPoolExecutor(200) as pool:
        answers = list(pool.map(lambda text: call(url + "/predict", {"inputs": [text]}), texts))
        served = call(url + "/info")[1]["served"]
    assert [status for status, _ in answers] == [200] * 200
    for (_, answer), record in zip(answers, expected):
        [got] = answer["predictions"]
        assert got["input"] == record["input"] and got["label"] == record["label"]
        assert got["scores"] == pytest.approx(record["scores"], abs=1e-5)  # batched with other texts: padding may move the last digit
    assert served["requests"] == 200 and served["forward_passes"] < 200  # requests that arrived together shared a forward pass


def test_without_batching_every_request_is_its_own_forward_pass(sentiment_run):
    with serving(sentiment_run, max_batch_size=1) as url, ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda text: call(url + "/predict", {"inputs": [text]}), distinct_texts(32)))
        served = call(url + "/info")[1]["served"]
    assert {status for status, _ in answers} == {200}
    assert served == {"requests": 32, "forward_passes": 32}


def test_info_health_openapi_and_a_page(sentiment_run):
    with serving(sentiment_run) as url:
        assert call(url + "/health") == (200, {"status": "ok"})
        status, info = call(url + "/info")
        spec = call(url + "/openapi.json")[1]
        import urllib.request

        page = urllib.request.urlopen(url + "/").read().decode()
        docs = urllib.request.urlopen(url + "/docs").read().decode()
        script = urllib.request.urlopen(url + "/swagger-ui/swagger-ui-bundle.js")
    assert status == 200 and info["name"] == "sentiment/textcnn" and info["classes"] == ["negative", "positive"]
    assert info["metrics"]["val"]["acc"] == json.loads((sentiment_run / "metrics.json").read_text())["val"]["acc"]
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert list(body) == ["application/json"] and body["application/json"]["schema"]["properties"]["inputs"]["description"] == "texts, one per input"
    assert page.lstrip().lower().startswith("<!doctype html>") and "https://" not in page  # no CDN
    assert "/swagger-ui/swagger-ui-bundle.js" in docs and "https://" not in docs and script.status == 200  # the API's docs: no CDN either


def test_bad_requests_are_one_json_line_and_the_server_goes_on(sentiment_run):
    with serving(sentiment_run, max_body_mb=0.01) as url:
        cases = [
            (call(url + "/predict", {"input": ["hi"]}), 400, "unknown field 'input'; did you mean 'inputs'?"),
            (call(url + "/predict", {"inputs": ["a fine film", "  "]}), 400, "text 2 is empty"),
            (call(url + "/predict", {"inputs": []}), 400, '"inputs" is empty'),
            (call(url + "/predict", {}), 400, 'the request has no "inputs"'),
            (call(url + "/predict", None, data=b"null", headers={"Content-Type": "application/json"}), 400, "the body is null, not a JSON object"),
            (call(url + "/predict", data=b"{oops", headers={"Content-Type": "application/json"}), 400, "the body is not JSON"),
            (call(url + "/predict", data=b"hi", headers={"Content-Type": "text/plain"}), 400, "the body is text/plain, not JSON"),
            (call(url + "/predict", data=b'{"inputs": ["fine"], "beam": 2}', headers={"Content-Type": "application/x-www-form-urlencoded"}), 400,
             "unknown field 'beam'"),  # JSON sent as curl -d sends it is read as JSON
            (call(url + "/predict", data=b'{"inputs": ["fine"]', headers={"Content-Type": "application/x-www-form-urlencoded"}), 400,
             "the body is not JSON: Expecting ',' delimiter"),  # and broken JSON so sent is said to be broken
            (call(url + "/predict", {"inputs": ["x" * 20000]}), 413, "over the server's limit of 0.01 MB"),
            (call(url + "/predict", method="GET"), 405, "GET is not how /predict is used"),
            (call(url + "/nowhere"), 404, "no page /nowhere"),
            (call(url + "/predict/", {"inputs": ["fine"]}), 404, "no page /predict/"),
            (call(url + "/predict?inputs=2&_=123", {"inputs": ["fine"]}), 400, "/predict reads inputs from the body, not the URL; put it in the body"),
        ]
        still = call(url + "/predict?_=123", {"inputs": ["a fine film"]})  # a cache-buster is let be
    for (status, answer), expected_status, fragment in cases:
        assert status == expected_status and list(answer) == ["error"], answer
        assert fragment in answer["error"] and "\n" not in answer["error"]
    assert still[0] == 200 and still[1]["predictions"][0]["input"] == "a fine film"


def test_requests_beyond_the_queue_are_503_with_retry_after(sentiment_run):
    with serving(sentiment_run, max_batch_size=1, max_queue=1) as url, ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(lambda text: call(url + "/predict", {"inputs": [text]}), distinct_texts(40)))
        after = call(url + "/predict", {"inputs": ["a fine film"]})
    busy = [answer for status, answer in answers if status == 503]
    assert busy and all(status in (200, 503) for status, _ in answers) and after[0] == 200
    assert "the server is busy" in busy[0]["error"] and "--max-queue" in busy[0]["error"]


def test_one_bad_request_in_a_batch_fails_alone(sentiment_run):
    bodies = [{"inputs": [text]} for text in distinct_texts(40)]
    bodies[7] = {"inputs": ["fine", 3]}  # not a string: refused before it meets the others
    with serving(sentiment_run) as url, ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(lambda body: call(url + "/predict", body), bodies))
    assert [status for status, _ in answers] == [200] * 7 + [400] + [200] * 32
    assert answers[7][1] == {"error": "text 2 is not a string but int; pass non-empty strings"}


def test_images_as_uploads_and_as_base64_answer_like_zoo_predict(zoo_cli, shapes_run, tmp_path):
    images = {f"{label}.png": png_bytes(picture(label, 99)) for label in ("dark", "light")}
    for name, data in images.items():
        (tmp_path / name).write_bytes(data)
    expected = json.loads(zoo_cli("predict", shapes_run, tmp_path / "dark.png", tmp_path / "light.png", "--json").out)["predictions"]
    with serving(shapes_run) as url:
        uploaded = upload(url, list(images.items()))
        data_url = "data:image/png;base64," + base64.b64encode(images["light.png"]).decode()
        encoded = call(url + "/predict", {"inputs": [base64.b64encode(images["dark.png"]).decode(), data_url]})
        broken = upload(url, [("broken.png", b"not a png at all")])
        not_base64 = call(url + "/predict", {"inputs": ["%%%"]})
        after = call(url + "/predict", {"inputs": [data_url]})
        documented = call(url + "/openapi.json")[1]["paths"]["/predict"]["post"]["requestBody"]["content"]
        photo = png_bytes(picture("dark", 99, size=400))  # a body over 64 KiB: decoded off the event loop
        large = upload(url, [("photo.png", photo)])
    assert uploaded[0] == 200 and encoded[0] == 200 and after[0] == 200
    for got, record in zip(uploaded[1]["predictions"], expected):
        assert got["input"] == Path(record["input"]).name
        assert (got["label"], got["probability"]) == (record["label"], pytest.approx(record["probability"], abs=1e-5))
    assert [r["input"] for r in encoded[1]["predictions"]] == ["inputs[0]", "inputs[1]"]
    assert [r["label"] for r in encoded[1]["predictions"]] == [r["label"] for r in expected]
    assert broken[0] == 400 and broken[1]["error"].startswith("broken.png is not an image file")
    assert set(documented) == {"application/json", "multipart/form-data"}  # uploads, for the image tasks only
    assert large[0] == 200 and large[1]["predictions"][0]["label"] == "dark" and len(photo) > 64 * 1024
    assert not_base64 == (400, {"error": "inputs[0] is not base64 text; send images as file uploads or base64 text (a data: URL too)"})


def test_options_of_the_wrong_type_or_range_and_oversized_inputs_are_400(shapes_run):
    from PIL import Image

    dark = base64.b64encode(png_bytes(picture("dark", 99))).decode()
    bomb = png_bytes(Image.new("L", (8000, 7000)))  # 56 million pixels in a small file
    with serving(shapes_run) as url:
        cases = [
            (call(url + "/predict", {"inputs": [dark], "top_k": "2"}), "top_k must be a whole number, not \"2\""),
            (call(url + "/predict", {"inputs": [dark], "top_k": True}), "top_k must be a whole number, not true"),
            (call(url + "/predict", {"inputs": [dark], "top_k": 0}), "top_k must be a whole number of at least 1, not 0"),
            (call(url + "/predict", {"inputs": [dark] * 1025}), "1025 inputs in one request; the server takes at most 1024"),
            (upload(url, [("bomb.png", bomb)]), "bomb.png is 8000 x 7000 pixels, over the server's limit of 50 million"),
            (upload(url, [("dark.png", png_bytes(picture("dark", 99)))], {"top_k": "x"}), "top_k must be a whole number, not \"x\""),
            (upload(url, [("a.png", png_bytes(picture("dark", 99)))], {"inputs": "text"}), "inputs[0] is not an image file"),  # text and a file under one name
        ]
        form = upload(url, [("dark.png", png_bytes(picture("dark", 99)))], {"top_k": "1"})  # a form's "1" is the number 1
    for (status, answer), fragment in cases:
        assert status == 400 and fragment in answer["error"], answer
    assert form[0] == 200 and len(form[1]["predictions"][0]["top_k"]) == 1


def test_infinite_outputs_are_written_as_zoo_predict_writes_them(zoo_cli, trained_run):
    expected = zoo_cli("predict", trained_run, "3e38", "--json").out  # within float32, y is not
    with serving(trained_run) as url:
        request = urllib.request.Request(url + "/predict", data=json.dumps({"inputs": [3e38]}).encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request) as answer:
            text = answer.read().decode()
    assert "Infinity" in expected and json.loads(text)["predictions"] == json.loads(expected)["predictions"]


def test_a_gan_serves_samples_by_seed_like_zoo_predict(zoo_cli, tmp_path):
    run = zoo.train("gan", output=tmp_path / "runs", overrides={"data.toy_points": 2560, "trainer.max_epochs": 1}, progress=False).path
    expected = json.loads(zoo_cli("predict", run, "--num", "5", "--seed", "7", "--output", tmp_path / "samples", "--json").out)["predictions"]
    with serving(run) as url:
        status, answer = call(url + "/predict", {"num": 5, "seed": 7})
        too_many = call(url + "/predict", {"num": 10**6})
        labelled = call(url + "/predict", {"num": 2, "label": "cat"})
    assert status == 200
    assert [(r["x"], r["y"], r["index"]) for r in answer["predictions"]] == [(r["x"], r["y"], r["index"]) for r in expected]
    assert too_many == (400, {"error": "num must be at most 1024 in one request, not 1000000; ask again with another seed for more"})
    assert labelled[0] == 400 and "is not conditional" in labelled[1]["error"]


def test_zoo_serve_starts_workers_answers_and_stops_on_ctrl_c(trained_run, ctrl_c):
    command = [str(Path(sys.executable).with_name("zoo")), "serve", str(trained_run), "--port", "0", "--workers", "2"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = process.stdout.readline()
        assert line.startswith(f"serving {trained_run} at http://127.0.0.1:"), line + process.stderr.read()
        url = line.split(" at ")[1].split()[0]
        status, answer = call(url + "/predict", {"inputs": [4]})  # announced once the workers answer
        assert status == 200 and answer["predictions"][0]["y"] == pytest.approx(8, abs=1e-3)
        if sys.platform == "linux":  # each worker listens on a socket of its own (the kernel spreads connections over them), the parent on none
            port, deadline = int(url.rsplit(":", 1)[1]), time.monotonic() + 60
            while len(listening_sockets(port)) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            listening = listening_sockets(port)
            children = [int(pid) for task in Path(f"/proc/{process.pid}/task").iterdir() for pid in (task / "children").read_text().split()]
            assert len(listening) == 2 and not listening & socket_inodes(process.pid)
            assert sorted(len(listening & socket_inodes(pid)) for pid in children if listening & socket_inodes(pid)) == [1, 1]
            assert "libtorch" not in Path(f"/proc/{process.pid}/maps").read_text()  # the parent checked the model in a process of its own
    finally:
        process.send_signal(signal.SIGINT)
    assert process.stdout.readline() == "zoo serve stopped\n"
    with contextlib.suppress(ProcessLookupError):  # a second Ctrl-C while it exits (`uv run` passes a process group's on again)
        process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0 and "Traceback" not in err and "Exception ignored" not in err, err


def test_serve_mistakes_are_one_line(zoo_cli, trained_run, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_user_error(zoo_cli("serve", trained_run, "--port", port), f"cannot listen on 127.0.0.1:{port}", "choose another --port")
    if hasattr(socket, "SO_REUSEPORT"):
        with socket.socket() as shared:  # another server's port, open to sharing (SO_REUSEPORT): workers do not join it
            shared.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            shared.bind(("127.0.0.1", 0))
            shared.listen()
            port = shared.getsockname()[1]
            assert_user_error(zoo_cli("serve", trained_run, "--port", port, "--workers", "2"), f"cannot listen on 127.0.0.1:{port}", "choose another --port")
    assert_user_error(zoo_cli("serve", tmp_path / "nothing"), "does not exist")
    assert_user_error(zoo_cli("serve", tmp_path / "nothing", "--workers", "2"), "does not exist")  # found by the workers' check, in a process of its own
    assert_user_error(zoo_cli("serve", trained_run, "--max-batch-size", "0"), "--max-batch-size must be a whole number of at least 1, not 0")
    assert_user_error(zoo_cli("serve", trained_run, "--batch-timeout", "nan"), "--batch-timeout must be a finite number of 0 or more")
    assert_user_error(zoo_cli("serve", trained_run, "--max-body-size", "0"), "--max-body-size must be a finite number above 0, not 0.0")
    assert_user_error(zoo_cli("serve", trained_run, "--host", ""), "--host is empty")  # not every network by accident
    with pytest.raises(zoo.ZooError, match=r"zoo.serve has no setting 'max_body_size'; did you mean 'max_body_mb'"):
        zoo.serve(trained_run, max_body_size=1)


@pytest.mark.skipif(sys.platform != "linux", reason="workers get sockets of their own on Linux only")
def test_the_workers_port_is_theirs_alone_while_they_load():
    held = bound_socket("127.0.0.1", 0, workers=2)
    port = held.getsockname()[1]
    with held:
        for workers in (1, 2):  # another zoo serve, with or without workers
            with pytest.raises(zoo.ZooError, match=f"cannot listen on 127.0.0.1:{port}: Address already in use; choose another --port"):
                bound_socket("127.0.0.1", port, workers)
        worker = pickle.loads(ForkingPickler.dumps(held))  # as uvicorn hands it to a worker: a socket of the worker's own
        with worker:
            worker.listen()
            assert worker.getsockname() == held.getsockname() and worker.fileno() != held.fileno()


def listening_sockets(port: int) -> set[str]:
    """The inodes of the TCP sockets on this machine that listen on `port` (Linux's /proc/net/tcp)."""
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return {row[9] for row in rows if int(row[1].rsplit(":", 1)[1], 16) == port and row[3] == "0A"}


def socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets process `pid` has open."""
    inodes = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # closed meanwhile
            target = os.readlink(descriptor)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    return inodes
