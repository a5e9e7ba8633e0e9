"""Translation: a sentence in one language in, its translation out.

Metadata only: importing this imports no torch.
"""

from zoo.plugins import Model, Task

task = Task(
    name="translation",
    summary="Machine translation: parallel text files (Multi30k's layout) or tables of source and target",
    models={
        "transformer": Model(
            builder="zoo.seq2seq.models:Transformer",
            summary="Vaswani et al. (2017)'s encoder-decoder (pre-norm, tied output), random init; or model.pretrained=NAME_OR_DIR, any AutoModelForSeq2SeqLM",
            params=5_587_968,
            defaults={"dim": 256, "layers": 3, "heads": 4, "ff_dim": 1024, "dropout": 0.1, "max_positions": 512, "pretrained": None},
            tags=("pretrained",),
            overrides={"optim": {"lr": 5e-4, "warmup_epochs": 1.0}},  # attention trains unsteadily without warm-up
        ),
        "gru-attention": Model(
            builder="zoo.seq2seq.models:GRUAttention",
            summary="Bahdanau et al. (2015): a bidirectional GRU encoder, a GRU decoder with additive attention",
            params=6_891_744,
            defaults={"embedding_dim": 256, "hidden_size": 512, "dropout": 0.2},
        ),
    },
    default_model="transformer",
    module="tasks.translation.module:TranslationModule",
    data="tasks.translation.data:build_data",
    monitor="val/bleu",
    mode="max",
    defaults={
        "model": {
            "tokenizer_kind": "wordpiece",  # or bpe (byte-level)
            "vocab_size": 10000,
            "lowercase": False,  # BLEU counts case
            "shared_vocab": True,  # one tokenizer and embedding table for both languages
            "label_smoothing": 0.1,
            "beam": 4,  # zoo predict and zoo evaluate; validation during training decodes greedily
            "length_penalty": 1.0,
            "max_output": 128,  # tokens
        },
        "data": {
            "source_lang": None,  # a folder of train.XX files: which is the source (default: from the folder's name)
            "target_lang": None,
            "source_column": None,  # tables: default source/src/input
            "target_column": None,  # default target/tgt/output
            "val_fraction": 0.1,
            "val_path": None,
            "test_path": None,
            "max_source": 128,  # tokens; longer texts are cut (counted in the notes)
            "max_target": 128,
            "batch_size": 64,
        },
        "optim": {"name": "adamw", "lr": 1e-3, "weight_decay": 0.01, "scheduler": "cosine"},
        "trainer": {"max_epochs": 10},
    },
    template="translation",
    # The demo pairs are few and short: small batches, a higher learning rate, no warm-up.
    demo={"data": {"batch_size": 16}, "optim": {"lr": 1e-3, "warmup_epochs": 0.0}, "trainer": {"max_epochs": 8}},
)
