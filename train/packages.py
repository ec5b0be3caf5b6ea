"""The packages a served model installs and a trained one records, read from storysplit's own metadata.

pyproject.toml is the one list: the installed distribution's `Requires-Dist` lines carry its core
requirements (no extra) and each extra's, so nothing here keeps a second copy that could drift.
"""

from __future__ import annotations

import functools
import re
from importlib.metadata import requires

DISTRIBUTION = "storysplit"
TORCH = "torch"
"""What sentence-transformers (the transformer extra) and training compute with. Not a declared
requirement (the Makefile installs the CPU build first), but its version shapes the numbers."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_EXTRA = re.compile(r"""\bextra\s*==\s*["']([^"']+)["']""")
_NESTED_EXTRAS = re.compile(r"\[([^\]]*)\]")


@functools.cache
def requirements(*extras: str) -> tuple[str, ...]:
    """The names of storysplit's core requirements, then those each of `extras` adds (an extra
    that names another, `storysplit[transformer]`, adds that one's), each name once, in order."""
    names = [*_requires(None)]
    for extra in extras:
        names += _requires(extra)
    return tuple(dict.fromkeys(names))


def served(transformer_encoder: bool) -> tuple[str, ...]:
    """What serving a model needs: the core requirements (numpy heads, static and ONNX encoders),
    plus the transformer extra's and torch for an encoder that sentence-transformers runs."""
    return (*requirements("transformer"), TORCH) if transformer_encoder else requirements()


def recorded() -> tuple[str, ...]:
    """Whose versions a model folder records: what computes its features, for any encoder."""
    return (DISTRIBUTION, *requirements("transformer"), TORCH)


def training() -> tuple[str, ...]:
    """Whose versions a training run records: everything the train extra installs, and torch."""
    return (DISTRIBUTION, *requirements("train"), TORCH)


def _requires(extra: str | None) -> list[str]:
    """Names of the `Requires-Dist` lines for `extra` (None: those without an extra marker)."""
    names: list[str] = []
    for line in requires(DISTRIBUTION) or []:
        requirement, _, marker = line.partition(";")
        found = _EXTRA.search(marker)
        if (found.group(1) if found else None) != extra:
            continue
        name = _NAME.match(requirement.strip())
        if name is None:
            raise ValueError(f"{DISTRIBUTION} metadata: cannot read the requirement {line!r}")
        if _normal(name.group()) != DISTRIBUTION:
            names.append(name.group())
            continue
        nested = _NESTED_EXTRAS.search(requirement)
        for other in nested.group(1).split(",") if nested else []:
            names += _requires(other.strip())
    return names


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
