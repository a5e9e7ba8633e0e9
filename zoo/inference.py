"""Values worked out from a model's weights to predict faster (a table, layers folded together),
kept while the weights stay as they are."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch


def predicting(module: torch.nn.Module) -> bool:
    """Whether `module` runs for a prediction only: in eval mode, without gradients, and not
    being traced or compiled (an exported or compiled graph keeps the plain layers)."""
    return not module.training and not torch.is_grad_enabled() and not torch.compiler.is_compiling()


class WeightsCache:
    """One value made from some weights, made again when one of them has another storage or has
    been written in place since (its version counter). Not seen: writes through `.data`, which
    bypass the counter; the owner clears the cache when it switches between training and eval,
    which covers a training loop. Inference tensors have no counter: their value is made anew
    each time. Copies and pickles of the owner start empty."""

    def __init__(self) -> None:
        self._made: tuple[tuple[Any, ...], Any] | None = None

    def get(self, weights: Sequence[torch.Tensor], make: Callable[[], Any]) -> Any:
        """The value `make()` gives for `weights` as they are now (made in full precision)."""
        with torch.autocast(weights[0].device.type, enabled=False):
            if any(w.is_inference() for w in weights):
                return make()
            key = tuple((w.data_ptr(), w._version) for w in weights)
            made = self._made
            if made is None or made[0] != key:
                made = self._made = (key, make())
        return made[1]

    def clear(self) -> None:
        self._made = None

    def __getstate__(self) -> dict[str, Any]:
        return {"_made": None}
