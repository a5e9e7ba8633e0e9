"""The model of {{app_name}}. It is yours: change it, and `zoo train --config config.yaml` trains it.

zoo calls `PriceModel(in_features=..., out_features=1, **model_keys)`, where `model_keys` are the
other keys of the `model:` section in config.yaml. Inputs and target arrive standardized (mean 0,
standard deviation 1); zoo converts predictions back to the data's units.
"""

from torch import nn


class PriceModel(nn.Module):
    def __init__(self, in_features: int, out_features: int = 1) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x):
        return self.linear(x)
