"""Linear regression: numeric columns in, one number out. The project's smoke test.

Metadata only: importing this imports no torch.
"""

from zoo.plugins import Model, Task

task = Task(
    name="linear-regression",
    summary="Least-squares regression of one numeric column on the others; the smoke test",
    aliases=("regression",),
    models={
        "linear": Model(
            builder="zoo_tasks.linear_regression.models:linear",
            summary="y = w·x + b: one weight per feature and a bias",
            params=2,
            defaults={"bias": True},
            tags=("cpu-friendly",),
        ),
        "mlp": Model(
            builder="zoo_tasks.linear_regression.models:mlp",
            summary="A small multilayer perceptron for non-linear relationships",
            params=1153,
            defaults={"hidden": 32, "layers": 2, "dropout": 0.0},
            tags=("cpu-friendly",),
        ),
    },
    default_model="linear",
    module="zoo_tasks.linear_regression.module:RegressionModule",
    data="zoo_tasks.linear_regression.data:build_data",
    monitor="val/mse",
    mode="min",
    defaults={
        "data": {
            "target": None,  # default: the last column
            "features": None,  # default: every other column
            "val_fraction": 0.2,
            "val_path": None,
            "test_path": None,
            "batch_size": 64,
        },
        "optim": {"name": "sgd", "lr": 0.1, "momentum": 0.0},
        "trainer": {"max_epochs": 100},
    },
    flags={"target": "data.target", "features": "data.features"},
    template="linear-regression",
)
