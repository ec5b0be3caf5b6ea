"""Errors that the CLI reports as one line and a non-zero exit code instead of a traceback."""

from __future__ import annotations


class StorysplitError(Exception):
    """Base for every error whose message is meant for the user as it is."""


class InputError(StorysplitError):
    """A document cannot be read as text (binary, wrong encoding, too large, missing)."""


class ModelLoadError(StorysplitError):
    """A model folder is missing, incomplete, tampered with or made for other code."""


class ModelSaveError(StorysplitError):
    """A model cannot be written where asked: the folder holds files that are not a model's."""
