"""The `zoo` command line: parses, calls the zoo API, prints. No ML logic lives here.

User mistakes come back as ZooError: one line on stderr and exit status 2 (`--debug` shows
the traceback). `--json` prints one JSON document on stdout and nothing else there.
"""

from __future__ import annotations

import argparse
import atexit
import collections
import contextlib
import inspect
import json
import os
import re
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import zoo
from zoo.errors import ZooError, close_matches, did_you_mean
from zoo.run import beside

COMMANDS = ("list", "info", "train", "tune", "runs", "evaluate", "predict", "serve", "export", "push", "cache", "new")


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit status 2; `more_help` adds text to
    --help that is worked out only when asked for (the installed tasks)."""

    more_help: Callable[[], str] | None = None
    given: Sequence[str] = ()  # the arguments being parsed, so an unknown flag is matched against its command's

    def error(self, message: str) -> NoReturn:
        command = self._given_command()
        hint = self._flag_hint(message, command or self)
        print(f"zoo: error: {message}{f'; {hint}' if hint else ''} (see `{(command or self).prog} --help`)", file=sys.stderr)
        sys.exit(2)

    def _given_command(self) -> argparse.ArgumentParser | None:
        """The parser of the command in the arguments being parsed (None: none, or this is one)."""
        if self._subparsers is None:
            return None
        choices = self._subparsers._group_actions[0].choices
        return choices.get(next((word for word in self.given if word in choices), ""))

    @staticmethod
    def _flag_hint(message: str, parser: argparse.ArgumentParser) -> str | None:
        """For an unrecognized --flag, the flags of `parser` that are close to it."""
        unknown = [word.split("=")[0] for word in message.removeprefix("unrecognized arguments: ").split() if word.startswith("--")]
        if not message.startswith("unrecognized arguments: ") or not unknown:
            return None
        flags = [option for action in parser._actions for option in action.option_strings if option.startswith("--")]
        return did_you_mean(unknown[0], flags, cutoff=0.75)

    def format_help(self) -> str:
        return super().format_help() + (f"\n{self.more_help()}" if self.more_help else "")


def check_command(argv: Sequence[str]) -> None:
    """An unknown command word (the first argument that is not an option: zoo's own options
    take no value) is a ZooError naming the close ones."""
    word = next((item for item in argv if not item.startswith("-")), None)
    if word is not None and word not in COMMANDS:
        raise ZooError(f"unknown command {word!r}", did_you_mean(word, COMMANDS) or f"commands: {', '.join(COMMANDS)}")


def build_parser() -> Parser:
    parser = Parser(prog="zoo", description="Train, evaluate and ship zoo models from one command line.")
    parser.add_argument("--version", action="version", version=f"zoo {zoo.__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors (any position)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    listing = commands.add_parser("list", help="tasks and task/model names (shell wildcards)")
    listing.add_argument("pattern", nargs="?", default="*", help="e.g. 'linear-regression/*' or '*/mlp'")
    listing.add_argument("--json", action="store_true", help="print one JSON document")

    info = commands.add_parser("info", help="a task or model: summary, parameters, default config")
    info.add_argument("name", help="task or task/model")
    info.add_argument("--json", action="store_true", help="print one JSON document")

    train = commands.add_parser(
        "train",
        help="train a model and write a run folder",
        description="Train NAME (a task, or task/model). key=value items set any config key "
        "(optim.lr=0.01 trainer.devices=2) and may stand anywhere; `zoo info NAME` lists every key, "
        "its default and what it takes. Flags are shorthands for keys: the options below, those "
        "every task takes, and each task's own.",
    )
    train.more_help = train_flags_help
    train.add_argument("name", nargs="?", metavar="NAME", help="task or task/model; or give --config")
    train.usage = "zoo train [NAME] [options] [--TASK-FLAG VALUE ...] [key=value ...]"
    train.add_argument("--data", help="training data (file or folder); default: the task's demo data")
    train.add_argument("--config", help="a YAML config file (a run's config.yaml reproduces it)")
    train.add_argument("--max-epochs", type=int, metavar="N", help="shorthand for trainer.max_epochs=N")
    train.add_argument("--output", help="where run folders go (default: runs)")
    train.add_argument("--resume", metavar="RUN", help="continue a run folder from its last checkpoint")
    train.add_argument("--seed", type=int, help="random seed (default 0)")
    train.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    train.add_argument("--detect-anomaly", action="store_true", default=None, help="autograd anomaly detection")
    train.add_argument("--compile", action="store_true", default=None, help="train a torch.compile'd model")
    train.add_argument("--json", action="store_true", help="print one JSON document")

    tune = commands.add_parser(
        "tune",
        help="search config keys with Optuna: every trial a run folder, the best config as best.yaml",
        description="Tune NAME (a task, or task/model): --trials runs of it, each with values sampled (TPE) from the "
        "--search spaces, trials that fall behind stopped early (median pruner, each validation epoch). The study "
        "lives in --storage (default: SQLite OUTPUT/tune.db), so the same --study continues it and processes on "
        "several machines sharing a database run it together. The end: OUTPUT/tune/STUDY/best.yaml (zoo train "
        "--config trains it), a table of trials and plots/tune.png. Ctrl-C stops after the current trial. Other "
        "options, flags and key=value items are zoo train's, the base of every trial.",
    )
    tune.usage = "zoo tune [NAME] --trials N --search KEY=SPACE [...] [options] [key=value ...]"
    tune.add_argument("name", nargs="?", metavar="NAME", help="task or task/model; or give --config")
    tune.add_argument("--trials", type=int, required=True, metavar="N", help="trials to run now (over every --workers process)")
    tune.add_argument("--search", action="extend", nargs="+", default=[], metavar="KEY=SPACE",
                      help="a key's space: loguniform(a,b), uniform(a,b), int(a,b) or choice(a,b,...); repeatable")
    tune.add_argument("--timeout", type=float, metavar="S", help="start no trial after S seconds")
    tune.add_argument("--storage", metavar="URL", help="an Optuna storage URL (sqlite:///..., postgresql://...); default: SQLite OUTPUT/tune.db")
    tune.add_argument("--study", metavar="NAME", help="the study's name (default TASK-MODEL): the same one continues it")
    tune.add_argument("--workers", type=int, default=1, metavar="K", help="processes running trials at once on this machine (default 1)")
    for option in ("data", "config", "output"):
        tune.add_argument(f"--{option}", help=f"as zoo train's --{option}")
    tune.add_argument("--max-epochs", type=int, metavar="N", help="epochs of each trial (trainer.max_epochs)")
    tune.add_argument("--seed", type=int, help="random seed of the runs and the sampler (default 0)")
    tune.add_argument("--json", action="store_true", help="print one JSON document")

    runs = commands.add_parser(
        "runs",
        help="past runs as a table, or runs compared",
        description="The run folders under --output as a table: task/model, when, epochs, the best value of the metric "
        "that picks the best checkpoint, state (finished, training, interrupted, failed) and path. With --compare: "
        "their validation curves in one plot and the config keys on which they differ.",
    )
    runs.add_argument("pattern", nargs="?", metavar="PATTERN", help="a task, task/model, or a wildcard ('sentiment/*')")
    runs.add_argument("--sort", metavar="METRIC", help="best first by a validation metric (val/acc, or acc)")
    runs.add_argument("--compare", nargs="+", metavar="RUN", help="run folders to compare")
    runs.add_argument("--output", help="the folder of runs (default: runs); with --compare, the plot (default: plots/compare.png)")
    runs.add_argument("--json", action="store_true", help="print one JSON document")

    evaluate = commands.add_parser("evaluate", help="metrics of a trained model on labelled data")
    evaluate.add_argument("run", help="a run folder, its model/ folder, or hf://ORG/NAME[@REVISION]")
    evaluate.add_argument("--data", help="labelled data; default: the run's validation split")
    evaluate.add_argument("columns", nargs="*", metavar="key=value", help="the data's columns, where --data names them otherwise than training did (data.label_column=stars)")
    evaluate.add_argument("--json", action="store_true", help="print one JSON document")
    evaluate.add_argument("--trust-code", action="store_true", help="run the Python code the model folder carries (model.source)")

    predict = commands.add_parser("predict", help="predictions of a trained model")
    predict.add_argument("run", help="a run folder, its model/ folder, or hf://ORG/NAME[@REVISION]")
    predict.add_argument("inputs", nargs="*", metavar="INPUT", help="values or files, as the task reads them")
    predict.add_argument("--json", action="store_true", help="print one JSON document")
    predict.add_argument("--trust-code", action="store_true", help="run the Python code the model folder carries (model.source)")
    predict.formatter_class = argparse.RawDescriptionHelpFormatter
    predict.epilog = PREDICT_OPTIONS_HELP

    serve = commands.add_parser(
        "serve",
        help="serve a trained model over HTTP: an API with batching and a web page",
        description="Serve RUN over HTTP until Ctrl-C: POST /predict takes what `zoo predict` takes (JSON, or images "
        "as multipart uploads) and answers its --json records, batching requests that arrive together; GET / is the "
        "task's page, /info the model, /docs the API.",
    )
    serve.add_argument("run", help="a run folder, its model/ folder, or hf://ORG/NAME[@REVISION]")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1: this machine only; 0.0.0.0: every network)")
    serve.add_argument("--port", type=int, default=8000, help="the port (default 8000; 0: any free one)")
    serve.add_argument("--workers", type=int, default=1, metavar="N", help="server processes, each with the model (default 1)")
    serve.add_argument("--max-batch-size", type=int, default=32, metavar="B", help="requests batched into one forward pass (default 32; 1: no batching)")
    serve.add_argument("--batch-timeout", type=float, default=0.0, metavar="S", help="seconds a batch may wait for more requests (default 0: it takes those waiting)")
    serve.add_argument("--max-body-size", type=float, default=16.0, metavar="MB", help="the largest request body accepted, in MB (default 16)")
    serve.add_argument("--max-queue", type=int, default=1024, metavar="N", help="requests that may wait for the model; more are answered 503 (default 1024)")
    serve.add_argument("--trust-code", action="store_true", help="run the Python code the model folder carries (model.source)")

    export = commands.add_parser("export", help="export a trained model (onnx, pt2)")
    export.add_argument("run", help="a run folder, its model/ folder, or hf://ORG/NAME[@REVISION]")
    export.add_argument("--format", required=True, help="onnx or pt2 (torch.export)")
    export.add_argument("--output", help="file to write; default: <run>/export/model.<format>")
    export.add_argument("--json", action="store_true", help="print one JSON document")
    export.add_argument("--trust-code", action="store_true", help="run the Python code the model folder carries (model.source)")

    push = commands.add_parser(
        "push",
        help="upload a trained model to the Hugging Face Hub",
        description="Upload a run's model/ folder to a Hub model repository (created when missing), with the Hub's metadata on its card. "
        "Needs a Hugging Face token that may write: `hf auth login` once, or HF_TOKEN. Anyone then loads it as hf://ORG/NAME.",
    )
    push.add_argument("run", help="a run folder or its model/ folder")
    push.add_argument("repo", metavar="ORG/NAME", help="the Hub model repository (created when missing)")
    push.add_argument("--private", action="store_true", help="create the repository private")
    push.add_argument("--revision", help="a branch to upload to (created when missing); default: main")
    push.add_argument("--json", action="store_true", help="print one JSON document")

    cached = commands.add_parser("cache", help="where the data cache is and its size; `zoo cache clear` empties it")
    cached.add_argument("action", nargs="?", choices=["info", "clear"], default="info", help="info (default) or clear")
    cached.add_argument("--json", action="store_true", help="print one JSON document")

    new = commands.add_parser("new", help="scaffold a standalone application for a task")
    new.add_argument("directory", help="the new application's folder (must not exist or be empty)")
    new.add_argument("--task", required=True, help="task name, e.g. linear-regression")
    return parser


# The built-in tasks' predict options (a test keeps this equal to their modules' predict_options).
PREDICT_OPTIONS_HELP = """\
each task's own options:
  classification             --top-k K            how many of the most likely labels each record lists (default 5)
  detection                  --score-threshold S  the lowest score of a box that is reported (default 0.5)
                             --output DIR         the folder for annotated images (default: predictions/ in the run folder)
  sentiment                  --file FILE          a text file, one text per line
  translation, summarization --file FILE          a text file, one source per line, or a table with a source column
                             --beam N             the beam size (default: the run's model.beam; 1 decodes greedily)
  gan                        --num N              how many samples to generate (default 64)
                             --seed S             the noise seed (default 0): the same seed gives the same samples
                             --label L            the class to generate, for a conditional model (default: each in turn)
                             --output DIR         the folder for the pictures (default: samples/ in the run folder)
  linear-regression takes none; a wrong option names the ones a model takes."""

TRAIN_VALUE_OPTIONS = {"--data", "--config", "--max-epochs", "--output", "--resume", "--seed"}
TRAIN_SWITCHES = {"--print-config", "--detect-anomaly", "--compile", "--json", "--help", "-h"}
TUNE_VALUE_OPTIONS = (TRAIN_VALUE_OPTIONS - {"--resume"}) | {"--trials", "--timeout", "--storage", "--study", "--workers"}
SEARCH_SPACE = re.compile(r"^[\w.]+=\w+\(.*\)$")  # a --search value: KEY=SPACE


def train_flags_help() -> str:
    """The installed tasks, the flags every task takes and each task's own, with the keys they set."""
    from zoo.config import SHORTHANDS

    tasks = zoo.list_tasks()
    lines = [f"tasks: {', '.join(task.name for task in tasks)} (`zoo info TASK` lists every key it takes)", "flags every task takes:"]
    lines += [f"  --{flag} VALUE".ljust(22) + f"sets {key}" for flag, key in SHORTHANDS.items()]
    own = [task for task in tasks if task.flags]
    width = max((len(task.name) for task in own), default=0)
    lines += ["flags of a task's own:"] + [f"  {task.name:<{width}}  {', '.join(f'--{flag} ({key})' for flag, key in task.flags.items())}" for task in own]
    return "\n".join(lines) + "\n"


def split_train_args(argv: list[str]) -> tuple[list[str], list[str], dict[str, str]]:
    """Sort `zoo train` (and `zoo tune`) arguments into (argparse's, key=value overrides, the
    task's own flags such as `--target y`), so that overrides and flags may stand anywhere."""
    if not argv or argv[0] not in ("train", "tune"):
        return argv, [], {}
    value_options = TRAIN_VALUE_OPTIONS if argv[0] == "train" else TUNE_VALUE_OPTIONS
    kept, overrides, flags = [argv[0]], [], {}
    items = collections.deque(argv[1:])

    def value_of(option: str) -> str:
        if not items or items[0].startswith("--"):
            raise ZooError(f"option {option} needs a value")
        return items.popleft()

    while items:
        item = items.popleft()
        name, has_value, value = item.partition("=")
        if item == "--search" and argv[0] == "tune":  # its KEY=SPACE values are not overrides
            kept += [item, value_of(item)]
            while items and SEARCH_SPACE.match(items[0]):
                kept.append(items.popleft())
        elif item in value_options:
            kept += [item, value_of(item)]
        elif name in value_options or item in TRAIN_SWITCHES:
            kept.append(item)
        elif item.startswith("--"):
            if name.replace("_", "-") in value_options | TRAIN_SWITCHES:
                raise ZooError(f"unknown option {name}", f"did you mean '{name.replace('_', '-')}'?")
            flags[name[2:]] = value if has_value else value_of(item)
        elif has_value:
            overrides.append(item)
        else:
            kept.append(item)
    return kept, overrides, flags


def split_predict_args(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """`zoo predict RUN -1,2 --score-threshold 0.3`: inputs may look like options (negative
    numbers), so only --json, --trust-code, --help and `--name value` flags are options (the task's own,
    checked against its predict_options); the rest is positional."""
    if not argv or argv[0] != "predict":
        return argv, {}
    switches, positional, flags = [], [], {}
    items = iter(argv[1:])
    for item in items:
        if item in ("--json", "--trust-code", "--help", "-h"):
            switches.append(item)
        elif item.startswith("--") and len(item) > 2:
            name, has_value, value = item[2:].partition("=")
            if not has_value:
                value = next(items, None)
                if value is None:
                    raise ZooError(f"option {item} needs a value")
            flags[name] = value
        else:
            positional.append(item)
    return ["predict", *switches, "--", *positional], flags


def split_evaluate_args(argv: list[str]) -> list[str]:
    """`zoo evaluate RUN --data F data.label_column=stars`: the options first, then the run and
    the key=value items, which argparse would not take apart once an option stands between them."""
    if not argv or argv[0] != "evaluate":
        return argv
    options, positional = [], []
    items = iter(argv[1:])
    for item in items:
        if item == "--data":
            options += [item, next(items, "")]
        elif item.startswith("-") and len(item) > 1:
            options.append(item)
        else:
            positional.append(item)
    return ["evaluate", *options, "--", *positional]


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    whole_process = argv is None and threading.current_thread() is threading.main_thread()  # zoo the program, not a call
    if whole_process:
        # A late Ctrl-C in the interpreter's final clean-up would end zoo by the signal (Python puts
        # back the default handler there); from this atexit handler on, it is ignored. Registered
        # before the command runs, it runs after the exit handlers the command registers.
        atexit.register(signal.signal, signal.SIGINT, signal.SIG_IGN)
    debug = "--debug" in args_list
    args_list = [a for a in args_list if a != "--debug"]
    with _one_line_warnings():
        code = _run(args_list, debug)
    if whole_process:
        # This process is zoo and ends now: a late Ctrl-C (a process group's, passed on again by
        # `uv run`) ends it at once, rather than breaking the interpreter's clean-up into tracebacks.
        def exit_now(*_: Any) -> None:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

        signal.signal(signal.SIGINT, exit_now)
    return code


def _run(args_list: list[str], debug: bool) -> int:
    try:
        check_command(args_list)
        args_list, predict_flags = split_predict_args(args_list)
        args_list = split_evaluate_args(args_list)
        args_list, overrides, flags = split_train_args(args_list)
        try:
            parser = build_parser()
            parser.given = args_list
            args = parser.parse_args(args_list)
        except SystemExit as exit:  # --help, --version, or a usage mistake already reported
            return int(exit.code or 0)
        args.overrides, args.flags = overrides, flags or predict_flags
        with _stdout_for(args):
            document = COMMAND_HANDLERS[args.command](args)
        if document is not None:
            print(json.dumps(document, indent=2, default=str))
        return 0
    except BrokenPipeError:  # `zoo info x | head` closed our stdout: nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ZooError, OSError) as error:  # OSError: the user's file system (no permission, a full disk)
        if debug:
            traceback.print_exc()
        lines = [" ".join(line.split()) for line in str(error).splitlines() if line.strip()]
        print("zoo: error: " + "\n  ".join(lines), file=sys.stderr)  # one line a problem (several: a file's bad rows)
        return 2
    except KeyboardInterrupt as interrupt:
        print(f"zoo: interrupted{f': {interrupt}' if str(interrupt) else ''}", file=sys.stderr)
        return 130


@contextlib.contextmanager
def _stdout_for(args: argparse.Namespace) -> Iterator[None]:
    """With --json, anything a library prints goes to stderr; stdout holds the document only."""
    if getattr(args, "json", False):
        with contextlib.redirect_stdout(sys.stderr):
            yield
    else:
        yield


@contextlib.contextmanager
def _one_line_warnings() -> Iterator[None]:
    """While the command runs, a warning is one line on stderr ("zoo: warning: ..."), not
    Python's two lines with the source file; the caller's `warnings.showwarning` comes back after."""
    shown = warnings.showwarning
    warnings.showwarning = _one_line_warning
    try:
        yield
    finally:
        warnings.showwarning = shown


def _one_line_warning(message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    print(f"zoo: warning: {message}", file=sys.stderr)


def cmd_list(args: argparse.Namespace) -> dict[str, Any] | None:
    names = zoo.list_models(args.pattern)
    if not names:
        known = [t.name for t in zoo.list_tasks()] + zoo.list_models()
        raise ZooError(f"nothing matches {args.pattern!r}", did_you_mean(args.pattern, known) or "try `zoo list`")
    tasks = []
    for task in zoo.list_tasks():
        models = [
            {"name": f"{task.name}/{m}", "summary": spec.summary, "params": spec.params, "tags": list(spec.tags),
             "default": m == task.default_model}
            for m, spec in task.models.items()
            if f"{task.name}/{m}" in names
        ]
        if models:
            tasks.append({"name": task.name, "aliases": list(task.aliases), "summary": task.summary, "models": models})
    if args.json:
        return {"tasks": tasks}
    rows = [("NAME", "PARAMS", "TAGS", "SUMMARY")]
    for task in tasks:
        rows.append((task["name"], "", "", task["summary"]))
        for model in task["models"]:
            params = f"{model['params']:,}" if model["params"] is not None else "by data"
            default = " (default)" if model["default"] else ""
            rows.append((f"  {model['name']}", params, ",".join(model["tags"]), model["summary"] + default))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3])
    return None


def cmd_info(args: argparse.Namespace) -> dict[str, Any] | None:
    from zoo.config import defaults, settings, to_yaml
    from zoo.plugins import resolve

    task, model = resolve(args.name)
    spec = task.models[model]
    document = {
        "task": task.name,
        "aliases": list(task.aliases),
        "task_summary": task.summary,
        "model": f"{task.name}/{model}",
        "summary": spec.summary,
        "params": spec.params,
        "tags": list(spec.tags),
        "models": [f"{task.name}/{m}" for m in task.models],
        "monitor": "{} ({})".format(*task.monitor_of({"name": model})),
        "flags": {f"--{f}": key for f, key in task.flags.items()},
        "config": defaults(task, model),
        "settings": {key: {"default": s.default, "takes": s.described(), "help": s.help} for key, s in settings(task, model).items()},
    }
    if args.json:
        return document
    print(f"{document['model']}: {spec.summary}")
    print(f"  task:       {task.name} — {task.summary}" + (f" (aliases: {', '.join(task.aliases)})" if task.aliases else ""))
    print(f"  parameters: {spec.params:,} (default size, on the demo data)" if spec.params is not None else "  parameters: ?")
    print(f"  tags:       {', '.join(spec.tags) or '-'}")
    print(f"  models:     {', '.join(document['models'])}")
    print(f"  best model: picked by {document['monitor']}")
    if task.flags:
        print(f"  flags:      {', '.join(f'{f} ({k})' for f, k in document['flags'].items())}")
    print("\nEvery key, its default, what it takes and means (override with --config FILE or key=value):\n")
    print(to_yaml(document["config"], settings(task, model)).rstrip())
    if "/" not in args.name:
        _print_other_models_keys(task, model)
    print(f"\nLightning's other Trainer arguments pass through as trainer.KEY=VALUE: {', '.join(sorted(lightning_only()))}.")
    print("With model.source (your own network), model.* keys not listed here are passed to it as keyword arguments.")
    return None


def lightning_only() -> set[str]:
    """trainer.* keys zoo does not declare: Lightning's Trainer checks them."""
    from zoo.config import CORE, TRAINER_KEYS

    return {key for key in TRAINER_KEYS if f"trainer.{key}" not in CORE}


def _print_other_models_keys(task: Any, shown: str) -> None:
    """The model.* keys of the task's models other than `shown`, with the models that take them."""
    keys: dict[str, tuple[Any, list[str]]] = {}
    for name, spec in task.models.items():
        for key, setting in spec.settings.items():
            if name != shown and key not in task.models[shown].settings:
                keys.setdefault(key, (setting, []))[1].append(f"{task.name}/{name}")
    if keys:
        print(f"\nKeys of the other {task.name} models (`zoo info {task.name}/MODEL` shows one's whole config):\n")
        for key, (setting, models) in keys.items():
            print(f"model.{key}: {json.dumps(setting.default)}  # {setting.described()} — {setting.help} ({', '.join(models)})")


def cmd_train(args: argparse.Namespace) -> dict[str, Any] | None:
    options: dict[str, Any] = {
        "config": args.config,
        "data": args.data,
        "max_epochs": args.max_epochs,
        "output": args.output,
        "seed": args.seed,
        "compile": args.compile,
        "detect_anomaly": args.detect_anomaly,
        "overrides": args.overrides,
        **args.flags,
    }
    name = args.name
    if args.print_config:
        from zoo.config import settings_of, to_yaml
        from zoo.training import resolve_config

        if args.resume:
            options["config"] = str(Path(args.resume) / "config.yaml")
        task, config = resolve_config(name, **options)
        if args.json:
            return config
        print(to_yaml(config, settings_of(task, config)).rstrip())
        return None
    run = zoo.train(name, resume=args.resume, progress=not args.json, **options)
    if run.rank != 0:
        return None  # an extra DDP process: rank 0 reports
    if args.json:
        return run.to_json()
    print(f"Trained {run.task}/{run.model}: {run.epochs} epoch{'' if run.epochs == 1 else 's'} in {run.seconds:.1f} s")
    for key, value in run.summary.items():
        print(f"  {key}: {_human(value)}")
    for split, metrics in run.metrics.items():
        if shown := headline(metrics):  # a GAN without a feature space scores nothing
            print(f"  {split}: {_human(shown)}")
    for note in run.notes:
        print(f"  note: {note}")
    print(f"Run folder: {_relative(run.path)}")
    return None


def column_settings(items: Sequence[str]) -> dict[str, Any]:
    """`["data.label_column=stars"]` -> `{"data.label_column": "stars"}`, values read as YAML."""
    from zoo import config as configs

    nested = configs.parse_overrides(items)
    return {key: configs.value_at(nested, key.split(".")) for key in (item.partition("=")[0] for item in items)}


def cmd_evaluate(args: argparse.Namespace) -> dict[str, Any] | None:
    result = zoo.evaluate(args.run, args.data, trust_code=args.trust_code, columns=column_settings(args.columns))
    if args.json:
        return result
    print(f"{_human(headline(result['metrics']))}  ({result['rows']} rows: {result['data']})")
    return None


def cmd_predict(args: argparse.Namespace) -> dict[str, Any] | None:
    module = zoo.load(args.run, trust_code=args.trust_code)
    known = module.predict_options
    for name in args.flags:
        if name not in known:
            task = module.config["task"]
            close = close_matches(name, known)
            hint = f"did you mean --{' or --'.join(close)}?" if close else f"its options: --{', --'.join(known)}" if known else f"{task} takes no predict options"
            raise ZooError(f"unknown option --{name} for predicting with a {task} model", hint)
    options = {name.replace("-", "_"): value for name, value in args.flags.items()}
    if "output" in known and "output" not in options:  # pictures go in the run folder, not the working folder
        options["output"] = str(beside(args.run) / inspect.signature(module.predict_from_cli).parameters["output"].default)
    records = module.predict_from_cli(args.inputs, **options)
    if args.json:
        return {"predictions": records}
    lines = [module.format_prediction(record) for record in records]
    print("\n".join(line for line in lines if line is not None) if None not in lines else records_text(records))
    return None


def cmd_export(args: argparse.Namespace) -> dict[str, Any] | None:
    result = zoo.export(args.run, args.format, args.output, trust_code=args.trust_code)
    if args.json:
        return result
    check = (
        f"largest difference from PyTorch: {result['max_abs_diff']:.2g}"
        if result["max_abs_diff"] is not None
        else "not checked: install onnxruntime to compare outputs"
    )
    print(f"Wrote {_relative(Path(result['path']))} ({check})")
    return None


def cmd_cache(args: argparse.Namespace) -> dict[str, Any] | None:
    from zoo import cache

    if args.action == "clear":
        report = {"path": str(cache.root()), "freed_bytes": cache.clear()}
        message = f"Cleared the data cache at {report['path']}: {report['freed_bytes'] / 1e6:,.1f} MB freed"
    else:
        report = {"path": str(cache.root()), "bytes": cache.size()}
        message = f"Data cache: {report['path']} ({report['bytes'] / 1e6:,.1f} MB; ZOO_CACHE moves it, `zoo cache clear` empties it)"
    if args.json:
        return report
    print(message)
    return None


def cmd_tune(args: argparse.Namespace) -> dict[str, Any] | None:
    from zoo import config as configs
    from zoo import tuning

    options = {"config": args.config, "data": args.data, "max_epochs": args.max_epochs, "output": args.output, "seed": args.seed,
               "overrides": configs.flatten(configs.parse_overrides(args.overrides)), **args.flags}
    result = tuning.tune(args.name, trials=args.trials, search=args.search, timeout=args.timeout, storage=args.storage,
                         study=args.study, workers=args.workers, **{k: v for k, v in options.items() if v is not None})
    if args.json:
        return result
    print(tuning.trials_table(result["trials"]))
    best = result["best"]
    if best:
        print(f"Best: trial {best['trial']}, {result['monitor']} {best['value']:.4g} ({', '.join(f'{k}={v}' for k, v in best['params'].items())})")
        print(f"  its config: {_relative(Path(best['config']))} (zoo train --config trains it); its run: {_relative(Path(best['run']))}")
    epochs = result["epochs"]
    if epochs["unpruned"]:
        print(f"  epochs: {epochs['trained']} trained of {epochs['unpruned']} unpruned ({1 - epochs['trained'] / epochs['unpruned']:.0%} saved by pruning)")
    if result["plot"]:
        print(f"  plot: {_relative(Path(result['plot']))}; study {result['study']} in {result['storage']}")
    if result["stopped"]:
        raise KeyboardInterrupt("zoo tune stopped; the table holds the trials that ended")
    return None


def cmd_runs(args: argparse.Namespace) -> Any:
    from zoo import runs

    if args.compare:
        if args.pattern or args.sort:
            raise ZooError("--compare takes run folders, not a pattern or --sort", "zoo runs --compare RUN RUN [--output PLOT]")
        result = runs.compare([Path(run) for run in args.compare], Path(args.output or "plots/compare.png"))
        if args.json:
            return result
        print(f"{result['metric']} of {len(result['runs'])} runs: {result['plot']}")
        print(runs.differ_table(result["runs"], result["differ"]))
        return None
    found = runs.find_runs(Path(args.output or "runs"), args.pattern)
    if args.sort:
        found = runs.sorted_by(found, args.sort)
    if args.json:
        return runs.as_json(found)
    if not found:
        print(f"no runs{f' of {args.pattern}' if args.pattern else ''} in {args.output or 'runs'}")
        return None
    print(runs.table(found))
    return None


def cmd_serve(args: argparse.Namespace) -> None:
    zoo.serve(args.run, host=args.host, port=args.port, workers=args.workers, max_batch_size=args.max_batch_size,
              batch_timeout=args.batch_timeout, max_body_mb=args.max_body_size, max_queue=args.max_queue, trust_code=args.trust_code)
    print("zoo serve stopped")


def cmd_push(args: argparse.Namespace) -> dict[str, Any] | None:
    result = zoo.push(args.run, args.repo, private=args.private, revision=args.revision)
    if args.json:
        return result
    print(f"Pushed {len(result['files'])} files to {result['url']} ({result['revision']}); load it with hf://{result['repo']}")
    return None


def cmd_new(args: argparse.Namespace) -> dict[str, Any] | None:
    from zoo.plugins import find_task
    from zoo.scaffold import commands_for

    folder = zoo.new(args.directory, args.task)
    commands = commands_for(folder)  # as the app's README says them, for the way zoo was started
    print(f"Created {_relative(folder)}: a {find_task(args.task).name} application. Next:")
    print(f"  cd {_relative(folder)} && {commands.zoo} train --config config.yaml && {commands.pytest}")
    if commands.missing:
        print(f"  note: {commands.missing}")
    return None


COMMAND_HANDLERS = {
    "list": cmd_list,
    "info": cmd_info,
    "train": cmd_train,
    "tune": cmd_tune,
    "runs": cmd_runs,
    "evaluate": cmd_evaluate,
    "predict": cmd_predict,
    "serve": cmd_serve,
    "export": cmd_export,
    "push": cmd_push,
    "new": cmd_new,
    "cache": cmd_cache,
}


def headline(metrics: dict[str, float]) -> dict[str, float | int]:
    """The metrics worth a line, whole numbers (a count of modes) as integers; per-class ones
    (`precision/cat`) stay in metrics.json and --json."""
    return {name: int(value) if float(value).is_integer() else value for name, value in metrics.items() if "/" not in name}


def records_text(records: list[dict[str, Any]]) -> str:
    """Prediction records as aligned `key=value` columns, one record a line; a list of
    mappings (classification's top_k) on an indented line of its own below."""
    rows = [[f"{key}={_human(value)}" for key, value in record.items() if not _is_table(value)] for record in records]
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(max(map(len, rows), default=0))]
    lines = []
    for record, row in zip(records, rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        lines += [f"  {key}: {', '.join(' '.join(map(_human, item.values())) for item in value)}" for key, value in record.items() if _is_table(value)]
    return "\n".join(lines)


def _is_table(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _human(value: Any) -> str:
    """Numbers to 4 decimals, mappings as `key=value` pairs, lists one after another."""
    if isinstance(value, float):
        return f"{value:.4f}" if 1e-4 <= abs(value) < 1e6 or value == 0 else f"{value:.3e}"
    if isinstance(value, dict):
        return "  ".join(f"{k}={_human(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_human(v) for v in value)
    return str(value)


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
