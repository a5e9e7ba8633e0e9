"""Translation: a sentence in one language in, its translation out.

Metadata only: importing this imports no torch.
"""

from zoo.plugins import Task
from zoo.seq2seq.catalog import DEMO, MODEL_DEFAULTS, OPTIM_DEFAULTS, SPLIT_DEFAULTS, trained_models

task = Task(
    name="translation",
    summary="Machine translation: parallel text files (Multi30k's layout) or tables of source and target",
    models=trained_models(transformer_params=5_587_968, gru_params=6_891_744, max_positions=512),
    default_model="transformer",
    module="zoo_tasks.translation.module:TranslationModule",
    data="zoo_tasks.translation.data:build_data",
    monitor="val/bleu",
    mode="max",
    defaults={
        "model": MODEL_DEFAULTS,
        "data": {
            "source_lang": None,  # a folder of train.XX files: which is the source (default: from the folder's name)
            "target_lang": None,
            "source_column": None,  # tables: default source/src/input
            "target_column": None,  # default target/tgt/output
            **SPLIT_DEFAULTS,
            "max_source": 128,  # tokens; longer texts are cut (counted in the notes)
            "max_target": 128,
            "batch_size": 64,
        },
        "optim": OPTIM_DEFAULTS,
        "trainer": {"max_epochs": 10},
    },
    template="translation",
    demo=DEMO,
)
