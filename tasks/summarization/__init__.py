"""Summarization: a document or dialogue in, a short summary out.

Metadata only: importing this imports no torch.
"""

from zoo.plugins import Model, Task

task = Task(
    name="summarization",
    summary="Abstractive summaries of documents or dialogues (tables of document and summary), and the lead baseline",
    models={
        "transformer": Model(
            builder="zoo.seq2seq.models:Transformer",
            summary="Vaswani et al. (2017)'s encoder-decoder (pre-norm, tied output), random init; or model.pretrained=NAME_OR_DIR, any AutoModelForSeq2SeqLM",
            params=5_598_464,
            defaults={"dim": 256, "layers": 3, "heads": 4, "ff_dim": 1024, "dropout": 0.1, "max_positions": 1024, "pretrained": None},
            tags=("pretrained",),
            overrides={"optim": {"lr": 5e-4, "warmup_epochs": 1.0}},  # attention trains unsteadily without warm-up
        ),
        "gru-attention": Model(
            builder="zoo.seq2seq.models:GRUAttention",
            summary="Bahdanau et al. (2015): a bidirectional GRU encoder, a GRU decoder with additive attention",
            params=6_975_753,
            defaults={"embedding_dim": 256, "hidden_size": 512, "dropout": 0.2},
        ),
        "lead": Model(
            builder="tasks.summarization.lead:Lead",
            summary="The first k sentences of the document, no training: the baseline a summary model must beat",
            params=0,
            defaults={"sentences": 3},
            module="tasks.summarization.module:LeadModule",
        ),
    },
    default_model="transformer",
    module="tasks.summarization.module:SummarizationModule",
    data="tasks.summarization.data:build_data",
    monitor="val/rouge1",
    mode="max",
    defaults={
        "model": {
            "tokenizer_kind": "wordpiece",  # or bpe (byte-level)
            "vocab_size": 10000,
            "lowercase": False,
            "shared_vocab": True,  # summaries copy the document's words: one vocabulary, one embedding table
            "label_smoothing": 0.1,
            "beam": 4,  # zoo predict and zoo evaluate; validation during training decodes greedily
            "length_penalty": 1.0,
            "max_output": 128,  # tokens
        },
        "data": {
            "source_column": None,  # default document/dialogue/article/text/source
            "target_column": None,  # default summary/highlights/target
            "val_fraction": 0.1,
            "val_path": None,
            "test_path": None,
            "max_source": 512,  # tokens; longer documents are cut (counted in the notes)
            "max_target": 128,
            "batch_size": 32,
        },
        "optim": {"name": "adamw", "lr": 1e-3, "weight_decay": 0.01, "scheduler": "cosine"},
        "trainer": {"max_epochs": 10},
    },
    template="summarization",
    # The demo pairs are few and short: small batches, a higher learning rate, no warm-up.
    demo={"data": {"batch_size": 16}, "optim": {"lr": 1e-3, "warmup_epochs": 0.0}, "trainer": {"max_epochs": 8}},
)
