"""Sentiment: one label per text (positive/negative, star ratings, any classes).

Metadata only: importing this imports no torch.
"""

from zoo.plugins import INFINITY, Model, Setting, Task
from zoo.shared_settings import HOLD_OUT, TOKENIZER

TEXT_COLUMNS = ("text", "sentence", "review", "content", "document", "comment", "tweet")  # a table's text column, when data.text_column is null
LABEL_COLUMNS = ("label", "labels", "sentiment", "class", "target", "category")

task = Task(
    name="sentiment",
    summary="Text classification: a label per text, from CSV, TSV, JSONL, parquet or datasets",
    aliases=("text-classification",),
    models={
        "textcnn": Model(
            builder="zoo_tasks.sentiment.models:textcnn",
            summary="Kim (2014)'s CNN: widths 3/4/5 x 100 maps, max-over-time pooling, dropout 0.5",
            params=422_702,
            settings={
                "embedding_dim": Setting(300, "word vector size", range="[1, inf)"),
                "widths": Setting([3, 4, 5], "the filter widths, in tokens", item=int, length=(1, INFINITY), range="[1, inf)"),
                "maps": Setting(100, "feature maps per width", range="[1, inf)"),
                "dropout": Setting(0.5, "dropout before the classifier", range="[0, 1)"),
            },
            tags=("cpu-friendly",),
        ),
        "bilstm": Model(
            builder="zoo_tasks.sentiment.models:bilstm",
            summary="A bidirectional LSTM over packed sequences (no compute spent on padding)",
            params=1_205_610,
            settings={
                "embedding_dim": Setting(300, "word vector size", range="[1, inf)"),
                "hidden_size": Setting(256, "LSTM units in each direction", range="[1, inf)"),
                "layers": Setting(1, "stacked LSTM layers", range="[1, inf)"),
                "dropout": Setting(0.5, "dropout on embeddings, between layers and before the classifier", range="[0, 1)"),
            },
            tags=("cpu-friendly",),
        ),
        "transformer": Model(
            builder="zoo_tasks.sentiment.models:transformer",
            summary="A BERT-style encoder from a transformers config (random init), or any pretrained model",
            params=3_410_178,
            settings={
                "hidden_size": Setting(256, "the encoder's width (a multiple of model.heads)", range="[1, inf)"),
                "layers": Setting(4, "encoder layers", range="[1, inf)"),
                "heads": Setting(4, "attention heads", range="[1, inf)"),
                "intermediate_size": Setting(1024, "the feed-forward layers' width", range="[1, inf)"),
                "dropout": Setting(0.1, "dropout in attention and feed-forward layers", range="[0, 1)"),
                "max_positions": Setting(512, "the longest input, in tokens", range="[8, inf)"),
                "pretrained": Setting(None, "a hub name or folder: fine-tune that AutoModelForSequenceClassification (its tokenizer too) instead", type=str),
            },
            tags=("transformers", "pretrained"),
            overrides={"optim": {"lr": 5e-4, "warmup_epochs": 1.0}},  # attention trains unsteadily without warm-up
        ),
    },
    default_model="textcnn",
    module="zoo_tasks.sentiment.module:SentimentModule",
    data="zoo_tasks.sentiment.data:build_data",
    monitor="val/acc",
    mode="max",
    settings={
        "model.tokenizer": Setting(None, "a hub name or folder: use that tokenizer instead of learning one", type=str),
        **TOKENIZER,
        "data.text_column": Setting(None, f"the column of texts (default: {', '.join(TEXT_COLUMNS)})", type=str, column=True, usual=TEXT_COLUMNS),
        "data.label_column": Setting(None, f"the column of labels (default: {', '.join(LABEL_COLUMNS)})", type=str, column=True, usual=LABEL_COLUMNS),
        **HOLD_OUT,
        "data.max_length": Setting(256, "tokens read of each text; longer texts are cut (counted in the notes)", range="[8, inf)"),
    },
    defaults={
        "data": {"max_batch_size": 64},
        "optim": {"name": "adamw", "lr": 1e-3, "weight_decay": 0.01, "scheduler": "cosine"},
        "trainer": {"max_epochs": 10},
    },
    template="sentiment",
    demo={"data": {"batch_size": 64}},  # the demo set is tuned to its batch size: it is not chosen for the data's size
)
