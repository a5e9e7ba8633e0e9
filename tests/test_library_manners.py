"""zoo used as a library leaves the caller's process as it found it (warnings, matplotlib), and
every task's module is used the same way (one `predict` shape, a model card that is right)."""

from __future__ import annotations

import inspect
import sys
import warnings

import pytest
import torch

import zoo
import zoo_cli as cli
from zoo.plugins import load_ref


def test_the_cli_shows_warnings_on_one_line_only_while_it_runs(zoo_cli, monkeypatch):
    def warns(args):
        warnings.warn("careful", UserWarning)

    monkeypatch.setitem(cli.COMMAND_HANDLERS, "list", warns)
    before = warnings.showwarning
    result = zoo_cli("list")
    assert result.code == 0 and result.err == "zoo: warning: careful\n"
    assert warnings.showwarning is before
    mistaken = zoo_cli("trian")  # an error leaves it as it was too
    assert mistaken.code == 2 and warnings.showwarning is before


def test_drawing_plots_leaves_the_matplotlib_backend_alone(tmp_path):
    import matplotlib

    from zoo.class_metrics import confusion_plot
    from zoo.plots import curve_plots
    from zoo_tasks.gan import plots as gan_plots

    original = matplotlib.rcParams["backend"]
    matplotlib.use("pdf")  # as a notebook or an application might have chosen
    try:
        log = tmp_path / "metrics.csv"
        log.write_text("epoch,step,train/loss,val/loss,val/acc\n0,1,1.0,1.5,0.5\n1,2,0.5,0.8,0.7\n")
        assert [p.name for p in curve_plots(log, tmp_path / "plots", "a title", "val/acc")] == ["loss.png", "acc.png"]
        confusion_plot(torch.tensor([[3, 1], [0, 4]]), ["a", "b"], tmp_path / "plots" / "confusion.png", "images")
        gan_plots.scatter(torch.randn(20, 2), torch.zeros(1, 2), 0.1, tmp_path / "plots" / "points.png", "points")
        assert all((tmp_path / "plots" / name).stat().st_size for name in ("loss.png", "acc.png", "confusion.png", "points.png"))
        assert matplotlib.rcParams["backend"] == "pdf"
        if "matplotlib.pyplot" in sys.modules:
            assert sys.modules["matplotlib.pyplot"].get_fignums() == []  # no figure left open in pyplot
    finally:
        matplotlib.rcParams["backend"] = original


def _modules() -> dict[str, type]:
    """Every ZooModule class a task or one of its models names."""
    found = {}
    for task in zoo.list_tasks():
        for ref in {task.module, *(spec.module for spec in task.models.values() if spec.module)}:
            found[ref] = load_ref(ref)
    return found


def test_every_task_predicts_with_one_signature():
    """`predict(inputs, *, options)`: inputs first, the task's own options by keyword only."""
    for ref, module in _modules().items():
        parameters = list(inspect.signature(module.predict).parameters.values())[1:]
        assert parameters[0].name == "inputs" and parameters[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, ref
        assert all(p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD) for p in parameters[1:]), ref


@pytest.mark.parametrize("ref", sorted(_modules()))
def test_the_model_card_tells_how_each_module_is_used(ref):
    from zoo.artifact import model_card

    module = load_ref(ref)
    config = {"task": "t", "model": {"name": "m", "source": None}, "data": {"path": None}, "optim": {"name": "adam", "lr": 0.1, "scheduler": "none"}, "seed": 0}
    card = model_card(config, {}, 1, [], module.usage_shell, module.usage_python)
    shell = [line.format(model="path/to/this/folder") for line in module.usage_shell]
    assert shell and all(line.startswith(("zoo predict path/to/this/folder", "zoo evaluate path/to/this/folder")) and line in card for line in shell), ref
    assert "model.predict(" in card
    if "gan" in ref:
        assert "INPUT" not in card and "--data" not in card and "model.predict([" not in card


def test_training_and_evaluating_leave_logging_and_warning_filters_as_they_were(tmp_path):
    import logging

    lightning_log = logging.getLogger("lightning.pytorch")
    lightning_log.setLevel(logging.INFO)  # as a user debugging their own Lightning code might
    filters = list(warnings.filters)
    try:
        run = zoo.train("linear-regression", output=tmp_path, progress=False, max_epochs=2)
        zoo.evaluate(run.path)
        assert lightning_log.level == logging.INFO
        assert warnings.filters == filters
    finally:
        lightning_log.setLevel(logging.NOTSET)
