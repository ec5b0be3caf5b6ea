from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from storysplit.cli import main


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_file_to_stdout(
    tiny_model_dir: Path, seed_rows: list[dict[str, Any]], tmp_path: Path, capsys
) -> None:
    page = tmp_path / "page.txt"
    page.write_text(seed_rows[0]["text"], encoding="utf-8")
    code, out, err = _run(["segment", str(page), "--model", str(tiny_model_dir)], capsys)
    assert code == 0, err
    assert "Interpol said" in out and "==>" not in out


def test_folder_with_bad_files_keeps_going(tiny_model_dir: Path, seed_rows, tmp_path: Path, capsys) -> None:
    inputs, output = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    (inputs / "good.txt").write_text(seed_rows[1]["text"].replace("\n", "\r\n"), encoding="utf-8")
    (inputs / "empty.txt").write_text("")
    (inputs / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (inputs / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    code, _, err = _run(
        ["segment", str(inputs), "--model", str(tiny_model_dir), "-o", str(output), "--keep-removed"], capsys
    )
    assert code == 1
    assert "empty.txt: document is empty" in err
    assert "binary.txt: looks like a binary file" in err
    assert "latin1.txt: not valid UTF-8 at byte 3" in err
    assert "Traceback" not in err
    assert (output / "good.txt").read_text().strip()
    assert (output / "good.removed.txt").exists()


def test_jsonl_in_jsonl_out(tiny_model_dir: Path, seed_rows, tmp_path: Path, capsys) -> None:
    source = tmp_path / "docs.jsonl"
    lines = [json.dumps({"id": f"d{i}", "text": r["text"]}) for i, r in enumerate(seed_rows[:3])]
    source.write_text("\n".join([*lines, "{broken", json.dumps({"id": "x", "text": ""})]) + "\n")
    code, out, err = _run(["segment", str(source), "--model", str(tiny_model_dir)], capsys)
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in records] == ["d0", "d1", "d2"]
    for record, row in zip(records, seed_rows, strict=False):
        assert {"main_text", "segments"} <= set(record)
        for segment in record["segments"]:
            assert 0 <= segment["start"] < segment["end"] <= len(row["text"])
    assert "not valid JSON" in err and "document is empty" in err


def test_stdin_and_threshold(tiny_model_dir: Path, seed_rows, monkeypatch, capsys) -> None:
    text = seed_rows[0]["text"]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    code, strict, _ = _run(["segment", "--model", str(tiny_model_dir), "--threshold", "0.99"], capsys)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    code2, lenient, _ = _run(["segment", "-", "--model", str(tiny_model_dir), "--threshold", "0.01"], capsys)
    assert code == code2 == 0
    assert len(strict) <= len(lenient)


def test_missing_model_and_corrupt_model_are_one_line_errors(
    tiny_model_dir: Path, tmp_path: Path, capsys
) -> None:
    page = tmp_path / "p.txt"
    page.write_text("hello")
    code, _, err = _run(["segment", str(page), "--model", str(tmp_path / "absent")], capsys)
    assert code == 2 and err.count("\n") == 1 and "model folder not found" in err
    broken = Path(shutil.copytree(tiny_model_dir, tmp_path / "broken"))
    (broken / "head.skops").write_bytes(b"garbage")
    code, _, err = _run(["segment", str(page), "--model", str(broken)], capsys)
    assert code == 2 and err.count("\n") == 1 and "checksum" in err


def test_bad_config_key_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    config = tmp_path / "typo.yaml"
    config.write_text("encoder:\n  modle: x\n")
    code, _, err = _run(["train", str(config)], capsys)
    assert code == 2 and err.count("\n") == 1 and "encoder.modle: unknown key" in err


def test_unknown_command(capsys) -> None:
    code, _, err = _run(["frobnicate"], capsys)
    assert code == 2 and "unknown command" in err
