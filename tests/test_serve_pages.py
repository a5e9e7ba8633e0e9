"""zoo serve's pages in a real browser (headless Chromium, driven by Selenium): for each task a
tiny model is trained, served, and used through its page as a person would, and what the page
shows is checked against `zoo.load(run).predict`. A screenshot of each page lands in the test's
tmp_path, and in $ZOO_SCREENSHOTS as serve-<task>.png when that names a folder."""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

import zoo
from tests.boxes import coco, draw, scenes
from tests.conftest import write_csv
from tests.images import image_folder
from tests.serving import serving

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="the page tests drive headless Chromium: put chromium and chromedriver on PATH (apt-get install chromium chromium-driver; .ci/run does)",
)
SCREENSHOTS = os.environ.get("ZOO_SCREENSHOTS")
WINDOW = (1000, 700) if SCREENSHOTS else (1280, 800)  # README pictures are smaller
SCREENSHOT_BYTES = 150_000
WAIT = 60  # seconds a page may take to answer (a busy 2-core machine)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """One headless Chromium for the module's pages (never Selenium Manager's download)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    # The page's own area exactly WINDOW (--window-size counts the headless window's frame too).
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False})
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(autouse=True)
def no_script_errors(browser: WebDriver) -> Iterator[None]:
    """A test fails on an error of the page's scripts (a refused request is the page's to show)."""
    browser.get_log("browser")
    yield
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]]
    assert not errors, errors


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("page-runs")


def open_page(browser: WebDriver, url: str) -> None:
    """The page at `url`, once its header shows the model from /info."""
    browser.get(url)
    wait(browser, lambda: browser.find_elements(By.ID, "task") or browser.find_element(By.ID, "error").is_displayed())
    assert not browser.find_element(By.ID, "error").is_displayed(), browser.find_element(By.ID, "error").text


def wait(browser: WebDriver, condition: Callable[[], Any]) -> None:
    WebDriverWait(browser, WAIT).until(lambda _: condition())


def press(browser: WebDriver) -> None:
    """Click the page's #submit button and wait for its request to end."""
    browser.find_element(By.ID, "submit").click()
    settle(browser)


def settle(browser: WebDriver) -> None:
    """Wait for the page's request to end: <body aria-busy="false">."""
    try:
        wait(browser, lambda: browser.find_element(By.TAG_NAME, "body").get_attribute("aria-busy") == "false")
    except TimeoutException:
        pytest.fail(f"the page still waits for its answer after {WAIT} s")


def answered(browser: WebDriver) -> WebElement:
    """The result section, shown, with no error line."""
    error = browser.find_element(By.ID, "error")
    assert not error.is_displayed(), error.text
    result = browser.find_element(By.ID, "result")
    assert result.is_displayed()
    return result


def texts(browser: WebDriver, selector: str) -> list[str]:
    return [e.text for e in browser.find_elements(By.CSS_SELECTOR, selector)]


def type_into(browser: WebDriver, element_id: str, text: str) -> None:
    field = browser.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(text)


def screenshot(browser: WebDriver, tmp_path: Path, task: str) -> None:
    """serve-<task>.png in tmp_path, and in $ZOO_SCREENSHOTS when set (in 256 colors if large)."""
    png = browser.get_screenshot_as_png()
    assert Image.open(io.BytesIO(png)).size == WINDOW
    (tmp_path / f"serve-{task}.png").write_bytes(png)
    if SCREENSHOTS:
        target = Path(SCREENSHOTS) / f"serve-{task}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(png)
        if len(png) > SCREENSHOT_BYTES:
            Image.open(io.BytesIO(png)).convert("RGB").quantize(256).save(target, optimize=True)


def painted(browser: WebDriver, canvas: str, color: str) -> int:
    """How many pixels of canvas #`canvas` have the CSS color `color` (as the page paints it)."""
    return browser.execute_script(
        """
        const probe = document.createElement("canvas").getContext("2d");
        probe.fillStyle = arguments[1];
        probe.fillRect(0, 0, 1, 1);
        const want = probe.getImageData(0, 0, 1, 1).data;
        const canvas = document.getElementById(arguments[0]);
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        let count = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i] === want[0] && data[i + 1] === want[1] && data[i + 2] === want[2]) count++;
        return count;
        """,
        canvas,
        color,
    )


# The tasks -------------------------------------------------------------------------------------


def test_linear_regression_page_predicts_y_from_each_feature(browser, output, tmp_path):
    rows = [(a, b, 3 * a - 2 * b + 1) for a in range(8) for b in range(5)]
    data = write_csv(output / "rooms.csv", "rooms,age,price", rows)
    folder = zoo.train("linear-regression", data=data, output=output, progress=False).path
    with serving(folder) as url:
        open_page(browser, url)
        fields = browser.find_elements(By.CSS_SELECTOR, "#features input")
        assert [browser.find_element(By.CSS_SELECTOR, f"label[for={f.get_attribute('id')}]").text for f in fields] == ["rooms", "age"]
        for field, value in zip(fields, ("4", "2.5")):
            field.clear()
            field.send_keys(value)
        press(browser)
        shown = answered(browser).find_element(By.ID, "y").text
        assert browser.find_element(By.ID, "row").text == "for rooms = 4, age = 2.5"
        screenshot(browser, tmp_path, "linear-regression")
    name, _, value = shown.partition(" = ")
    assert name == "price" and float(value) == pytest.approx(zoo.load(folder).predict([[4, 2.5]])[0], abs=1e-3)


@pytest.fixture(scope="module")
def shape_picture(output: Path) -> Path:
    """A demo shape (the first of the demo data, a circle), as a PNG file."""
    from zoo_tasks.classification.data import demo_splits

    path = output / "shape.png"
    Image.fromarray(demo_splits()["train"].images[0].permute(1, 2, 0).numpy()).save(path)
    return path


def test_classification_page_shows_the_picture_and_the_top_labels(browser, output, shape_picture, tmp_path):
    folder = zoo.train("classification", output=output, max_epochs=8, progress=False).path
    expected = zoo.load(folder).predict([shape_picture])[0]
    top = expected.get("top") or expected["top_k"]  # the contract's name, and the one predict used first
    with serving(folder) as url:
        open_page(browser, url)
        browser.find_element(By.ID, "input").send_keys(str(shape_picture))
        wait(browser, lambda: browser.execute_script("const p = document.getElementById('preview'); return p.complete && p.naturalWidth > 0"))
        press(browser)
        answered(browser)
        assert browser.find_element(By.ID, "label").text == expected["label"]
        assert texts(browser, "#top .name") == [t["label"] for t in top]
        assert texts(browser, "#top .value") == [f"{t['probability']:.3f}" for t in top]
        widths = browser.execute_script("return [...document.querySelectorAll('#top .bar span')].map(s => s.getBoundingClientRect().width)")
        assert widths == sorted(widths, reverse=True) and widths[0] > 0
        screenshot(browser, tmp_path, "classification")

        broken = tmp_path / "broken.png"
        broken.write_bytes(b"not a picture at all")
        browser.find_element(By.ID, "input").send_keys(str(broken))
        press(browser)
        error = browser.find_element(By.ID, "error")
        assert error.is_displayed() and "broken.png is not an image file" in error.text


def slide(browser: WebDriver, slider: str, value: float) -> None:
    """Move range input #`slider` to `value` as a person lets go of it, and wait for the page."""
    browser.execute_script(
        "const s = document.getElementById(arguments[0]); s.value = arguments[1];"
        "s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change'))", slider, value)
    settle(browser)


def shown_detections(browser: WebDriver) -> list[tuple[str, str]]:
    return list(zip(texts(browser, "#detections .name"), texts(browser, "#detections .value")))


def test_detection_page_draws_the_boxes_over_the_image(browser, output, tmp_path):
    data = coco(output / "coco", count=24)
    folder = zoo.train("detection/yolo", data=data, output=output, max_epochs=20, progress=False,
                       overrides={"data.batch_size": 4, "data.val_fraction": 0.34, "optim.lr": 0.005}).path
    picture = output / "scene.png"
    draw(scenes(12)[0], 0).save(picture)  # an apple and a berry
    model = zoo.load(folder)

    def expected(threshold: float) -> list[dict]:
        return model.predict([picture], score_threshold=threshold)[0]["detections"]

    with serving(folder) as url:
        open_page(browser, url)
        browser.find_element(By.ID, "input").send_keys(str(picture))
        press(browser)
        assert shown_detections(browser) == [(d["label"], f"{d['score']:.3f}") for d in expected(0.5)]

        slide(browser, "threshold", 0.1)
        answered(browser)
        low = expected(0.1)
        assert low, "the tiny detector finds no box at score 0.1: nothing to draw"
        assert browser.find_element(By.ID, "threshold-value").text == "0.10"
        assert shown_detections(browser) == [(d["label"], f"{d['score']:.3f}") for d in low]
        assert browser.find_element(By.ID, "count").text == f"{len(low)} detection{'s' if len(low) > 1 else ''}"
        # The most certain box is drawn last, its frame and tag in its class's color.
        color = browser.execute_script("return Zoo.color(arguments[0])", model.interface()["classes"].index(low[0]["label"]))
        assert painted(browser, "canvas", color) > 500

        slide(browser, "threshold", 0.5)
        assert shown_detections(browser) == [(d["label"], f"{d['score']:.3f}") for d in expected(0.5)]
        screenshot(browser, tmp_path, "detection")

        # A phone photo's EXIF orientation: the page draws it upright, as the server reads it.
        exif = Image.Exif()
        exif[0x0112] = 6  # a quarter turn
        draw(scenes(12)[0], 0).save(output / "turned.jpg", exif=exif, quality=95)
        browser.find_element(By.ID, "input").send_keys(str(output / "turned.jpg"))
        press(browser)
        answered(browser)
        assert browser.execute_script("const c = document.getElementById('canvas'); return [c.width, c.height]") == [480, 640]


@pytest.fixture(scope="module")
def sentiment_run(output: Path) -> Path:
    return zoo.train("sentiment", output=output, progress=False).path


def test_sentiment_page_shows_the_label_and_every_score(browser, sentiment_run, tmp_path):
    review = "a superb film, a wonderful cast"
    expected = zoo.load(sentiment_run).predict([review])[0]
    with serving(sentiment_run) as url:
        open_page(browser, url)
        type_into(browser, "input", review)
        press(browser)
        answered(browser)
        assert browser.find_element(By.ID, "label").text == expected["label"]
        ranked = sorted(expected["scores"].items(), key=lambda item: -item[1])
        assert texts(browser, "#scores .name") == [name for name, _ in ranked]
        assert texts(browser, "#scores .value") == [f"{score:.3f}" for _, score in ranked]
        assert "val/acc" in browser.find_element(By.ID, "metrics").text
        screenshot(browser, tmp_path, "sentiment")

        type_into(browser, "input", "   ")
        press(browser)
        error = browser.find_element(By.ID, "error")
        assert error.is_displayed() and error.text.startswith("text 1 is empty")


def test_api_docs_list_predict_and_load_nothing_from_elsewhere(browser, sentiment_run):
    """/docs is Swagger UI from the server's own files: it lists /predict, and every file it loads comes from the server."""
    with serving(sentiment_run) as url:
        browser.get(url + "/docs")
        wait(browser, lambda: browser.find_elements(By.CSS_SELECTOR, '.opblock-summary-path[data-path="/predict"]'))
        loaded = browser.execute_script("return performance.getEntriesByType('resource').map(entry => entry.name)")
    assert any(name.endswith("/openapi.json") for name in loaded) and all(name.startswith(url) for name in loaded), loaded


def test_generic_page_sends_the_json_body_and_shows_the_answer(browser, sentiment_run, monkeypatch, tmp_path):
    """The page of a plugin task without one of its own (here served for sentiment)."""
    from zoo import server

    monkeypatch.setattr(server, "task_page", lambda module: (server.PAGES / "generic.html").read_text(encoding="utf-8"))
    expected = zoo.load(sentiment_run).predict(["a dull script"])[0]
    with serving(sentiment_run) as url:
        open_page(browser, url)
        assert texts(browser, "#options dt") == list(zoo.load(sentiment_run).serve_options())
        type_into(browser, "input", json.dumps({"inputs": ["a dull script"]}))
        press(browser)
        [record] = json.loads(answered(browser).find_element(By.ID, "answer").text)["predictions"]
        assert record == {"input": "a dull script", **expected, "scores": pytest.approx(expected["scores"]), "score": pytest.approx(expected["score"])}
        screenshot(browser, tmp_path, "generic")

        type_into(browser, "input", '{"inputs": ["a dull script"], "colour": 1}')
        press(browser)
        error = browser.find_element(By.ID, "error")
        assert error.is_displayed() and error.text.startswith("unknown field 'colour'")
        type_into(browser, "input", '{"inputs": [')
        press(browser)
        assert error.is_displayed() and error.text.startswith("the request body is not JSON")


def test_translation_page_translates_with_the_chosen_beam(browser, output, tmp_path):
    folder = zoo.train("translation", output=output, max_epochs=12, progress=False,
                       overrides={"model.dim": 64, "model.ff_dim": 128, "model.layers": 1, "model.heads": 2, "optim.lr": 3e-3, "data.batch_size": 16}).path
    sentence = "Zwei Vögel essen am Strand."
    expected = zoo.load(folder).predict([sentence], beam=2)[0]["output"]
    with serving(folder) as url:
        open_page(browser, url)
        assert browser.find_element(By.CSS_SELECTOR, "label[for=input]").text.startswith("German")
        type_into(browser, "beam", "2")
        type_into(browser, "input", sentence)
        browser.find_element(By.ID, "input").send_keys(Keys.CONTROL, Keys.ENTER)  # as the button does
        settle(browser)
        assert answered(browser).find_element(By.ID, "output").text == expected
        assert browser.find_element(By.ID, "output-name").text == "English"
        screenshot(browser, tmp_path, "translation")


def test_summarization_page_summarizes_a_dialogue(browser, output, tmp_path):
    folder = zoo.train("summarization/lead", output=output, progress=False, overrides={"model.sentences": 2}).path
    dialogue = "Tom: Did you finish the report?\nSam: Almost. Tonight.\nTom: Thanks."
    expected = zoo.load(folder).predict([dialogue])[0]["output"]
    with serving(folder) as url:
        open_page(browser, url)
        assert browser.find_element(By.CSS_SELECTOR, "label[for=input]").text.startswith("Dialogue or document")
        assert not browser.find_element(By.ID, "beam").is_displayed()  # the lead baseline has no beam
        type_into(browser, "input", dialogue)
        press(browser)
        assert answered(browser).find_element(By.ID, "output").text == expected
        assert browser.find_element(By.ID, "output-name").text == "Summary"
        screenshot(browser, tmp_path, "summarization")


def test_gan_page_draws_the_generated_points(browser, output, tmp_path):
    folder = zoo.train("gan", output=output, progress=False, overrides={"data.toy_points": 2560, "trainer.max_epochs": 2}).path
    with serving(folder) as url:
        open_page(browser, url)
        assert not browser.find_element(By.ID, "label").is_displayed()  # not conditional
        type_into(browser, "num", "200")
        type_into(browser, "seed", "3")
        press(browser)
        answered(browser)
        assert browser.find_element(By.ID, "count").text == "200 points, seed 3"
        assert browser.find_element(By.ID, "points").is_displayed() and not browser.find_element(By.ID, "grid").is_displayed()
        assert painted(browser, "points", "rgb(255, 255, 255)") < 0.99 * 400 * 400  # dots drawn
        screenshot(browser, tmp_path, "gan")


def test_gan_page_shows_a_grid_of_images_of_the_chosen_class(browser, output, tmp_path):
    images = image_folder(output / "gan-images", per_class=24, size=16, modes=("L",))
    folder = zoo.train("gan/cdcgan", data=images, output=output, progress=False,
                       overrides={"model.width": 8, "model.latent_dim": 16, "data.batch_size": 8, "trainer.max_epochs": 1, "metrics.features": "none"}).path
    with serving(folder) as url:
        open_page(browser, url)
        assert texts(browser, "#label option")[1:] == ["dark", "light"]
        type_into(browser, "num", "24")
        browser.find_element(By.CSS_SELECTOR, "#label option[value=light]").click()
        press(browser)
        answered(browser)
        assert texts(browser, "#grid figcaption") == ["light"] * 24
        sizes = browser.execute_script("return [...document.querySelectorAll('#grid img')].map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
        assert sizes == [[True, 16, 16]] * 24
        screenshot(browser, tmp_path, "gan-images")
