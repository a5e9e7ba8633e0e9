"""The LightningModules of the sequence-to-sequence tasks: texts in, texts out.

`TextToTextModule` scores a model's outputs against the references with the task's metrics,
writes samples and serves `zoo predict`; any text-to-text model fits it (summarization's lead).
`Seq2SeqModule` trains an encoder-decoder by teacher forcing with label-smoothed cross-entropy;
each validation decodes greedily (fast), while prediction, `zoo evaluate` and the final metrics
decode with the configured beam. Its tokenizers travel with the model
(model/source_tokenizer.json, model/target_tokenizer.json).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from zoo import splits, tables, text, tokens
from zoo.errors import ZooError
from zoo.module import ZooModule
from zoo.seq2seq.copying import Copying
from zoo.seq2seq.data import Columns, Pairs, encode_pairs, read_configured, tokenizers_of
from zoo.seq2seq.decoding import decode
from zoo.seq2seq.models import PretrainedSeq2Seq, pretrained, sequence_loss
from zoo.seq2seq.pointer import Penalized

PREDICT_BATCH = 64
MAX_SERVED_BEAM = 16  # in one /predict request of `zoo serve`: a beam's work grows with its size
SAMPLES = 20  # validation outputs written beside their references


class TextToTextModule(ZooModule):
    """Texts in, texts out: scoring of the outputs, samples, and the `zoo predict` plumbing.
    A task subclasses it with `scores` (hypotheses, references -> {name: value}), `headline`
    (the score the progress bar shows and the checkpoint is picked by) and `columns`; a model
    with `outputs(texts, beam)` and an `evaluation_step` that calls `keep_outputs`."""

    served_inputs_help = "source texts, one per input"

    scores: Callable[[Sequence[str], Sequence[str]], dict[str, float]]
    headline: str
    columns: Columns  # the usual names of the source and target columns of tables
    example_text: str  # a source, for the hint of `zoo predict` without any
    monitor_note = "each epoch: greedy decoding; final metrics: beam search"
    predict_options = {"file": "a UTF-8 text file, one source per line (blank lines are skipped), or a table (CSV, JSONL...) with a source column"}

    def __init__(self, config: dict[str, Any], info: dict[str, Any]) -> None:
        super().__init__(config, info)
        self._outputs: dict[int, str] = {}  # validation outputs by row, for the epoch's scores
        self.samples: list[dict[str, str]] = []

    def outputs(self, texts: list[str], beam: int | None) -> list[str]:
        """The output text of each source text."""
        raise NotImplementedError(f"{type(self).__name__} does not implement outputs")

    def keep_outputs(self, rows: torch.Tensor, outputs: Sequence[str]) -> None:
        """Outputs of one evaluation batch, scored together at the epoch's end."""
        self._outputs.update(zip(rows.tolist(), outputs))

    def on_validation_epoch_end(self) -> None:
        self._log_scores("val", self.trainer.val_dataloaders)

    def on_test_epoch_end(self) -> None:
        self._log_scores("test", self.trainer.test_dataloaders)

    def _log_scores(self, split: str, loader: Any) -> None:
        if self.trainer.sanity_checking or not self._outputs:
            self._outputs.clear()
            return
        dataset = loader.dataset
        rows = sorted(self._outputs)
        hypotheses = [self._outputs[r] for r in rows]
        references = dataset.references.take(rows)
        for name, value in self.scores(hypotheses, references).items():
            self.log(f"{split}/{name}", value, prog_bar=name == self.headline, rank_zero_only=True)
        shown = rows[:SAMPLES]
        self.samples = [
            {"source": source, "reference": reference, "output": self._outputs[r]}
            for r, source, reference in zip(shown, dataset.source_texts.take(shown), references[:SAMPLES])
        ]
        self._outputs.clear()

    def predict(self, inputs: Sequence[str] | str, *, beam: int | None = None) -> list[dict[str, str]]:
        """Each source text of `inputs` -> {"output": its translation or summary}; `beam` for
        the models that search (default model.beam; 1: greedy)."""
        return [{"output": output} for output in self.outputs(text.checked_texts(inputs), beam)]

    def predict_from_cli(self, args: Sequence[str], file: str | None = None, **options: str) -> list[dict[str, Any]]:
        """The texts given, then those of `--file`: its lines, or a table's source column (a
        document with line breaks, such as a dialogue, fits in a table's cell)."""
        if file is not None and tables.table_suffix(Path(file)) in tables.TABLE_SUFFIXES:
            args, file = [*args, *self._table_sources(Path(file))], None
        texts = text.cli_texts(args, file, example=self.example_text)
        beam = options.get("beam")
        try:
            size = None if beam is None else int(beam)
        except ValueError:
            raise ZooError(f"--beam must be a whole number, not {beam!r}") from None
        return [{"input": t, **record} for t, record in zip(texts, self.predict(texts, beam=size))]

    def served_inputs(self, sent: list[Any]) -> list[str]:
        return text.checked_texts(sent)

    def served_option(self, name: str, value: Any) -> Any:
        value = super().served_option(name, value)
        if name == "beam" and value is not None and value > MAX_SERVED_BEAM:
            raise ZooError(f"beam must be at most {MAX_SERVED_BEAM} in one request, not {value}", "zoo predict takes larger beams")
        return value

    def _table_sources(self, path: Path) -> list[str]:
        """The non-empty cells of a table's source column (as data.source_column or the usual names)."""
        table = tables.read_table(path)
        key = tables.pick_column(table, self.config["data"].get("source_column"), self.columns.usual_source, self.columns.roles[0], "data.source_column")
        cells = tables.texts(table.column(key)).to_pylist()
        return [cell for cell in cells if cell]

    def format_prediction(self, record: dict[str, Any]) -> str:
        return record["output"]

    def evaluation_pairs(self, path: Path) -> Pairs:
        """The pairs at `path` (for data with splits, its test or else val part)."""
        return splits.one_split(read_configured(self.config, str(path), self.columns))

    def example_input(self) -> torch.Tensor:
        raise ZooError(f"exporting {self.config['task']} models is not offered yet", "predict with zoo.load(RUN).predict")

    def write_plots(self, folder: Path) -> None:
        """plots/samples.md: validation sources, references and outputs side by side."""
        if not self.samples:
            return
        lines = ["| source | reference | output |", "|---|---|---|"]
        cell = lambda value: value.replace("|", "\\|").replace("\n", " ")  # noqa: E731
        lines += [f"| {cell(s['source'])} | {cell(s['reference'])} | {cell(s['output'])} |" for s in self.samples]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "samples.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


class Seq2SeqModule(TextToTextModule):
    """A trained encoder-decoder over the tokens of the run's tokenizers."""

    predict_options = {
        **TextToTextModule.predict_options,
        "beam": "the beam size (default: model.beam; 1 decodes greedily)",
    }
    module_keys = ("pretrained", "tokenizer_kind", "vocab_size", "lowercase", "shared_vocab", "label_smoothing", "beam", "length_penalty", "max_output")
    info_files = {"source_tokenizer": "source_tokenizer.json", "target_tokenizer": "target_tokenizer.json"}

    def __init__(self, config: dict[str, Any], info: dict[str, Any]) -> None:
        super().__init__(config, info)
        self.source_tokenizer, self.target_tokenizer = tokenizers_of(info)
        if info["pretrained"]:
            self.net: torch.nn.Module = pretrained(info["pretrained"]["source"], info["pretrained"]["config"])
        else:
            self.net = self.build_net(
                src_vocab=self.source_tokenizer.get_vocab_size(), tgt_vocab=self.target_tokenizer.get_vocab_size(),
                pad_id=0, shared_vocab=info["shared_vocab"],
            )
        self.start, self.end = info["start"], info["end"]  # the decoder's first input, and the id that ends an output
        self.copying = Copying(self.source_tokenizer, self.target_tokenizer) if info.get("copies") else None

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, decoder_in: torch.Tensor) -> torch.Tensor | Penalized:
        """Next-token logits (N, T, V) of the targets fed to the decoder (teacher forcing), with
        a penalty for the training loss where the network has one (`Penalized`)."""
        return self.net(src, src_lengths, decoder_in)

    def _teacher_forced(self, src: torch.Tensor, src_lengths: torch.Tensor, decoder_in: torch.Tensor) -> tuple[torch.Tensor, Penalized | None]:
        """(logits, the output with its penalty where the network has one)."""
        output = self(src, src_lengths, decoder_in)
        return (output.logits, output) if isinstance(output, Penalized) else (output, None)

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> torch.Tensor:
        src, src_lengths, decoder_in, decoder_out, _ = batch
        logits, penalized = self._teacher_forced(src, src_lengths, decoder_in)
        loss = sequence_loss(logits, decoder_out, self.config["model"]["label_smoothing"])
        if penalized is not None:
            self.log_train_loss(penalized.penalty, batch_size=len(src), name=penalized.name)
            loss = loss + penalized.penalty
        self.log_train_loss(loss, batch_size=len(src))
        return loss

    def evaluation_step(self, batch: Sequence[torch.Tensor], split: str) -> None:
        """The cross-entropy (`{split}/loss`, without any penalty), and the decoded outputs."""
        src, src_lengths, decoder_in, decoder_out, rows = batch
        loss = sequence_loss(self._teacher_forced(src, src_lengths, decoder_in)[0], decoder_out)
        self.log(f"{split}/loss", loss, prog_bar=split == "val", batch_size=len(src), sync_dist=True)
        beam = 1 if self.trainer.state.fn == "fit" else self.config["model"]["beam"]
        loader = self.trainer.val_dataloaders if split == "val" else self.trainer.test_dataloaders
        words = loader.dataset.copied_words(rows.tolist()) if self.copying else None
        self.keep_outputs(rows, self._decode(src, src_lengths, beam, words))

    # Prediction -----------------------------------------------------------------------------

    def _decode(self, src: torch.Tensor, src_lengths: torch.Tensor, beam: int, copied_words: Sequence[Sequence[str]] | None = None) -> list[str]:
        """Outputs of at most model.max_output tokens, and each at most twice its source's plus
        10, so an untrained model's endless outputs stay cheap, and a text's output does not
        depend on the longer texts decoded beside it (greedy: the same as alone; a beam searches
        to the longest limit of the batch and is then cut to its own). A model that copies has
        its sources' unknown words, by extended id, in `copied_words`."""
        model = self.config["model"]
        limits = [min(model["max_output"], 2 * int(length) + 10) for length in src_lengths]
        if isinstance(self.net, PretrainedSeq2Seq):
            ids = self.net.generate(src, src_lengths, self.end, max(limits), beam, model["length_penalty"])
        else:
            ids = decode(self.net, src, src_lengths, self.start, self.end, max(limits), beam, model["length_penalty"])
        ids = [row[:limit] for row, limit in zip(ids, limits)]
        if self.copying is not None:
            return self.copying.decode(ids, copied_words or [[] for _ in ids])
        return text.decode(self.target_tokenizer, ids)

    def outputs(self, texts: list[str], beam: int | None, batch_size: int = PREDICT_BATCH) -> list[str]:
        """Decoded with `beam` (default model.beam), in batches of like length; order kept."""
        beam = self.config["model"]["beam"] if beam is None else beam
        if not isinstance(beam, int) or beam < 1:
            raise ZooError(f"the beam size must be a whole number of at least 1, not {beam!r}")
        ids, _ = tokens.encode(self.source_tokenizer, texts, self.info["max_source"], special_tokens=True)
        words: list[list[str]] = [[] for _ in ids]
        if self.copying is not None:
            for i, source in enumerate(texts):
                ids[i], words[i] = self.copying.source(ids[i], lambda source=source: source)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        outputs: list[str] = [""] * len(ids)
        was_training = self.training
        self.eval()
        for start in range(0, len(order), batch_size):
            chosen = order[start : start + batch_size]
            src, lengths = text.pad([ids[i] for i in chosen])
            decoded = self._decode(src.to(self.device), lengths.to(self.device), beam, [words[i] for i in chosen])
            for row, output in zip(chosen, decoded):
                outputs[row] = output
        self.train(was_training)
        return outputs

    # Evaluation, export, summary ------------------------------------------------------------

    def evaluation_dataset(self, path: Path) -> Dataset:
        return encode_pairs(self.evaluation_pairs(path), self.info)[0]

    def interface(self) -> dict[str, Any]:
        return {
            "input": "texts, encoded by source_tokenizer with its special tokens",
            **{key: self.info_files[key] for key in ("source_tokenizer", "target_tokenizer")},
            "max_source": self.info["max_source"],
            "max_target": self.info["max_target"],
            "decoding": f"beam search (model.beam {self.config['model']['beam']}, length penalty {self.config['model']['length_penalty']}), at most {self.config['model']['max_output']} tokens",
            **({"copying": "a source's unknown words ([UNK]) have ids from the vocabulary's size on, in order of first appearance, and decode as the source wrote them"}
               if self.copying else {}),
        }

    def describe(self) -> dict[str, Any]:
        sizes = (f"{self.source_tokenizer.get_vocab_size():,} tokens, one tokenizer for both sides" if self.info["shared_vocab"]
                 else f"{self.source_tokenizer.get_vocab_size():,} source tokens, {self.target_tokenizer.get_vocab_size():,} target tokens")
        summary = {"vocabulary": sizes}
        return {**summary, "pretrained": self.info["pretrained"]["source"]} if self.info["pretrained"] else summary
