"""Summarization: a document or dialogue in, a short summary out.

Metadata only: importing this imports no torch.
"""

from zoo.plugins import Model, Setting, Task
from zoo.seq2seq.catalog import DEMO, OPTIM_DEFAULTS, SETTINGS, trained_models

DOCUMENT_COLUMNS = ("document", "dialogue", "article", "text", "source")  # a table's columns, when data.*_column is null
SUMMARY_COLUMNS = ("summary", "highlights", "target")

task = Task(
    name="summarization",
    summary="Abstractive summaries of documents or dialogues (tables of document and summary), and the lead baseline",
    models={
        **trained_models(transformer_params=5_602_048, gru_params=7_004_439, pointer_params=1_951_000, max_positions=1024),
        "lead": Model(
            builder="zoo_tasks.summarization.lead:Lead",
            summary="The first k sentences of the document, no training: the baseline a summary model must beat",
            params=0,
            settings={"sentences": Setting(3, "sentences taken from the start of the document", range="[1, inf)")},
            module="zoo_tasks.summarization.module:LeadModule",
        ),
    },
    default_model="pointer-generator",  # on SAMSum it beats lead-3 after one epoch on 2 CPU cores; the transformer stays below it (README, Results)
    module="zoo_tasks.summarization.module:SummarizationModule",
    data="zoo_tasks.summarization.data:build_data",
    monitor="val/rouge1",
    mode="max",
    settings={
        **SETTINGS,
        "data.source_column": Setting(None, f"the column of documents (default: {', '.join(DOCUMENT_COLUMNS)})", type=str, column=True, usual=DOCUMENT_COLUMNS),
        "data.target_column": Setting(None, f"the column of summaries (default: {', '.join(SUMMARY_COLUMNS)})", type=str, column=True, usual=SUMMARY_COLUMNS),
        "data.max_source": Setting(512, "tokens read of each document; longer ones are cut (counted in the notes)", range="[4, inf)"),
        "data.max_target": Setting(128, "tokens read of each summary; longer ones are cut", range="[4, inf)"),
    },
    defaults={
        "data": {"max_batch_size": 32},
        "optim": OPTIM_DEFAULTS,
        "trainer": {"max_epochs": 10},
    },
    template="summarization",
    demo={**DEMO, "optim": {"lr": 3e-3, "warmup_epochs": 0.0}, "trainer": {"max_epochs": 12}},
)
