"""Run a snippet in a fresh Python interpreter and read what it printed last.

Import checks, thread settings and logged MLflow models must be seen from a process that has not
imported what this test session already has.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def printed_last(
    code: str, *args: Path, env: dict[str, str] | None = None, cwd: Path = REPO, timeout: int = 300
) -> Any:
    """Run `code` with `args` in a fresh interpreter in `cwd`; the JSON of its last printed line.

    `env` is taken as given; without it, this environment with the checkout on PYTHONPATH.
    """
    if env is None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.splitlines()[-1])
