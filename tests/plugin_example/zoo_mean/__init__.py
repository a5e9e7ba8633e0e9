"""A minimal third-party task: fit one number to a list of numbers (their mean)."""

from zoo.plugins import Model, Setting, Task

task = Task(
    name="mean",
    summary="Fit a single number to data (it converges to the mean)",
    models={
        "scalar": Model(
            builder="zoo_mean.module:Scalar",
            summary="one learnable number",
            params=1,
            settings={"start": Setting(0.0, "the number's value before training")},
        )
    },
    default_model="scalar",
    module="zoo_mean.module:MeanModule",
    data="zoo_mean.module:build_data",
    monitor="val/loss",
    settings={"data.repeats": Setting(1, "how many times the numbers 1-5 are repeated", range="[1, inf)")},
    defaults={"optim": {"name": "sgd", "lr": 0.1, "momentum": 0.0}, "trainer": {"max_epochs": 50}},
)
