"""The sentiment LightningModule: texts in, class probabilities out.

The tokenizer travels with the model (model/tokenizer.json), so prediction reads texts
exactly as training did.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from zoo import text, tokens
from zoo.class_metrics import class_metrics, confusion_plots, log_class_metrics
from zoo.errors import ZooError
from zoo.module import ZooModule
from zoo_tasks.sentiment import models
from zoo_tasks.sentiment.data import TextDataset, encode_labels, single_split

PREDICT_BATCH = 128


class SentimentModule(ZooModule):
    """Cross-entropy training; accuracy, macro F1, per-class precision and recall."""

    served_inputs_help = "texts, one per input"

    predict_options = {"file": "a UTF-8 text file, one text per line (blank lines are skipped)"}
    module_keys = ("tokenizer", "tokenizer_kind", "vocab_size", "lowercase", "pretrained")
    info_files = {"tokenizer": text.TOKENIZER_FILE}
    usage_shell = ('zoo predict {model} "a gripping film" "a dull, predictable plot"', "zoo predict {model} --file reviews.txt --json", "zoo evaluate {model} --data reviews.csv")
    usage_python = ('model.predict(["a gripping film"])  # [{"label", "score", "scores"}]',)
    limits = (
        "It always answers with one of its classes, even for text that expresses none of them.",
        "Texts are cut at max_length tokens; words the tokenizer never saw in training are split into pieces it may misread.",
        "Export is not offered: predict with zoo or zoo.load.",
    )

    def __init__(self, config: dict[str, Any], info: dict[str, Any]) -> None:
        super().__init__(config, info)
        from tokenizers import Tokenizer

        self.classes: list[str] = info["classes"]
        self.tokenizer = Tokenizer.from_str(info["tokenizer"])
        self.pad_id: int = info["pad_id"]
        self.max_length: int = info["max_length"]
        if info["pretrained"]:
            self.net = models.pretrained(info["pretrained"]["source"], info["pretrained"]["config"], self.classes)
        else:
            self.net = self.build_net(vocab_size=info["vocab_size"], num_classes=len(self.classes), pad_id=self.pad_id)
        self.metrics = nn.ModuleDict({split: class_metrics(len(self.classes), split) for split in ("val", "test")})
        self.confusion: dict[str, torch.Tensor] = {}  # of each split's latest evaluation, for the plots

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits (N, classes) of token ids (N, L) padded after each text's `lengths` (N,)."""
        return self.net(ids, lengths)

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> torch.Tensor:
        ids, lengths, targets = batch
        loss = F.cross_entropy(self(ids, lengths), targets)
        self.log_train_loss(loss, batch_size=len(targets))
        return loss

    def evaluation_step(self, batch: Sequence[torch.Tensor], split: str) -> None:
        ids, lengths, targets = batch
        logits = self(ids, lengths)
        self.log(f"{split}/loss", F.cross_entropy(logits, targets), prog_bar=split == "val", batch_size=len(targets), sync_dist=True)
        self.metrics[split].update(logits, targets)

    def on_validation_epoch_end(self) -> None:
        self.confusion["val"] = log_class_metrics(self, self.metrics["val"], "val", self.classes)

    def on_test_epoch_end(self) -> None:
        self.confusion["test"] = log_class_metrics(self, self.metrics["test"], "test", self.classes)

    # Prediction -----------------------------------------------------------------------------

    def predict(self, inputs: Sequence[str] | str, *, batch_size: int = PREDICT_BATCH) -> list[dict[str, Any]]:
        """Each text of `inputs` -> its label, that label's probability (`score`) and every label's
        probability (`scores`). Texts are batched by length; records keep the input order."""
        return self.predict_served(self._token_ids(text.checked_texts(inputs)), batch_size=batch_size)

    def served_inputs(self, sent: list[Any]) -> list[list[int]]:
        return self._token_ids(text.checked_texts(sent))

    def predict_served(self, ids: list[list[int]], *, batch_size: int = PREDICT_BATCH) -> list[dict[str, Any]]:
        """The token ids of texts, as `_token_ids` gives them -> `predict`'s records."""
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        probabilities = torch.empty(len(ids), len(self.classes))
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                chosen = order[start : start + batch_size]
                batch, lengths = text.pad([ids[i] for i in chosen], self.pad_id)
                logits = self(batch.to(self.device), lengths.to(self.device))
                probabilities[chosen] = logits.float().softmax(dim=1).cpu()
        return self._records(probabilities)

    def _token_ids(self, texts: list[str]) -> list[list[int]]:
        return tokens.encode(self.tokenizer, texts, self.max_length, special_tokens=True)[0]

    def _records(self, probabilities: torch.Tensor) -> list[dict[str, Any]]:
        """A record per row of `probabilities` (N, classes)."""
        records = []
        for best, row in zip(probabilities.argmax(dim=1).tolist(), probabilities.tolist()):
            scores = {label: round(p, 6) for label, p in zip(self.classes, row)}
            records.append({"label": self.classes[best], "score": scores[self.classes[best]], "scores": scores})
        return records

    def predict_from_cli(self, args: Sequence[str], file: str | None = None) -> list[dict[str, Any]]:
        """The texts given, then the lines of `--file`."""
        texts = text.cli_texts(args, file, example="a gripping film")
        return [{"input": t, **record} for t, record in zip(texts, self.predict(texts))]

    def format_prediction(self, record: dict[str, Any]) -> str:
        return f"{record['label']} {record['score']:.3f}  {record['input']}"

    # Evaluation, export, summary ------------------------------------------------------------

    def evaluation_dataset(self, path: Path) -> TextDataset:
        """Labelled texts at `path` (for a folder with splits, its test or else val part)."""
        texts = single_split(path, self.config["data"])
        ids = tokens.token_ids(texts.texts, self.tokenizer, self.max_length, special_tokens=True)
        return TextDataset(ids, encode_labels(texts, self.classes), self.pad_id)

    def example_input(self) -> torch.Tensor:
        raise ZooError(
            "exporting sentiment models is not offered yet",
            "predict with zoo.load(RUN).predict; a transformer's network saves with zoo.load(RUN).net.model.save_pretrained(DIR)",
        )

    def interface(self) -> dict[str, Any]:
        return {
            "classes": self.classes,
            "input": "texts, encoded by the tokenizer with its special tokens",
            "tokenizer": self.info_files["tokenizer"],
            "max_length": self.max_length,
            "output": "logits (N, classes): softmax gives the probabilities",
        }

    def write_plots(self, folder: Path) -> None:
        confusion_plots(self.confusion, self.classes, folder, "texts")

    def describe(self) -> dict[str, Any]:
        source = self.info["pretrained"]["source"] if self.info["pretrained"] else None
        return {"classes": ", ".join(self.classes), "vocabulary": f"{self.info['vocab_size']:,} tokens", **({"pretrained": source} if source else {})}
