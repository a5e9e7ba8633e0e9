"""README pictures of `zoo serve`'s pages from real trained runs (docs/images/serve-<task>.png).

    uv run python benchmarks/screenshots.py --run TASK=RUN [--run TASK=RUN ...] [--data-root ../shared/data] [--output docs/images]

TASK is classification, sentiment or gan. For each run a real `zoo serve RUN --port 0` process
starts; its page opens in headless Chromium at 1000x700 (chromium and chromedriver on PATH), gets
a realistic input from the shared data, and is saved once it has answered:
classification: the first MNIST test digit, uploaded as a PNG file;
sentiment: the first positive SST-2 dev sentence;
gan: Generate with 30 samples and the default seed, class "7" when the model is conditional
(saved as serve-gan-images.png when the model makes images, serve-gan.png when 2-D points).
Pictures over 150 KB are saved in 256 colors. tests/test_serve_pages.py does the same with tiny
models, whose predictions look poor in a README.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

ZOO = str(Path(sys.executable).with_name("zoo"))
WINDOW = (1000, 700)
MAX_BYTES = 150_000
WAIT = 120  # seconds a page may take to answer


def browser() -> WebDriver:
    """Headless Chromium whose page area is exactly WINDOW (as tests/test_serve_pages.py builds it)."""
    chromium = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    options = webdriver.ChromeOptions()
    if chromium:
        options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False})
    return driver


class Server:
    """A `zoo serve RUN --port 0` process; its URL from the first line it prints."""

    def __init__(self, run: str) -> None:
        self.process = subprocess.Popen([ZOO, "serve", run, "--port", "0"], stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline() if self.process.stdout else ""
        if "http://" not in line:
            self.stop()
            raise RuntimeError(f"zoo serve did not start: {line!r}")
        self.url = line.split(" at ", 1)[1].split()[0]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(30)


def wait(driver: WebDriver, condition: Callable[[], Any]) -> None:
    WebDriverWait(driver, WAIT).until(lambda _: condition())


def submit(driver: WebDriver) -> None:
    """Press the page's button, wait for <body aria-busy="false">, and check the result is shown."""
    driver.find_element(By.ID, "submit").click()
    wait(driver, lambda: driver.find_element(By.TAG_NAME, "body").get_attribute("aria-busy") == "false")
    error = driver.find_element(By.ID, "error")
    if error.is_displayed():
        raise RuntimeError(f"the page shows an error: {error.text}")
    wait(driver, lambda: driver.find_element(By.ID, "result").is_displayed())


def mnist_digit(data: Path, folder: Path, index: int = 0) -> Path:
    """MNIST test digit `index` as a PNG file in `folder` (the IDX file: 16-byte header, 28x28 uint8)."""
    raw = gzip.decompress((data / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes())
    image = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(-1, 28, 28)[index]
    path = folder / f"mnist-test-{index}.png"
    Image.fromarray(image).save(path)
    return path


def positive_sentence(data: Path) -> str:
    """The first SST-2 dev sentence labelled positive (1)."""
    with open(data / "sst2" / "dev.tsv", newline="", encoding="utf-8") as file:
        return next(row["sentence"].strip() for row in csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE) if row["label"] == "1")


def classification(driver: WebDriver, data: Path) -> str:
    with tempfile.TemporaryDirectory() as folder:
        driver.find_element(By.ID, "input").send_keys(str(mnist_digit(data, Path(folder))))
        wait(driver, lambda: driver.execute_script("const p = document.getElementById('preview'); return p.complete && p.naturalWidth > 0"))
        submit(driver)
    return "classification"


def sentiment(driver: WebDriver, data: Path) -> str:
    field = driver.find_element(By.ID, "input")
    field.clear()
    field.send_keys(positive_sentence(data))
    submit(driver)
    return "sentiment"


def gan(driver: WebDriver, data: Path) -> str:
    field = driver.find_element(By.ID, "num")
    field.clear()
    field.send_keys("30")
    if driver.find_element(By.ID, "label-field").is_displayed() and driver.find_elements(By.CSS_SELECTOR, '#label option[value="7"]'):
        driver.find_element(By.CSS_SELECTOR, '#label option[value="7"]').click()
    submit(driver)
    if driver.find_element(By.ID, "grid").is_displayed():
        wait(driver, lambda: driver.execute_script("return [...document.querySelectorAll('#grid img')].every(i => i.complete && i.naturalWidth > 0)"))
        return "gan-images"
    return "gan"


PAGES: dict[str, Callable[[WebDriver, Path], str]] = {"classification": classification, "sentiment": sentiment, "gan": gan}


def save(driver: WebDriver, target: Path) -> None:
    """The page as a PNG at `target`, in 256 colors when larger than MAX_BYTES."""
    png = driver.get_screenshot_as_png()
    image = Image.open(io.BytesIO(png))
    assert image.size == WINDOW, image.size
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(png)
    if len(png) > MAX_BYTES:
        image.convert("RGB").quantize(256).save(target, optimize=True)
    print(f"wrote {target} ({target.stat().st_size // 1000} KB)", flush=True)


def screenshot(driver: WebDriver, task: str, run: str, data: Path, output: Path) -> None:
    server = Server(run)
    try:
        driver.get(server.url + "/")
        wait(driver, lambda: driver.find_elements(By.ID, "task") or driver.find_element(By.ID, "error").is_displayed())
        name = PAGES[task](driver, data)
        save(driver, output / f"serve-{name}.png")
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", action="append", required=True, metavar="TASK=RUN", help=f"a task ({', '.join(PAGES)}) and a trained run folder")
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--output", type=Path, default=Path("docs/images"))
    args = parser.parse_args()
    runs = [tuple(item.split("=", 1)) for item in args.run]
    for item, pair in zip(args.run, runs):
        if len(pair) != 2 or pair[0] not in PAGES:
            parser.error(f"--run {item}: expected TASK=RUN with TASK one of {', '.join(PAGES)}")
    driver = browser()
    try:
        for task, run in runs:
            screenshot(driver, task, run, args.data_root, args.output)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
