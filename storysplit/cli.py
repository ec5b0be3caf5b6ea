"""The `storysplit` command: one entry point whose subcommands live in their own modules.

Each subcommand module exposes `main(argv: list[str] | None) -> int`; it is imported only when
used, so `storysplit segment` never loads training, tracking or dataset libraries.
"""

from __future__ import annotations

import importlib
import os
import sys

from storysplit.bundled import package_version
from storysplit.errors import StorysplitError

COMMANDS: dict[str, tuple[str, str]] = {
    "segment": ("storysplit.segment_cli", "label segments of documents and print or write the main text"),
    "serve": ("storysplit.server", "serve a model over HTTP: POST /segment, GET /health"),
    "corpus": ("storysplit.train.corpus.build", "build the labelled corpus from ../shared/data"),
    "train": ("storysplit.train.run", "train a model from a config, tracked in MLflow"),
    "evaluate": ("storysplit.evaluation.cli", "score a model and the baselines on labelled documents"),
    "bench": (
        "storysplit.evaluation.bench",
        "speed, memory and token F1 of each encoder backend and the baselines",
    ),
    "distill": (
        "storysplit.train.distill",
        "distil a fast static encoder from a sentence-transformers model",
    ),
    "export-onnx": ("storysplit.train.export_onnx", "export a transformer encoder to ONNX (optionally int8)"),
    "clean": (
        "storysplit.jobs.clean",
        "clean a corpus (JSONL, Parquet, .txt) in resumable shards, locally or on Ray",
    ),
}


LOSO_FLAG = "--leave-one-source-out"
# Commands that label documents run one BLAS/OpenMP thread unless the user says otherwise: their
# matrix products are one page's segments, too small to share, and a second thread mostly waits
# (measured on full news pages: 62 vs 52 docs/s, one vs two threads, side by side).
SINGLE_THREADED = frozenset({"segment", "serve"})
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def main(argv: list[str] | None = None) -> int:
    """Dispatch `storysplit COMMAND ...`; user errors print one line and exit with 2."""
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        print(f"storysplit {package_version()}")
        return 0
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"storysplit: error: unknown command {command!r}\n{_usage()}", file=sys.stderr)
        return 2
    module_name = COMMANDS[command][0]
    if command in SINGLE_THREADED:
        for variable in THREAD_VARIABLES:
            os.environ.setdefault(variable, "1")
    if command == "evaluate" and LOSO_FLAG in rest:
        # Leave-one-source-out trains a model per fold, so it lives with training (train.loso);
        # `evaluation` itself never imports `train`.
        module_name = "storysplit.train.loso"
    module = importlib.import_module(module_name)
    try:
        return int(module.main(rest))
    except StorysplitError as error:
        print(f"storysplit {command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"storysplit {command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`storysplit segment docs/ | head`): stop quietly, as Unix tools do;
        # stdout goes to /dev/null so that the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _usage() -> str:
    lines = ["usage: storysplit COMMAND [ARGS...]", "       storysplit --version", "", "commands:"]
    lines += [f"  {name:<10} {help_text}" for name, (_, help_text) in COMMANDS.items()]
    lines.append("\n`storysplit COMMAND --help` shows a command's options.")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
