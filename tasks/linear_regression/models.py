"""Regression networks: `in_features` numbers in, `out_features` numbers out (standardized)."""

from __future__ import annotations

from torch import nn


def linear(in_features: int, out_features: int = 1, bias: bool = True) -> nn.Module:
    """Ordinary linear regression."""
    return nn.Linear(in_features, out_features, bias=bias)


def mlp(in_features: int, out_features: int = 1, hidden: int = 32, layers: int = 2, dropout: float = 0.0) -> nn.Module:
    """`layers` hidden layers of `hidden` units with ReLU, then a linear output."""
    blocks: list[nn.Module] = []
    width = in_features
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
        width = hidden
    blocks.append(nn.Linear(width, out_features))
    return nn.Sequential(*blocks)
