"""Linear regression: numeric columns in, one number out. The project's smoke test.

Metadata only: importing this imports no torch.
"""

from dataclasses import replace

from zoo.plugins import Model, Setting, Task
from zoo.shared_settings import HOLD_OUT

task = Task(
    name="linear-regression",
    summary="Least-squares regression of one numeric column on the others; the smoke test",
    aliases=("regression",),
    models={
        "linear": Model(
            builder="zoo_tasks.linear_regression.models:linear",
            summary="y = w·x + b: one weight per feature and a bias",
            params=2,
            settings={"bias": Setting(True, "learn a bias b")},
            tags=("cpu-friendly",),
        ),
        "mlp": Model(
            builder="zoo_tasks.linear_regression.models:mlp",
            summary="A small multilayer perceptron for non-linear relationships",
            params=1153,
            settings={
                "hidden": Setting(32, "units in each hidden layer", range="[1, inf)"),
                "layers": Setting(2, "hidden layers", range="[1, inf)"),
                "dropout": Setting(0.0, "dropout after each hidden layer", range="[0, 1)"),
            },
            tags=("cpu-friendly",),
        ),
    },
    default_model="linear",
    module="zoo_tasks.linear_regression.module:RegressionModule",
    data="zoo_tasks.linear_regression.data:build_data",
    monitor="val/mse",
    mode="min",
    settings={
        "data.target": Setting(None, "the column to predict (default: the last)", type=str, column=True),
        "data.features": Setting(None, "the input columns, a list or comma-separated (default: every other column)", type=(str, list), item=str, column=True),
        **HOLD_OUT,
        "data.val_fraction": replace(HOLD_OUT["data.val_fraction"], default=0.2),
    },
    defaults={
        "data": {"max_batch_size": 64},
        "optim": {"name": "sgd", "lr": 0.1, "momentum": 0.0},
        "trainer": {"max_epochs": 100},
    },
    flags={"target": "data.target", "features": "data.features"},
    template="linear-regression",
    demo={"data": {"batch_size": 64}},  # the demo set is tuned to its batch size: it is not chosen for the data's size
)
