"""Regression networks: `in_features` numbers in, `out_features` numbers out (standardized).

The `model.*` keys arrive keyword-only and always given: their defaults are declared once, in
the task's `Model.settings` (zoo_tasks.linear_regression), and checked there before a run.
"""

from __future__ import annotations

from torch import nn


def linear(in_features: int, out_features: int, *, bias: bool) -> nn.Module:
    """Ordinary linear regression."""
    return nn.Linear(in_features, out_features, bias=bias)


def mlp(in_features: int, out_features: int, *, hidden: int, layers: int, dropout: float) -> nn.Module:
    """`layers` hidden layers of `hidden` units with ReLU, then a linear output."""
    blocks: list[nn.Module] = []
    width = in_features
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
        width = hidden
    blocks.append(nn.Linear(width, out_features))
    return nn.Sequential(*blocks)
