"""Values worked out from a model's weights to predict faster (a table, layers folded together,
a frozen graph), kept while the weights stay as they are."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch


def predicting(module: torch.nn.Module) -> bool:
    """Whether `module` runs for a prediction only: every layer in eval mode, without gradients, and not
    being traced or compiled (an exported or compiled graph keeps the plain layers)."""
    return (not torch.is_grad_enabled() and not torch.compiler.is_compiling() and not torch.jit.is_tracing()
            and not any(layer.training for layer in module.modules()))  # a layer adapting at test time (a batch norm in train mode): the plain layers


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


def traces_faithfully(net: torch.nn.Module) -> torch.nn.Module:
    """Marks `net` as a network whose forward pass takes no branch on its inputs' values (tracing
    records one path), so `FrozenGraph` may run it as a graph; returns it."""
    net._zoo_traces_faithfully = True  # a plain attribute: not in the state dict
    return net


class FrozenGraph:
    """A network's prediction on the CPU as one frozen TorchScript graph: traced, then frozen
    (weights made constants, each batch norm folded into the convolution before it). The graph
    runs its operations in C++ without taking Python's GIL between them, so in `zoo serve` a
    forward pass does not wait at each operation for the event loop answering other requests
    (measured, benchmarks/serve.py at 32 clients: `classification/resnet18` 1.3x the requests a
    second in batches and 1.4x one at a time; `cnn` 1.1-1.2x in batches). Made again when a weight
    changes (WeightsCache), in about 0.1 s.

    Only for networks marked `traces_faithfully`, predicting (`predicting`: every layer in eval
    mode), on the CPU, without autocast, forward hooks (features read from a layer) or
    torch.func transforms; otherwise, or where tracing fails or the graph disagrees with the
    network on a batch of another size, the network runs as it is. TorchScript is deprecated for
    torch.compile and torch.export: with torch 2.15 here, inductor's freezing failed on
    channels-last convolutions and compiling takes seconds to minutes per model, where a trace
    takes 0.04-0.1 s."""

    def __init__(self) -> None:
        self._made = WeightsCache()
        self._signature: tuple[Any, ...] | None = None  # the traced inputs' shape but the batch, and dtype

    def __call__(self, net: torch.nn.Module, inputs: torch.Tensor) -> torch.Tensor:
        """`net(inputs)`, through the graph where it applies."""
        if not (getattr(net, "_zoo_traces_faithfully", False) and predicting(net) and inputs.device.type == "cpu"
                and not torch.is_autocast_enabled("cpu") and not torch._C._are_functorch_transforms_active() and not _hooked(net)):
            return net(inputs)
        weights = [*net.parameters(), *net.buffers()]
        if not weights or any(w.is_inference() for w in weights):  # no version counters to see a change by
            return net(inputs)
        signature = (tuple(inputs.shape[1:]), inputs.dtype)
        if signature != self._signature:
            self._made.clear()
            self._signature = signature
        graph = self._made.get(weights, lambda: _frozen(net, inputs))
        return net(inputs) if graph is None else graph(inputs)

    def clear(self) -> None:
        """Forget the graph (its owner switched between training and eval: weights written through
        `.data` have no version to see the change by)."""
        self._made.clear()


def _hooked(net: torch.nn.Module) -> bool:
    """Whether a forward hook watches `net` or a layer in it (a graph would run without it)."""
    from torch.nn.modules import module

    return bool(module._global_forward_hooks or module._global_forward_pre_hooks) or any(
        layer._forward_hooks or layer._forward_pre_hooks for layer in net.modules())


def _frozen(net: torch.nn.Module, inputs: torch.Tensor) -> torch.jit.ScriptModule | None:
    """`net` traced on inputs shaped like `inputs` and frozen, or None where that fails or the
    graph's outputs differ from the network's on random inputs of another batch size (a trace
    that kept a batch size, or a branch, of the traced inputs)."""
    import warnings

    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")  # TorchScript's deprecation; tracer warnings of shape checks that hold for every input the task sends
            graph = torch.jit.freeze(torch.jit.trace(net, torch.zeros(inputs.shape, dtype=inputs.dtype), check_trace=False))
            probe = torch.rand(2 if len(inputs) == 1 else 1, *inputs.shape[1:]).to(inputs.dtype)
            expected, got = net(probe), graph(probe)
            if not (isinstance(got, torch.Tensor) and got.shape == expected.shape and torch.allclose(got, expected, rtol=1e-4, atol=1e-5)):
                return None
            return graph
    except Exception:  # a network tracing cannot follow: it runs as it is
        return None
