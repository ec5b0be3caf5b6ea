"""Command-line options that several commands share, defined once so that they read and check alike."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from storysplit.bundled import DEFAULT_MODEL
from storysplit.model import MODEL_ENV


def add_model_option(parser: argparse._ActionsContainer) -> None:
    """`--model`: a model folder or a shipped model's name; `$STORYSPLIT_MODEL`, else the shipped default.

    `parser` is a parser or one of its argument groups.
    """
    parser.add_argument(
        "--model",
        type=Path,
        default=Path(os.environ.get(MODEL_ENV, DEFAULT_MODEL)),
        help=f"model folder or shipped model name (default: ${MODEL_ENV}, else the shipped default)",
    )


def threshold_argument(value: str) -> float:
    """argparse type of `--threshold`: a probability strictly between 0 and 1.

    Every refusal says what is expected: argparse's own message for a ValueError names this
    function ("invalid threshold_argument value"), not the option's range.
    """
    expected = f"expected a number greater than 0 and less than 1, got {value!r}"
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(expected) from None
    if not 0.0 < number < 1.0:  # NaN fails too
        raise argparse.ArgumentTypeError(expected)
    return number


def positive_int(value: str) -> int:
    """argparse type of counts (`--workers`, `--batch-size`, ...): a whole number of at least 1."""
    expected = f"expected a whole number of at least 1, got {value!r}"
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(expected) from None
    if number < 1:
        raise argparse.ArgumentTypeError(expected)
    return number


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform tells it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
