"""The base of every task's LightningModule: built from (config, info), optimized from config.

A task's module implements the steps Lightning calls and the methods zoo calls:
`predict`, `predict_from_cli`, `evaluation_dataset`, `example_input`, and optionally
`describe` and `write_plots`. `usage_shell`, `usage_python`, `limits` and `interface()` are
what its saved model's card says (zoo.artifact); `interface()` also goes into exported ONNX files.
Its training step reports its loss with `log_train_loss`.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import Dataset

from zoo import optim
from zoo.config import MODEL_CHOICE
from zoo.errors import ZooError, did_you_mean
from zoo.plugins import KIND_WORDS, find_task, load_ref

MAX_SERVED_INPUTS = 1024  # in one /predict request of `zoo serve`: one request must not hold the model for long


@dataclass(frozen=True)
class Upload:
    """A file sent to `zoo serve` as a multipart part: its file name and bytes."""

    name: str
    data: bytes


@dataclass
class Request:
    """One /predict request, decoded: `inputs` as `predict` takes them (a list, or a tensor
    whose rows are the inputs), `sent` what the client sent for each (records are named by
    them), and the predict `options` it set; `alone` when an option holds a value per input,
    so that the request cannot share a forward pass with others."""

    inputs: Any
    sent: Sequence[Any]
    options: dict[str, Any]
    alone: bool = False


class ZooModule(L.LightningModule):
    """`config` is the run's resolved config; `info` the data facts from `DataBundle.info`.
    Both are plain data, so checkpoints load with `weights_only=True`.

    `forward(example_input())` is what `zoo export` writes: one tensor, or a tuple named by
    `output_names`. `predict_options` are the `zoo predict` flags the task takes (`--score-threshold 0.3`),
    each with its help; they reach `predict_from_cli` as keyword strings (`score_threshold`)."""

    predict_options: dict[str, str] = {}
    # How a saved model is used, for its model card: commands ({model} stands for the model
    # folder, with --trust-code when it carries code) and Python after `model = zoo.load(...)`.
    usage_shell: tuple[str, ...] = ("zoo predict {model} INPUT...", "zoo evaluate {model} --data DATA")
    usage_python: tuple[str, ...] = ("model.predict([...])",)
    limits: tuple[str, ...] = ()  # what the model cannot do, a sentence each (the card's "Limits")
    metric_meanings: dict[str, str] = {}  # what a metric a reader may not know measures, for the card
    monitor_note: str | None = None  # how each epoch measures the monitored metric, when the final metrics measure it otherwise
    output_names: tuple[str, ...] = ("output",)  # of `forward`, as exported (ONNX output names)
    module_keys: tuple[str, ...] = ()  # model.* keys the module uses itself, not passed to the builder
    info_files: dict[str, str] = {}  # info entries (text) saved in model/ as files of their own: key -> file name
    served_inputs_help = "the inputs, as `zoo predict` takes them"  # what /predict's "inputs" holds, for the API's docs
    takes_uploads = False  # whether /predict reads files uploaded as multipart/form-data parts named "inputs"

    def __init__(self, config: dict[str, Any], info: dict[str, Any]) -> None:
        super().__init__()
        self.config = config
        self.info = info
        self.save_hyperparameters({"config": config, "info": info})

    @property
    def hparams_initial(self) -> Any:
        """What Lightning hands the loggers (hparams.yaml, TensorBoard's hparams, MLflow's params):
        the config as given. The data's info (a tokenizer's whole JSON among it: 0.55 s a run to
        write twice as YAML) stays in the checkpoints, where loading needs it."""
        from lightning.fabric.utilities.data import AttributeDict

        return AttributeDict(config=copy.deepcopy(self._hparams_initial["config"]))

    @property
    def fitting(self) -> bool:
        """Whether a Trainer is fitting this module now (its weights change between evaluations)."""
        trainer = self._trainer  # None when no Trainer (or Fabric) runs it
        return trainer is not None and trainer.state.fn == "fit" and trainer.state.status == "running"

    def build_net(self, **dims: Any) -> torch.nn.Module:
        """The configured network, called with the data's dimensions and the model.* keys:
        a registered builder, or the user's own `model.source` ("file.py:Name"). With
        `compile: true` its forward is compiled with torch.compile."""
        model = self.config["model"]
        hparams = {k: v for k, v in model.items() if k not in (*MODEL_CHOICE, *self.module_keys)}
        if model["source"]:
            builder, origin = load_ref(model["source"]), f"model.source {model['source']!r}"
        else:
            task = find_task(self.config["task"])
            builder, origin = load_ref(task.models[model["name"]].builder), f"model {model['name']!r}"
        try:
            inspect.signature(builder).bind(**dims, **hparams)
        except TypeError as error:
            raise ZooError(
                f"{origin} cannot be built with {', '.join([*dims, *hparams])}: {error}",
                f"it is called with the data's dimensions ({', '.join(dims)}) and the model.* keys",
            ) from None
        try:
            net = builder(**dims, **hparams)
        except (ValueError, TypeError) as error:
            raise ZooError(f"{origin} rejected its settings: {error}", "check the model.* keys") from None
        if not isinstance(net, torch.nn.Module):
            raise ZooError(f"{origin} returned {type(net).__name__}, not a torch.nn.Module")
        if self.config["compile"]:
            net.compile()  # in place: state-dict keys stay those of the eager network
        return net

    def log_train_loss(self, loss: torch.Tensor, batch_size: int, name: str = "loss") -> None:
        """Add a step's loss to the epoch's mean, logged once per epoch as `train/{name}`
        (`self.log` on every step costs as much as Lightning's whole training loop)."""
        total, rows = self._train_losses.get(name, (0.0, 0))
        self._train_losses[name] = (total + loss.detach() * batch_size, rows + batch_size)

    def on_train_epoch_start(self) -> None:
        self._train_losses: dict[str, tuple[torch.Tensor | float, int]] = {}

    def on_train_epoch_end(self) -> None:
        """Subclasses that override this call `super().on_train_epoch_end()`."""
        for name, (total, rows) in self._train_losses.items():
            self.log(f"train/{name}", total / rows, prog_bar=True, sync_dist=True)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.evaluation_step(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self.evaluation_step(batch, "test")

    def evaluation_step(self, batch: Any, split: str) -> None:
        """One validation or test batch: update and log the `{split}/...` metrics."""
        raise NotImplementedError(f"{type(self).__name__} does not implement evaluation_step")

    def monitored(self) -> tuple[str | None, str]:
        """The validation metric that picks best.ckpt and whether "min" or "max" is best; a
        metric of None keeps the last epoch (for a module that finds it has nothing to judge by)."""
        return find_task(self.config["task"]).monitor_of(self.config["model"])

    def configure_optimizers(self) -> dict[str, Any]:
        monitor, mode = self.monitored()
        return optim.configure(
            [p for p in self.parameters() if p.requires_grad],  # frozen layers are not optimized
            self.config["optim"],
            total_steps=self.trainer.estimated_stepping_batches,
            max_epochs=max(1, self.trainer.max_epochs or 1),
            monitor=monitor,
            mode=mode,
        )

    # What zoo calls besides Lightning's hooks; each task implements them.

    def predict(self, inputs: Any, **options: Any) -> Sequence[Any]:
        """Python inputs -> one output each, in their order. Every task takes this one shape:
        `inputs` first (rows of numbers, texts, images; a GAN's noise vectors, which it may
        draw itself), then the task's own keyword-only `options` (classification's `top_k`,
        detection's `score_threshold`, translation's `beam`, a GAN's `num`, `seed` and `label`).
        The outputs are JSON-able records or numbers, or a tensor whose rows are the outputs
        (a GAN's samples)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement predict")

    def predict_from_cli(self, args: Sequence[str], **options: str) -> list[dict[str, Any]]:
        """Command-line inputs (values or files) and `predict_options` -> one JSON-able
        record per input."""
        raise NotImplementedError(f"{type(self).__name__} does not implement predict_from_cli")

    def format_prediction(self, record: dict[str, Any]) -> str | None:
        """One `predict_from_cli` record as text for a person (None: generic key=value text)."""
        return None

    # What `zoo serve` calls (zoo/server.py): requests that arrive together share one `predict`
    # call, so decoding checks each request's inputs before they meet others'.

    @classmethod
    @functools.cache
    def serve_options(cls) -> dict[str, str]:
        """The `predict_options` a /predict request may set, by keyword name (`score_threshold`):
        those `predict` takes. (Asked on every request: worked out once per class.)"""
        takes = inspect.signature(cls.predict).parameters
        options = {name.replace("-", "_"): help for name, help in cls.predict_options.items()}
        return {name: help for name, help in options.items() if name in takes}

    def decode_request(self, body: dict[str, Any]) -> Request:
        """A /predict body, `{"inputs": [...], OPTION: value}` -> a Request; a bad one is a ZooError."""
        self.check_fields(body)
        sent = body.get("inputs")
        if sent is None:
            raise ZooError('the request has no "inputs"', 'send {"inputs": [...]}')
        sent = sent if isinstance(sent, list) else [sent]
        if not sent:
            raise ZooError('"inputs" is empty', "send at least one input")
        if len(sent) > MAX_SERVED_INPUTS:
            raise ZooError(f"{len(sent)} inputs in one request; the server takes at most {MAX_SERVED_INPUTS}", "send them in several requests")
        options = {key: self.served_option(key, value) for key, value in body.items() if key != "inputs"}
        return Request(self.served_inputs(sent), sent, options)

    @classmethod
    @functools.cache
    def served_option_types(cls) -> dict[str, tuple[type, ...]]:
        """The types each served option may have, from `predict`'s annotations (`int | None`:
        (int, NoneType)); an option whose annotation is not plain types takes any value."""
        hints = typing.get_type_hints(cls.predict)
        kinds = {}
        for name in cls.serve_options():
            hint = hints.get(name, Any)
            allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union else (hint,)
            if all(isinstance(kind, type) and kind.__module__ == "builtins" for kind in allowed):
                kinds[name] = allowed
        return kinds

    def served_option(self, name: str, value: Any) -> Any:
        """A /predict option's value as `predict` takes it (a JSON 3 for a float is 3.0); one of
        the wrong type is a ZooError. Tasks extend it with their serving limits."""
        allowed = self.served_option_types().get(name)
        if allowed is None or (value is None and type(None) in allowed):
            return value
        if isinstance(value, bool):
            if bool in allowed:
                return value
        elif int in allowed and isinstance(value, int):
            return value
        elif float in allowed and isinstance(value, (int, float)):
            return float(value)
        elif str in allowed and isinstance(value, str):
            return value
        wanted = " or ".join(KIND_WORDS.get(kind, kind.__name__) for kind in allowed)
        raise ZooError(f"{name} must be {wanted}, not {json.dumps(value, default=str)}")  # as the client wrote it: true, "3", null

    def request_fields(self) -> list[str]:
        """The fields of a /predict body: "inputs" and the options."""
        return ["inputs", *self.serve_options()]

    def check_fields(self, body: dict[str, Any]) -> None:
        """A ZooError naming the first field of `body` that is not one of `request_fields()`."""
        fields = self.request_fields()
        for key in body:
            if key not in fields:
                raise ZooError(f"unknown field {key!r}", did_you_mean(key, fields) or f"a {self.config['task']} model takes {', '.join(fields)}")

    def served_inputs(self, sent: list[Any]) -> Any:
        """What `predict_served` takes for the inputs a client sent, each checked (default: as sent)."""
        return sent

    def predict_served(self, inputs: Any, **options: Any) -> Sequence[Any]:
        """What the server's predict thread runs on the joined `served_inputs` of the requests in
        a batch (default: `predict`). A task whose `served_inputs` already prepares each input
        (decoded, scaled, tokenized: work the event loop does while the model runs the batch
        before) takes the prepared inputs here, so the predict thread spends its time on the
        forward pass. It takes the options `predict` takes and answers as `predict` does."""
        return self.predict(inputs, **options)

    def served_records(self, request: Request, outputs: Sequence[Any]) -> list[dict[str, Any]]:
        """`predict`'s outputs for one request -> its records, as `zoo predict --json` prints them."""
        return [{"input": sent, **output} for sent, output in zip(request.sent, outputs)]

    def evaluation_dataset(self, path: Path) -> Dataset:
        """The labelled data at `path`, read the way this model was trained to read it. A dataset
        that holds more than the rows it scores (a GAN's real reference images) says `rows`."""
        raise NotImplementedError(f"{type(self).__name__} does not implement evaluation_dataset")

    def example_input(self) -> torch.Tensor:
        """One batch of model input, for tracing and export."""
        raise NotImplementedError(f"{type(self).__name__} does not implement example_input")

    def interface(self) -> dict[str, Any]:
        """What a program outside zoo needs to feed the network and read its outputs, as
        JSON-able values by name: `classes` (in output order) where there are classes, and the
        input recipe (image size, mean and std, channel order; tokenizer file, max length). The
        model card lists them, and `zoo export --format onnx` writes them into the file's metadata."""
        return {}

    def describe(self) -> dict[str, Any]:
        """What the trained model learned, in a few JSON-able values, for the run summary."""
        return {}

    def write_plots(self, folder: Path) -> None:
        """The task's own pictures of the final validation (a run's plots/ folder)."""
