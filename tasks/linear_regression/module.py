"""The regression LightningModule: the network sees standardized numbers, users see raw ones."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanAbsoluteError, MeanSquaredError, MetricCollection, R2Score

from zoo.errors import ZooError, counted
from zoo.module import Request, ZooModule
from zoo_tasks.linear_regression.data import Rows, labelled, numbers, read_table, require_columns


class RegressionModule(ZooModule):
    """Raw features -> raw target. Training standardizes both with the training rows'
    statistics, so the default SGD converges in a few dozen steps on any scale of data."""

    served_inputs_help = "rows of numbers, one per input (or a number per input when the model has one feature)"

    usage_shell = ("zoo predict {model} rows.csv --json", "zoo evaluate {model} --data table.csv")
    usage_python = ("model.predict(rows)  # rows: lists of the feature values, in the order of `features`",)
    limits = ("Predictions for feature values outside the training rows' range are extrapolations.",)

    def __init__(self, config: dict[str, Any], info: dict[str, Any]) -> None:
        super().__init__(config, info)
        self.features: list[str] = info["features"]
        self.target: str = info["target"]
        self.net = self.build_net(in_features=len(self.features), out_features=1)
        for name in ("x_mean", "x_std", "y_mean", "y_std"):
            self.register_buffer(name, torch.tensor(info[name], dtype=torch.float32), persistent=False)
        self.metrics = nn.ModuleDict(
            {
                split: MetricCollection(
                    {"mse": MeanSquaredError(), "mae": MeanAbsoluteError(), "r2": R2Score()}, prefix=f"{split}/"
                )
                for split in ("val", "test")
            }
        )

    def standardized(self, x: torch.Tensor) -> torch.Tensor:
        """The network's prediction in standardized target units."""
        return self.net((x - self.x_mean) / self.x_std).reshape(x.shape[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.standardized(x) * self.y_std + self.y_mean

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = F.mse_loss(self.standardized(x), (y - self.y_mean) / self.y_std)
        self.log_train_loss(loss, batch_size=len(x))
        return loss

    def evaluation_step(self, batch: Sequence[torch.Tensor], split: str) -> None:
        x, y = batch
        scaled = self.standardized(x)
        loss = F.mse_loss(scaled, (y - self.y_mean) / self.y_std)
        self.log(f"{split}/loss", loss, prog_bar=split == "val", batch_size=len(x), sync_dist=True)
        metrics = self.metrics[split]
        metrics.update(scaled * self.y_std + self.y_mean, y)
        self.log_dict(metrics, batch_size=len(x))

    def predict(self, inputs: Any) -> list[float]:
        """Rows of feature values (a single number per row when there is one feature)."""
        x = self._rows(inputs).to(self.device)
        with torch.inference_mode():
            return self(x).cpu().tolist()

    def _rows(self, inputs: Any, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        try:
            x = torch.as_tensor(inputs, dtype=dtype)
        except (ValueError, TypeError) as error:
            raise ZooError(f"predict inputs must be rows of numbers: {error}") from None
        width = len(self.features)
        if x.ndim == 1:
            x = x.unsqueeze(1) if width == 1 else x.unsqueeze(0)
        if x.ndim != 2 or x.shape[1] != width:
            got = f"{counted(x.shape[-1], 'number')}" if x.ndim == 2 else f"an array of shape {tuple(x.shape)}"
            raise ZooError(f"each input needs {counted(width, 'number')} ({', '.join(self.features)}); got {got}",
                           "separate one input's numbers by commas (zoo predict RUN 1.5,2), inputs by spaces")
        if not torch.isfinite(x).all():
            raise ZooError("predict inputs must be finite numbers, not nan or inf")
        return x

    def predict_from_cli(self, args: Sequence[str]) -> list[dict[str, float]]:
        """Each argument is a row ("4" or "1.5,2") or a CSV file with the feature columns."""
        if not args:
            raise ZooError("no rows to predict", "name them after the run folder: 4 or 1.5,2 or rows.csv")
        rows: list[list[float]] = []
        for arg in args:
            try:
                rows.append([float(v) for v in arg.split(",")])
            except ValueError:
                if not Path(arg).is_file():
                    raise ZooError(f"predict input {arg!r} is neither numbers nor a file", "pass 4 or 1.5,2 or rows.csv") from None
                table = read_table(Path(arg), self.features)
                require_columns(table, self.features, role="feature")
                rows += numbers(table, self.features)[0].tolist()
        return self._records(rows, self.predict(rows))

    def _records(self, rows: list[list[float]], predictions: Sequence[float]) -> list[dict[str, float]]:
        """Each row with its prediction, named like the data's columns."""
        return [{**dict(zip(self.features, row)), self.target: y} for row, y in zip(rows, predictions)]

    def served_inputs(self, sent: list[Any]) -> list[list[float]]:
        return self._rows(sent, torch.float64).tolist()  # records show the numbers sent, as zoo predict's show those given

    def served_records(self, request: Request, outputs: Sequence[float]) -> list[dict[str, float]]:
        return self._records(request.inputs, outputs)

    def evaluation_dataset(self, path: Path) -> Rows:
        """The rows of `path`, its columns named as in training, or by data.target and
        data.features (as many as the model takes) when the evaluated table names them otherwise."""
        data = self.config["data"]
        features = data["features"] or self.features
        features = [f.strip() for f in features.split(",")] if isinstance(features, str) else [str(f) for f in features]
        if len(features) != len(self.features):
            raise ZooError(f"data.features names {len(features)} of the {len(self.features)} columns the model takes ({', '.join(self.features)})")
        target = str(data["target"] or self.target)
        return labelled(read_table(path, [*features, target]), features, target)

    def example_input(self) -> torch.Tensor:
        return torch.stack([self.x_mean, self.x_mean + self.x_std]).cpu()

    def interface(self) -> dict[str, Any]:
        return {
            "features": self.features,
            "target": self.target,
            "input": f"float rows (N, {len(self.features)}) of the features in their own units: standardization is inside the network",
            "output": f"{self.target} (N,) in its own units",
        }

    def describe(self) -> dict[str, Any]:
        """The learned weights and bias in the data's own units (for a linear network), and the
        predictions for the demo's questions."""
        summary: dict[str, Any] = {}
        linear = [m for m in self.net.modules() if isinstance(m, nn.Linear)]
        if len(linear) == 1 and len(list(self.net.parameters())) == len(list(linear[0].parameters())):
            weight = (linear[0].weight.detach().reshape(-1) * self.y_std / self.x_std).cpu()
            scaled_bias = linear[0].bias.detach().item() if linear[0].bias is not None else 0.0
            bias = (self.y_mean + self.y_std * scaled_bias).cpu() - (weight * self.x_mean.cpu()).sum()
            summary["weight"] = weight.item() if len(weight) == 1 else dict(zip(self.features, weight.tolist()))
            summary["bias"] = bias.item()
        if self.info["examples"]:
            summary["predictions"] = self._records(self.info["examples"], self.predict(self.info["examples"]))
        return summary
