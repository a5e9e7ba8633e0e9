"""Data, network and LightningModule of the `mean` task."""

import torch
from torch.utils.data import TensorDataset

from zoo.data import DataBundle
from zoo.module import ZooModule


class Scalar(torch.nn.Module):
    def __init__(self, *, start: float) -> None:
        super().__init__()
        self.value = torch.nn.Parameter(torch.tensor(start))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.value.expand(len(x))


def build_data(config: dict) -> DataBundle:
    values = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]).repeat(config["data"]["repeats"])
    dataset = TensorDataset(values)
    return DataBundle(train=dataset, val=dataset, info={})


class MeanModule(ZooModule):
    def __init__(self, config: dict, info: dict) -> None:
        super().__init__(config, info)
        self.net = self.build_net()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch, batch_idx):
        (x,) = batch
        loss = torch.nn.functional.mse_loss(self(x), x)
        self.log_train_loss(loss, batch_size=len(x))
        return loss

    def evaluation_step(self, batch, split):
        (x,) = batch
        self.log(f"{split}/loss", torch.nn.functional.mse_loss(self(x), x))

    def predict(self, inputs):
        return [self.net.value.item() for _ in inputs]

    def predict_from_cli(self, args):
        return [{"mean": value} for value in self.predict(args)]
