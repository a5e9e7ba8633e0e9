"""Pretrained transformers models (`model.pretrained=NAME_OR_DIR`, a hub name or a folder saved
with `save_pretrained`): their config, kept in the run's info so a saved model rebuilds with no
hub, and their weights, loaded without transformers' load report and progress bars."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from zoo.errors import ZooError
from zoo.weights import is_restoring

HINT = "name a hub model or a folder saved with save_pretrained"
FINE_TUNING_LR = 1e-4  # a pretrained model fine-tuned faster than this usually forgets what it knew


def fine_tuning_notes(lr: float) -> list[str]:
    """A warning, when `lr` is high for fine-tuning."""
    return [f"optim.lr {lr:g} is high for fine-tuning a pretrained model: 2e-5 to 5e-5 is usual"] if lr > FINE_TUNING_LR else []


OFFLINE_HINT = "without a connection, download it where there is one (`hf download NAME`, or save_pretrained) and name its folder"


def cannot_load(key: str, source: str, error: Exception, hint: str = HINT) -> ZooError:
    """One line for a hub model or tokenizer (named by config `key`) that did not load: the
    first line of transformers' reason, and what to do; a missing connection says so."""
    reason = str(error).splitlines()[0].rstrip(". ") if str(error).strip() else type(error).__name__
    offline = any(words in reason.lower() for words in ("couldn't connect", "offline", "connection"))
    return ZooError(f"{key} {source!r} cannot be loaded: {reason}", OFFLINE_HINT if offline else hint)


def hub_config(source: str) -> dict[str, Any]:
    """The transformers config of the model at `source`, as a dict."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(source).to_dict()
    except (OSError, ValueError) as error:
        raise cannot_load("model.pretrained", source, error) from None


def hub_model(auto_class: Any, source: str, hf_config: Mapping[str, Any], overrides: Mapping[str, Any] | None = None, **load_options: Any) -> nn.Module:
    """`auto_class.from_pretrained(source)` (an AutoModelFor... class) with config `overrides`,
    in training mode; while a saved zoo model is restored, the same layers built from
    `hf_config`, their weights coming from the zoo model."""
    from transformers import AutoConfig
    from transformers.utils import logging

    overrides = dict(overrides or {})
    if is_restoring():
        return auto_class.from_config(AutoConfig.for_model(**{**hf_config, **overrides}))
    verbosity = logging.get_verbosity()
    logging.set_verbosity_error()  # its load report only lists the layers that are new
    logging.disable_progress_bar()
    try:
        return auto_class.from_pretrained(source, **overrides, **load_options).train()
    except (OSError, ValueError) as error:
        raise cannot_load("model.pretrained", source, error) from None
    finally:
        logging.set_verbosity(verbosity)
        logging.enable_progress_bar()
