"""`storysplit evaluate` end to end with a fake model, and its one-line errors."""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

import storysplit
from storysplit.cli import main as storysplit_main
from storysplit.evaluation import runner as evaluation_runner
from storysplit.evaluation.methods import SegmentDecisions, SegmentedText
from tests.evaluation.fakes import FakeModel


@pytest.fixture
def rows_file(tmp_path: Path, story_rows: list[dict[str, Any]]) -> Path:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in story_rows), encoding="utf-8")
    return path


@pytest.fixture
def faked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storysplit, "load_model", lambda path: FakeModel())


def test_missing_model_folder_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = storysplit_main(["evaluate", str(tmp_path / "no-model"), "--data", "seeds"])
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("storysplit evaluate: error:")
    assert err.count("\n") == 1
    assert "Traceback" not in err


@pytest.mark.usefixtures("faked")
def test_unknown_data_spec_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = storysplit_main(["evaluate", "m", "--data", "corpus:dev", "--output", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "unknown data spec 'corpus:dev'" in err


@pytest.mark.usefixtures("faked")
def test_evaluate_prints_tables_and_writes_report(
    tmp_path: Path, rows_file: Path, capsys: pytest.CaptureFixture[str], seeds_dir: Path
) -> None:
    argv = ["evaluate", "m", "--data", str(rows_file), "--data", "seeds", "--seeds-dir", str(seeds_dir)]
    code = storysplit_main([*argv, "--output", str(tmp_path / "out"), "--no-html"])
    out = capsys.readouterr().out
    assert code == 0
    for method in ("model", "keep_all", "first_20_lines", "c4_lines", "gopher_lines", "justext_lines"):
        assert f"| {method} | text |" in out
    assert "## seeds: 5 documents" in out
    assert (tmp_path / "out" / "report.md").is_file()
    assert (tmp_path / "out" / "seeds-threshold-curve.png").is_file()


@pytest.mark.usefixtures("faked")
def test_gate_exit_codes(tmp_path: Path, rows_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["evaluate", "m", "--output", str(tmp_path / "out"), "--no-html"]
    assert storysplit_main([*base, "--data", str(rows_file), "--print-floors"]) == 0
    measured = yaml.safe_load(capsys.readouterr().out.split("report: ")[1].split("\n", 1)[1])
    floors = tmp_path / "floors.yaml"
    floors.write_text(yaml.safe_dump({"tolerance": 0.0, **measured}), encoding="utf-8")
    assert storysplit_main([*base, "--gate", str(floors)]) == 0
    assert "gate: passed" in capsys.readouterr().out

    measured["data"][str(rows_file)]["token_f1"]["model"] = 0.99
    floors.write_text(yaml.safe_dump({"tolerance": 0.0, **measured}), encoding="utf-8")
    assert storysplit_main([*base, "--gate", str(floors)]) == 1
    failures = [line for line in capsys.readouterr().err.splitlines() if line.startswith("gate failed")]
    assert len(failures) == 1 and failures[0].startswith(f"gate failed: {rows_file}: model token F1")


class _NoisyKeepAll:
    """A baseline that warns and logs as third-party libraries do."""

    name = "noisy"
    graded = False

    def decide(self, documents: Sequence[SegmentedText]) -> list[SegmentDecisions]:
        warnings.warn("a library's deprecation", DeprecationWarning, stacklevel=1)
        logging.getLogger("some.library").warning("nested A elements")
        return [SegmentDecisions.from_keep([True] * len(d.segments)) for d in documents]


@pytest.mark.usefixtures("faked")
def test_evaluate_shows_progress_and_keeps_library_warnings_out_of_its_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], seeds_dir: Path
) -> None:
    monkeypatch.setattr(evaluation_runner, "text_baselines", lambda first_lines: [_NoisyKeepAll()])
    argv = ["evaluate", "m", "--data", "seeds", "--seeds-dir", str(seeds_dir), "--no-html"]
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        code = storysplit_main([*argv, "--output", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 0 and "| noisy | text |" in captured.out
    assert "nested A elements" not in captured.out + captured.err
    assert "deprecation" not in captured.out + captured.err
    progress = [line.split(" in ")[0] for line in captured.err.splitlines()]
    assert progress == [
        "storysplit evaluate: seeds [1/4] model: 5 documents",
        "storysplit evaluate: seeds [2/4] noisy: 5 documents",
        "storysplit evaluate: seeds [3/4] oracle: 5 documents",
        "storysplit evaluate: seeds [4/4] region_oracle: 5 documents",
        "storysplit evaluate: 2 library warning(s)",
    ]
    log = (tmp_path / "out" / "library-warnings.log").read_text(encoding="utf-8")
    assert "WARNING some.library: nested A elements" in log and "DeprecationWarning" in log
