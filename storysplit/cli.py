"""The `storysplit` command, and `storysplit-dev`: entry points whose subcommands live in their own modules.

Each subcommand module exposes `main(argv: list[str] | None) -> int`; it is imported only when
used, so `storysplit segment` never loads training, tracking or dataset libraries. `storysplit`
carries the product's commands; `storysplit-dev` the developers' tools (`bench`, `loso`), which
users of the package never need.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import NamedTuple

from storysplit.bundled import package_version
from storysplit.errors import StorysplitError


class Command(NamedTuple):
    """A subcommand: the module whose `main` runs it, its help line, and the extra it needs.

    `extra` names a group of pyproject.toml's [project.optional-dependencies] (None: the core
    dependencies suffice); a third-party module missing while the command runs is reported as that
    extra to install.
    """

    module: str
    help: str
    extra: str | None = None


COMMANDS: dict[str, Command] = {
    "segment": Command(
        "storysplit.segment_cli", "label segments of documents and print or write the main text"
    ),
    "serve": Command("storysplit.server", "serve a model over HTTP: POST /segment, GET /health", "serve"),
    "corpus": Command(
        "storysplit.train.corpus.build", "build the labelled corpus from ../shared/data", "train"
    ),
    "train": Command("storysplit.train.run", "train a model from a config, tracked in MLflow", "train"),
    "evaluate": Command(
        "storysplit.evaluation.cli", "score a model and the baselines on labelled documents", "train"
    ),
    "distill": Command(
        "storysplit.train.distill",
        "distil a fast static encoder from a sentence-transformers model",
        "train",
    ),
    "export-onnx": Command(
        "storysplit.train.export_onnx", "export a transformer encoder to ONNX (optionally int8)", "onnx"
    ),
    "clean": Command(
        "storysplit.jobs.clean",
        "clean a corpus (JSONL, Parquet, .txt) in resumable shards, locally or on Ray",
        "clean",
    ),
}

# `storysplit-dev`: tools for developing storysplit, out of the product's command list.
DEV_COMMANDS: dict[str, Command] = {
    "bench": Command(
        "storysplit.evaluation.bench",
        "speed, memory and token F1 of each encoder backend and the baselines",
        "train",
    ),
    "bench-sites": Command(
        "storysplit.evaluation.bench_sites",
        "`storysplit clean --site-field` on a large synthetic crawl, beside the one-pass job",
        "train",
    ),
    # Leave-one-source-out trains a model per fold, so it lives with training; `evaluation` never
    # imports `train`.
    "loso": Command(
        "storysplit.train.loso",
        "leave-one-source-out: train on all sources but one, score on that one, for each source",
        "train",
    ),
    "loso-compare": Command(
        "storysplit.train.loso_compare",
        "two leave-one-source-out runs side by side, each change paired page by page",
        "train",
    ),
    "loso-sites": Command(
        "storysplit.train.loso_sites",
        "a leave-one-source-out run's scores on pages of crawled sites and on pages alone",
        "train",
    ),
}

# Commands that label documents run one BLAS/OpenMP thread unless the user says otherwise: their
# matrix products are one page's segments, too small to share, and a second thread mostly waits
# (one thread labelled full news pages faster than two, side by side: docs/speed.md).
SINGLE_THREADED = frozenset({"segment", "serve"})
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def main(argv: list[str] | None = None) -> int:
    """`storysplit COMMAND ...`; user errors print one line and exit with 2."""
    return _dispatch("storysplit", COMMANDS, sys.argv[1:] if argv is None else list(argv))


def dev_main(argv: list[str] | None = None) -> int:
    """`storysplit-dev COMMAND ...` (bench, loso); user errors print one line and exit with 2."""
    return _dispatch("storysplit-dev", DEV_COMMANDS, sys.argv[1:] if argv is None else list(argv))


def _dispatch(program: str, commands: dict[str, Command], args: list[str]) -> int:
    """Run `program`'s command named by `args[0]` with the rest of `args`."""
    if not args or args[0] in ("-h", "--help"):
        print(_usage(program, commands))
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        print(f"{program} {package_version()}")
        return 0
    command, rest = args[0], args[1:]
    if command not in commands:
        print(f"{program}: error: unknown command {command!r}\n{_usage(program, commands)}", file=sys.stderr)
        return 2
    chosen = _resolve(command, commands[command], rest)
    if command in SINGLE_THREADED:
        for variable in THREAD_VARIABLES:
            os.environ.setdefault(variable, "1")
    try:
        return int(importlib.import_module(chosen.module).main(rest))
    except StorysplitError as error:
        print(f"{program} {command}: error: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        message = _missing_extra_message(error, chosen.extra)
        if message is None:
            raise
        print(f"{program} {command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{program} {command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`storysplit segment docs/ | head`): stop quietly, as Unix tools do;
        # stdout goes to /dev/null so that the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _resolve(command: str, chosen: Command, rest: list[str]) -> Command:
    """The command's entry, for the options that change what it needs."""
    if command == "clean" and _option_value(rest, "--engine") == "ray":
        return chosen._replace(extra="ray")
    return chosen


def _missing_extra_message(error: ModuleNotFoundError, extra: str | None) -> str | None:
    """What to install when a command's third-party module is missing; None when no extra provides it.

    A module of storysplit itself or of the standard library is a broken install, not a missing
    extra, and a command with no extra should have everything it imports in the core dependencies:
    those errors keep their traceback.
    """
    top_level = (error.name or "").partition(".")[0]
    if extra is None or not top_level or top_level == "storysplit" or top_level in sys.stdlib_module_names:
        return None
    return (
        f"this command needs the {extra} extra: pip install 'storysplit[{extra}]' "
        f"(missing module: {error.name})"
    )


def _option_value(args: list[str], option: str) -> str | None:
    """The value given to `option` as `OPTION VALUE` or `OPTION=VALUE`, if any."""
    for index, arg in enumerate(args):
        if arg == option and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(f"{option}="):
            return arg.partition("=")[2]
    return None


def _usage(program: str, commands: dict[str, Command]) -> str:
    lines = [f"usage: {program} COMMAND [ARGS...]", f"       {program} --version", "", "commands:"]
    lines += [f"  {name:<10} {command.help}" for name, command in commands.items()]
    lines.append(f"\n`{program} COMMAND --help` shows a command's options.")
    if program == "storysplit":
        lines.append("Developers' tools (bench, loso) are `storysplit-dev`'s commands.")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
