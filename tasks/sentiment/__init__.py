"""Sentiment: one label per text (positive/negative, star ratings, any classes).

Metadata only: importing this imports no torch.
"""

from zoo.plugins import Model, Task

task = Task(
    name="sentiment",
    summary="Text classification: a label per text, from CSV, TSV, JSONL, parquet or datasets",
    aliases=("text-classification",),
    models={
        "textcnn": Model(
            builder="zoo_tasks.sentiment.models:textcnn",
            summary="Kim (2014)'s CNN: widths 3/4/5 x 100 maps, max-over-time pooling, dropout 0.5",
            params=422_702,
            defaults={"embedding_dim": 300, "widths": [3, 4, 5], "maps": 100, "dropout": 0.5},
            tags=("cpu-friendly",),
        ),
        "bilstm": Model(
            builder="zoo_tasks.sentiment.models:bilstm",
            summary="A bidirectional LSTM over packed sequences (no compute spent on padding)",
            params=1_205_610,
            defaults={"embedding_dim": 300, "hidden_size": 256, "layers": 1, "dropout": 0.5},
            tags=("cpu-friendly",),
        ),
        "transformer": Model(
            builder="zoo_tasks.sentiment.models:transformer",
            summary="A BERT-style encoder from a transformers config (random init), or any pretrained model",
            params=3_410_178,
            defaults={
                "hidden_size": 256,
                "layers": 4,
                "heads": 4,
                "intermediate_size": 1024,
                "dropout": 0.1,
                "max_positions": 512,
                "pretrained": None,  # a hub name or folder: fine-tune that AutoModelForSequenceClassification
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
    defaults={
        "model": {
            "tokenizer": None,  # a hub name or folder: use that tokenizer instead of training one
            "tokenizer_kind": "wordpiece",  # or bpe (byte-level)
            "vocab_size": 16000,
            "lowercase": True,
        },
        "data": {
            "text_column": None,  # default text/sentence/review/content/document/comment/tweet
            "label_column": None,  # default label/labels/sentiment/class/target/category
            "val_fraction": 0.1,
            "val_path": None,
            "test_path": None,
            "max_length": 256,  # tokens; longer texts are cut (and counted in the notes)
            "batch_size": 64,
        },
        "optim": {"name": "adamw", "lr": 1e-3, "weight_decay": 0.01, "scheduler": "cosine"},
        "trainer": {"max_epochs": 10},
    },
    template="sentiment",
)
