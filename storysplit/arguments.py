"""Command-line options that several commands share, defined once so that they read and check alike."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from storysplit.model import DEFAULT_MODEL, MODEL_ENV


def add_model_option(parser: argparse._ActionsContainer) -> None:
    """`--model`: a model folder; by default `$STORYSPLIT_MODEL`, else the shipped model.

    `parser` is a parser or one of its argument groups.
    """
    parser.add_argument(
        "--model",
        type=Path,
        default=Path(os.environ.get(MODEL_ENV, DEFAULT_MODEL)),
        help=f"model folder (default: ${MODEL_ENV}, else the shipped models/default)",
    )


def threshold_argument(value: str) -> float:
    """argparse type of `--threshold`: a probability strictly between 0 and 1."""
    number = float(value)
    if not 0.0 < number < 1.0:
        raise argparse.ArgumentTypeError(f"threshold must be between 0 and 1, got {value}")
    return number
