"""Summarization: a document or dialogue in, a short summary out.

Metadata only: importing this imports no torch.
"""

from zoo.plugins import Model, Task
from zoo.seq2seq.catalog import DEMO, MODEL_DEFAULTS, OPTIM_DEFAULTS, SPLIT_DEFAULTS, trained_models

task = Task(
    name="summarization",
    summary="Abstractive summaries of documents or dialogues (tables of document and summary), and the lead baseline",
    models={
        **trained_models(transformer_params=5_598_464, gru_params=6_975_753, max_positions=1024),
        "lead": Model(
            builder="zoo_tasks.summarization.lead:Lead",
            summary="The first k sentences of the document, no training: the baseline a summary model must beat",
            params=0,
            defaults={"sentences": 3},
            module="zoo_tasks.summarization.module:LeadModule",
        ),
    },
    default_model="transformer",
    module="zoo_tasks.summarization.module:SummarizationModule",
    data="zoo_tasks.summarization.data:build_data",
    monitor="val/rouge1",
    mode="max",
    defaults={
        "model": MODEL_DEFAULTS,
        "data": {
            "source_column": None,  # default document/dialogue/article/text/source
            "target_column": None,  # default summary/highlights/target
            **SPLIT_DEFAULTS,
            "max_source": 512,  # tokens; longer documents are cut (counted in the notes)
            "max_target": 128,
            "batch_size": 32,
        },
        "optim": OPTIM_DEFAULTS,
        "trainer": {"max_epochs": 10},
    },
    template="summarization",
    demo=DEMO,
)
