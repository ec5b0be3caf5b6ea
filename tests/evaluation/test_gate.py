"""The quality gate: floors pass and fail, changed data is reported, and the shipped model holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from storysplit.evaluation.baselines import FirstLines, KeepAll
from storysplit.evaluation.data import EvalSet, document_from_row, load_eval_set
from storysplit.evaluation.gate import FloorsError, check_floors, load_floors
from storysplit.evaluation.runner import SetResult, evaluate_all, evaluate_set
from storysplit.evaluation.summary import summarize
from tests.conftest import REPO

FLOORS = REPO / "configs" / "floors.yaml"
DEFAULT_MODEL = REPO / "models" / "default"


def run(rows: list[dict[str, Any]]) -> SetResult:
    eval_set = EvalSet("handmade", tuple(document_from_row(r) for r in rows))
    return evaluate_set(eval_set, 1000, [KeepAll(), FirstLines(2)])


def write_floors(path: Path, result: SetResult, floors: dict[str, float], tolerance: float = 0.0) -> Path:
    data = {result.spec: {"fingerprint": result.fingerprint, "token_f1": floors}}
    path.write_text(yaml.safe_dump({"tolerance": tolerance, "data": data}), encoding="utf-8")
    return path


def test_gate_passes_at_the_floor_and_fails_below(tmp_path: Path, story_rows: list[dict[str, Any]]) -> None:
    result = run(story_rows)
    score = summarize(result.method("keep_all").documents).token_f1
    passing = load_floors(write_floors(tmp_path / "pass.yaml", result, {"keep_all": score}))
    assert check_floors([result], passing).passed
    failing = load_floors(
        write_floors(tmp_path / "fail.yaml", result, {"keep_all": 0.99, "first_2_lines": 0.1})
    )
    outcome = check_floors([result], failing)
    assert not outcome.passed
    assert len(outcome.failures) == 1
    assert outcome.failures[0].startswith("handmade: keep_all token F1 0.9643 (floor 0.9900")
    assert outcome.failures[0].endswith("is below its floor")


def test_tolerance_lets_a_small_drop_pass(tmp_path: Path, story_rows: list[dict[str, Any]]) -> None:
    result = run(story_rows)
    score = summarize(result.method("keep_all").documents).token_f1
    floors = load_floors(
        write_floors(tmp_path / "f.yaml", result, {"keep_all": score + 0.005}, tolerance=0.01)
    )
    assert check_floors([result], floors).passed


def test_changed_data_is_reported_not_compared(tmp_path: Path, story_rows: list[dict[str, Any]]) -> None:
    floors = load_floors(write_floors(tmp_path / "f.yaml", run(story_rows), {"keep_all": 0.0}))
    changed = run([story_rows[0]])
    outcome = check_floors([changed], floors)
    assert len(outcome.failures) == 1
    assert "eval data changed" in outcome.failures[0]
    assert outcome.checks == ()


def test_floored_data_that_was_not_evaluated_fails(tmp_path: Path, story_rows: list[dict[str, Any]]) -> None:
    floors = load_floors(write_floors(tmp_path / "f.yaml", run(story_rows), {"model": 0.5}))
    assert check_floors([], floors).failures == (
        "handmade: has floors but was not evaluated (add --data handmade)",
    )
    assert check_floors([run(story_rows)], floors).failures == (
        "handmade: method 'model' has a floor but was not run",
    )


@pytest.mark.parametrize(
    "content",
    [
        "data: {}\n",
        "floors: {}\n",
        "data: {seeds: {token_f1: {model: 0.5}}}\n",
        "data: {seeds: {fingerprint: x, token_f1: {model: high}}}\n",
    ],
)
def test_malformed_floors_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "floors.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FloorsError):
        load_floors(path)


@pytest.mark.slow
@pytest.mark.usefixtures("gate_corpus")
def test_shipped_floors_match_the_shipped_eval_data(monkeypatch: pytest.MonkeyPatch, seeds_dir: Path) -> None:
    monkeypatch.chdir(REPO)
    floors = load_floors(FLOORS)
    for spec, spec_floors in floors.data.items():
        assert load_eval_set(spec, seeds_dir).fingerprint == spec_floors.fingerprint, spec


@pytest.mark.slow
@pytest.mark.usefixtures("gate_corpus")
def test_default_model_holds_its_floors(
    monkeypatch: pytest.MonkeyPatch, seeds_dir: Path, data_dir: Path
) -> None:
    from storysplit import load_model

    monkeypatch.chdir(REPO)
    model = load_model(DEFAULT_MODEL)
    floors = load_floors(FLOORS)
    results = evaluate_all(model, list(floors.data), seeds_dir, data_dir)
    for result in results:
        score = summarize(result.method("model").documents).token_f1
        floor = floors.data[result.spec].token_f1["model"]
        assert result.fingerprint == floors.data[result.spec].fingerprint, result.spec
        assert score >= floor - 0.01, f"{result.spec}: model token F1 {score:.4f} < floor {floor:.4f} - 0.01"
