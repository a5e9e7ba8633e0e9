"""Pictures a user reads without help: whole epochs, losses that say what they measure, labels
that can be read and stay inside the image."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch


@pytest.fixture
def drawn(monkeypatch) -> list:
    """The matplotlib figures saved while a test runs."""
    from matplotlib.figure import Figure

    figures, save = [], Figure.savefig

    def keep(figure, *args, **kwargs):
        figures.append(figure)
        return save(figure, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    return figures


def _log(tmp_path: Path, epochs: int) -> Path:
    rows = [f"{e},{e + 1},{2.0 / (e + 1)},{1.0 / (e + 1)},{e / 10}" for e in range(epochs)]
    log = tmp_path / "metrics.csv"
    log.write_text("epoch,step,train/loss,val/loss,val/map\n" + "\n".join(rows) + "\n")
    return log


@pytest.mark.parametrize("epochs", [3, 8, 45])
def test_epoch_axes_tick_whole_epochs(tmp_path, drawn, epochs):
    from zoo.plots import curve_plots

    written = curve_plots(_log(tmp_path, epochs), tmp_path / "plots", "detection/yolo", "val/map")
    assert [p.name for p in written] == ["loss.png", "map.png"]
    for figure in drawn:
        ticks = [t for t in figure.axes[0].get_xticks() if 1 <= t <= epochs]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_a_label_smoothed_training_loss_is_named_beside_the_plain_validation_loss(tmp_path, drawn):
    from zoo.plots import curve_plots

    curve_plots(_log(tmp_path, 4), tmp_path / "plots", "translation/transformer", "val/bleu", label_smoothing=0.1)
    axes = drawn[0].axes[0]
    legend = [text.get_text() for text in axes.get_legend().get_texts()]
    assert legend == ["train/loss (label-smoothed 0.1)", "val/loss (no smoothing)"]
    assert "label-smoothed" in axes.get_title()


def test_plain_losses_keep_their_names(tmp_path, drawn):
    from zoo.plots import curve_plots

    curve_plots(_log(tmp_path, 4), tmp_path / "plots", "sentiment/textcnn", "val/acc")
    assert [t.get_text() for t in drawn[0].axes[0].get_legend().get_texts()] == ["train/loss", "val/loss"]
    assert drawn[0].axes[0].get_title() == "sentiment/textcnn"


def _tag_extent(image: torch.Tensor, rgb: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the pixels of colour `rgb` in a uint8 (3, H, W) image."""
    mask = (image == torch.tensor(rgb, dtype=torch.uint8)[:, None, None]).all(dim=0)
    rows, columns = mask.any(dim=1).nonzero().flatten(), mask.any(dim=0).nonzero().flatten()
    return int(columns.min()), int(rows.min()), int(columns.max()), int(rows.max())


@pytest.mark.parametrize("side", [128, 1280])
def test_detection_labels_sit_on_a_tag_inside_the_image_in_a_font_that_scales(side):
    from PIL import ImageColor

    from zoo_tasks.detection.plots import annotate, color

    image = torch.full((3, side, side), 128, dtype=torch.uint8)
    narrow = [side - side / 20, side / 2, float(side), 0.9 * side]  # at the right edge, narrower than its label
    drawn = annotate(image, [{"label": "circle", "score": 0.93, "box": narrow}], ["circle"])
    assert drawn.shape == image.shape  # drawn on the image as it is
    above = drawn[:, : side // 2]  # the tag sits above the box
    left, top, right, bottom = _tag_extent(above, ImageColor.getrgb(color(0)))
    assert right == side - 1 and left > 0  # shifted in from the edge, whole
    tag = above[:, top:bottom + 1, left:right + 1]
    ink = ((tag < 60).all(dim=0) | (tag > 200).all(dim=0)).sum()
    assert ink > 20  # the text is (nearly) black or white on the filled tag
    height = bottom - top + 1
    assert height >= max(11, side / 40)  # legible, and larger on larger images
    assert right - left > 4 * height  # "circle 0.93" whole, not cut to "circl"


def test_detection_labels_on_one_box_are_stacked_not_drawn_over_each_other():
    from PIL import ImageColor

    from zoo_tasks.detection.plots import annotate, color

    image = torch.full((3, 320, 320), 128, dtype=torch.uint8)
    box = [50.0, 100.0, 250.0, 200.0]
    drawn = annotate(image, [{"label": "circle", "score": 0.9, "box": box}, {"label": "ring", "score": 0.6, "box": box}], ["circle", "ring"])
    inside = drawn[:, :, 52:248]  # between the box's side lines
    for index in (0, 1):
        filled = (inside == torch.tensor(ImageColor.getrgb(color(index)), dtype=torch.uint8)[:, None, None]).all(dim=0)
        rows = int((filled.sum(dim=1) >= 20).sum())  # rows a tag (or the box's top line) fills
        assert rows >= 11, (index, rows)  # each tag shows whole, neither drawn over the other


def test_prediction_grid_enlarges_small_images_into_square_tiles(tmp_path):
    from PIL import Image

    from zoo_tasks.detection.plots import MIN_SIDE, prediction_grid

    images = [torch.zeros(3, 64, 48, dtype=torch.uint8), torch.zeros(3, 100, 100, dtype=torch.uint8)]
    found = {"boxes": torch.tensor([[30.0, 0.0, 48.0, 20.0]]), "scores": torch.tensor([0.9]), "labels": torch.tensor([0])}
    truth = {"boxes": torch.tensor([[30.0, 0.0, 48.0, 20.0]]), "labels": torch.tensor([0])}
    target = prediction_grid([(image, found, truth) for image in images], ["circle"], tmp_path / "predictions.png")
    assert Image.open(target).size == (2 * MIN_SIDE + 3 * 4, MIN_SIDE + 2 * 4)  # both enlarged, square tiles, 4-pixel gaps


def test_losses_spanning_decades_are_drawn_on_a_log_axis_and_shares_never():
    from zoo.plots import log_scale

    assert log_scale([1.0, 1e-3, 1e-9], "loss") and log_scale([3000.0, 12.0], "mse")
    assert not log_scale([0.001, 0.5, 0.96], "balanced_hq") and not log_scale([0.9, 0.5], "loss")
