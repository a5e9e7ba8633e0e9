"""Translation: a sentence in one language in, its translation out.

Metadata only: importing this imports no torch.
"""

from zoo.plugins import Setting, Task
from zoo.seq2seq.catalog import DEMO, OPTIM_DEFAULTS, SETTINGS, SOURCE_COLUMNS, TARGET_COLUMNS, trained_models

task = Task(
    name="translation",
    summary="Machine translation: parallel text files (Multi30k's layout) or tables of source and target",
    models=trained_models(transformer_params=5_590_784, gru_params=6_914_283, pointer_params=1_934_060, max_positions=512),
    default_model="transformer",
    module="zoo_tasks.translation.module:TranslationModule",
    data="zoo_tasks.translation.data:build_data",
    monitor="val/bleu",
    mode="max",
    settings={
        **SETTINGS,
        "data.source_lang": Setting(None, "a folder of train.XX files: the source language's suffix (default: from the folder's name, as in de-en)", type=str),
        "data.target_lang": Setting(None, "the target language's suffix", type=str),
        "data.source_column": Setting(None, f"tables: the column of source texts (default: {', '.join(SOURCE_COLUMNS)})", type=str, column=True, usual=SOURCE_COLUMNS),
        "data.target_column": Setting(None, f"tables: the column of target texts (default: {', '.join(TARGET_COLUMNS)})", type=str, column=True, usual=TARGET_COLUMNS),
        "data.max_source": Setting(128, "tokens read of each source; longer ones are cut (counted in the notes)", range="[4, inf)"),
        "data.max_target": Setting(128, "tokens read of each target; longer ones are cut", range="[4, inf)"),
    },
    defaults={
        "data": {"max_batch_size": 64},
        "optim": OPTIM_DEFAULTS,
        "trainer": {"max_epochs": 10},
    },
    template="translation",
    demo=DEMO,
)
