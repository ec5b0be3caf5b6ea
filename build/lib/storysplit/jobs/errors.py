"""Errors that stop a corpus job, reported as one line by the CLI."""

from __future__ import annotations

from storysplit.errors import StorysplitError


class JobError(StorysplitError):
    """The job cannot start as asked (output folder in use or from other settings) or cannot go on."""
