"""A minimal third-party task: fit one number to a list of numbers (their mean)."""

from zoo.plugins import Model, Task

task = Task(
    name="mean",
    summary="Fit a single number to data (it converges to the mean)",
    models={"scalar": Model(builder="zoo_mean.module:Scalar", summary="one learnable number", params=1)},
    default_model="scalar",
    module="zoo_mean.module:MeanModule",
    data="zoo_mean.module:build_data",
    monitor="val/loss",
    defaults={"optim": {"name": "sgd", "lr": 0.1, "momentum": 0.0}, "trainer": {"max_epochs": 50}},
)
