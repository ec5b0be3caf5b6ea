"""The quality gate: token-F1 floors per data spec and method, kept in git (`configs/floors.yaml`).

Each data spec's floors carry the fingerprint of the rows they were measured on. When the eval
data changes, the gate fails and says so instead of comparing a score with a floor set on other
documents; whoever changed the data re-measures and updates the floors in the same commit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from storysplit.errors import StorysplitError
from storysplit.evaluation.runner import SetResult
from storysplit.evaluation.summary import summarize


class FloorsError(StorysplitError):
    """The floors file is missing or malformed."""


@dataclass(frozen=True, slots=True)
class DataFloors:
    """Floors for one data spec: its fingerprint and the minimum token F1 per method."""

    fingerprint: str
    token_f1: dict[str, float]


@dataclass(frozen=True, slots=True)
class Floors:
    """Every data spec's floors, and how far below a floor a score may fall and still pass."""

    tolerance: float
    data: dict[str, DataFloors]


@dataclass(frozen=True, slots=True)
class GateOutcome:
    """What the gate found: one line per failure (empty when it passed) and per check made."""

    failures: tuple[str, ...]
    checks: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


def load_floors(path: Path) -> Floors:
    """Read and validate a floors file (unknown keys are errors, so typos do not disable a floor)."""
    if not path.is_file():
        raise FloorsError(f"no floors file {path}")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict) or set(raw) - {"tolerance", "data"}:
        raise FloorsError(f"{path}: expected top-level keys 'tolerance' and 'data'")
    data: dict[str, DataFloors] = {}
    for spec, entry in (raw.get("data") or {}).items():
        data[str(spec)] = _data_floors(path, str(spec), entry)
    if not data:
        raise FloorsError(f"{path} sets no floors")
    return Floors(float(raw.get("tolerance", 0.0)), data)


def check_floors(results: Sequence[SetResult], floors: Floors) -> GateOutcome:
    """Compare each floored data spec's results with its floors.

    A floored spec that was not evaluated, a changed fingerprint, a floored method missing from
    the run and a token F1 below `floor - tolerance` all fail the gate.
    """
    by_spec = {r.spec: r for r in results}
    failures: list[str] = []
    checks: list[str] = []
    for spec, spec_floors in floors.data.items():
        result = by_spec.get(spec)
        if result is None:
            failures.append(f"{spec}: has floors but was not evaluated (add --data {spec})")
            continue
        if result.fingerprint != spec_floors.fingerprint:
            failures.append(
                f"{spec}: eval data changed (fingerprint {result.fingerprint[:12]} != floors' "
                f"{spec_floors.fingerprint[:12]}); re-measure and update the floors"
            )
            continue
        names = [m.name for m in result.methods]
        for method, floor in spec_floors.token_f1.items():
            if method not in names:
                failures.append(f"{spec}: method {method!r} has a floor but was not run")
                continue
            score = summarize(result.method(method).documents).token_f1
            line = f"{spec}: {method} token F1 {score:.4f} (floor {floor:.4f}, tolerance {floors.tolerance})"
            checks.append(line)
            if score < floor - floors.tolerance:
                failures.append(f"{line} is below its floor")
    return GateOutcome(tuple(failures), tuple(checks))


def measured_floors(results: Sequence[SetResult], methods: Sequence[str]) -> dict[str, Any]:
    """The `data` section a floors file would get from these results (to set or refresh floors).

    Scores are rounded down to four decimals so that the run that set a floor passes it.
    """
    return {
        r.spec: {
            "fingerprint": r.fingerprint,
            "token_f1": {
                m: math.floor(summarize(r.method(m).documents).token_f1 * 10_000) / 10_000
                for m in methods
                if m in {x.name for x in r.methods}
            },
        }
        for r in results
    }


def _data_floors(path: Path, spec: str, entry: Any) -> DataFloors:
    if not isinstance(entry, Mapping) or set(entry) != {"fingerprint", "token_f1"}:
        raise FloorsError(f"{path}: floors for {spec!r} need exactly 'fingerprint' and 'token_f1'")
    token_f1 = entry["token_f1"]
    if not isinstance(token_f1, Mapping) or not token_f1:
        raise FloorsError(f"{path}: {spec!r} token_f1 must map method names to floors")
    try:
        values = {str(method): float(value) for method, value in token_f1.items()}
    except (TypeError, ValueError):
        raise FloorsError(f"{path}: {spec!r} token_f1 floors must be numbers") from None
    return DataFloors(str(entry["fingerprint"]), values)
