from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from storysplit.cli import main
from tests.conftest import REPO


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
    (broken / "labeller.npz").write_bytes(b"garbage")
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


def _non_space(text: str) -> list[str]:
    return sorted(ch for ch in text if not ch.isspace())


HOSTILE_FILES: dict[str, bytes] = {
    "crlf.txt": "Headline\r\n\r\nA story paragraph that reads like prose.\r\nMore • Menu\r\n".encode(),
    "cr_only.txt": b"Headline\r\rA story paragraph that reads like prose.\rMore | Menu\r",
    "no_newlines.txt": ("One sentence of the story goes here. " * 600).encode(),
    "mixed_scripts.txt": "مرحبا بالعالم\nবাংলা লেখা এখানে।\n日本語の文です。中文句子。\n😀🎉 emoji\n".encode(),
    "only_boilerplate.txt": b"Home\nNews\nSport\nWeather\nSubscribe\nShare this\n(c) 2025 The Paper\n",
    "only_story.txt": (
        "The council met on Monday to discuss the budget for next year. " * 5 + "\n\n"
    ).encode()
    * 6,
    "late_nul.txt": b"A paragraph of text. " * 500 + b"\x00 after the NUL.\n",
    "nested/same_name.txt": b"A first page in a subfolder.\n",
    "same_name.txt": b"A second page with the same file name at the top.\n",
}
REFUSED_FILES: dict[str, tuple[bytes, str]] = {
    "empty.txt": (b"", "document is empty"),
    "whitespace.txt": (b" \n\t\r\n" + "\u3000".encode(), "document is empty"),
    "binary.txt": (bytes(range(256)) * 4, "looks like a binary file (NUL bytes)"),
    "invalid_utf8.txt": (b"caf\xe9 au lait\n", "not valid UTF-8 at byte 3"),
    "collides.text": (b"First (in sorted order) to claim the output collides.txt.\n", ""),
    "collides.txt": (b"Would write to the same output as collides.text.\n", "its output"),
}


def test_hostile_files_each_work_or_are_named(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    inputs, output = tmp_path / "in", tmp_path / "out"
    for name, data in {**HOSTILE_FILES, **{n: d for n, (d, _) in REFUSED_FILES.items()}}.items():
        (inputs / name).parent.mkdir(parents=True, exist_ok=True)
        (inputs / name).write_bytes(data)
    huge = inputs / "huge.txt"
    with huge.open("wb") as handle:  # 50 MB: refused from its size alone, before it is read
        for _ in range(50):
            handle.write(b"A line of a very long document.\n" * 32_768)
    code, _, err = _run(
        ["segment", str(inputs), "--model", str(tiny_model_dir), "-o", str(output), "--keep-removed"], capsys
    )
    assert code == 1 and "Traceback" not in err
    assert f"{huge}: document is 52.4 MB, over the 16.8 MB limit (raise it with --max-bytes)" in err
    for name, (_, message) in REFUSED_FILES.items():
        if message:
            assert f"{inputs / name}: {message}" in err
    assert "6 document(s) skipped" in err
    for name, data in HOSTILE_FILES.items():
        kept = (output / name).read_text(encoding="utf-8")
        removed = (output / name).with_suffix(".removed.txt").read_text(encoding="utf-8")
        assert _non_space(kept + removed) == _non_space(data.decode()), name
    first = (output / "collides.txt").read_text() + (output / "collides.removed.txt").read_text()
    assert _non_space(first) == _non_space(REFUSED_FILES["collides.text"][0].decode())


def test_oversized_and_bad_jsonl_records_do_not_stop_the_others(
    tiny_model_dir: Path, tmp_path: Path, capsys
) -> None:
    source = tmp_path / "docs.jsonl"
    records = [
        {"id": "ok1", "text": "A story paragraph that reads like prose.\nMenu"},
        {"id": "big", "text": "x " * 600},
        {"id": "lone", "text": "half of a pair \ud800 here"},
        {"id": "num", "text": 7},
        {"id": "ok2", "text": "Another story paragraph.\r\nCR\rline"},
    ]
    source.write_text("\n".join(json.dumps(r) for r in records) + "\n\xff\n", encoding="utf-8")
    code, out, err = _run(
        ["segment", str(source), "--model", str(tiny_model_dir), "--max-bytes", "1000"], capsys
    )
    assert code == 1
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["ok1", "ok2"]
    assert (
        f"{source}:2: document has 1,200 characters, over the limit of 1,000 (raise it with --max-bytes)"
        in err
    )
    assert f"{source}:3: text holds a lone surrogate (U+D800) at character 15" in err
    assert f"{source}:4: no string 'text' field (fields: id, text)" in err
    assert f"{source}:6: not valid JSON" in err


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_document_the_model_fails_on_is_skipped_alone(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch, capsys, workers: str
) -> None:
    from storysplit.model import StorySplitModel

    original = StorySplitModel.segment_many

    def failing(self, texts, threshold=None):  # type: ignore[no-untyped-def]
        if any("poison" in text for text in texts):
            raise RuntimeError("poisoned")
        return original(self, texts, threshold)

    monkeypatch.setattr(StorySplitModel, "segment_many", failing)
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("a", "b", "c"):
        (inputs / f"{name}.txt").write_text(
            f"Story {name} reads like prose.\n" + ("poison\n" if name == "b" else "")
        )
    command = [
        "segment",
        str(inputs),
        "--model",
        str(tiny_model_dir),
        "--workers",
        workers,
        "--batch-size",
        "2",
    ]
    code, out, err = _run(command, capsys)
    assert code == 1
    assert f"skipped {inputs / 'b.txt'}: the model failed (RuntimeError: poisoned)" in err
    assert f"==> {inputs / 'a.txt'} <==" in out and f"==> {inputs / 'c.txt'} <==" in out


def test_a_reader_that_stops_early_gets_no_traceback(tiny_model_dir: Path, seed_rows, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for number in range(60):  # more main text than a pipe buffers, so writing blocks, then fails
        (inputs / f"{number:02d}.txt").write_text(seed_rows[number % len(seed_rows)]["text"])
    command = [sys.executable, "-m", "storysplit", "segment", str(inputs), "--model", str(tiny_model_dir)]
    process = subprocess.Popen(
        [*command, "--batch-size", "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(100)  # like `| head -c 100`
    process.stdout.close()
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141 and "Traceback" not in err, err


def _stdin(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_jsonl_from_stdin_names_each_bad_line_and_goes_on(
    tiny_model_dir: Path, seed_rows, monkeypatch, capsys
) -> None:
    good = [json.dumps({"url": f"u{i}", "content": r["text"]}).encode() for i, r in enumerate(seed_rows[:2])]
    lines = [
        good[0],
        b"not json at all",
        json.dumps({"url": "x", "text": "the wrong field"}).encode(),
        b'{"url": "latin", "content": "caf\xe9"}',
        b"",
        json.dumps({"content": "A record without an id reads like a story paragraph."}).encode(),
        good[1],
    ]
    _stdin(monkeypatch, b"\n".join(lines) + b"\n")
    code, out, err = _run(
        [
            "segment",
            "-",
            "--input-format",
            "jsonl",
            "--text-field",
            "content",
            "--id-field",
            "url",
            "--model",
            str(tiny_model_dir),
        ],
        capsys,
    )
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in records] == ["u0", "stdin:6", "u1"]
    assert records[0]["main_text"] and "Interpol said" in records[0]["main_text"]
    assert "stdin:2: not valid JSON" in err
    assert "stdin:3: no string 'content' field (fields: url, text)" in err
    assert "stdin:4: not valid UTF-8 at byte 32" in err
    assert "3 document(s) skipped" in err and "Traceback" not in err


def test_a_jsonl_file_without_the_suffix_is_read_as_jsonl_when_asked(
    tiny_model_dir: Path, tmp_path: Path, capsys
) -> None:
    source = tmp_path / "records.txt"
    source.write_text(json.dumps({"id": "a", "text": "A story paragraph that reads like prose."}) + "\n")
    code, out, _ = _run(["segment", str(source), "--model", str(tiny_model_dir)], capsys)
    assert code == 0 and "main_text" not in out  # auto: a .txt file is one plain text
    code, out, _ = _run(
        ["segment", str(source), "--input-format", "jsonl", "--model", str(tiny_model_dir)], capsys
    )
    assert code == 0 and json.loads(out)["id"] == "a"


class _CountingStream(io.RawIOBase):
    """20 MB of text that counts the bytes read from it (endless as far as the limit goes)."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if self.read_bytes > 20_000_000:
            return 0
        chunk = b"A line of an endless document.\n" * (len(buffer) // 31)
        buffer[: len(chunk)] = chunk
        self.read_bytes += len(chunk)
        return len(chunk)


def test_stdin_is_refused_once_it_passes_the_limit_not_after_it_ends(
    tiny_model_dir: Path, monkeypatch, capsys
) -> None:
    raw = _CountingStream()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(raw)))
    code, out, err = _run(["segment", "--model", str(tiny_model_dir), "--max-bytes", "100000"], capsys)
    assert code == 1 and out == ""
    assert "stdin: document is over the 100,000 byte limit (raise it with --max-bytes)" in err
    assert raw.read_bytes < 300_000


@pytest.mark.parametrize("module", ["storysplit.segment_cli", "storysplit.server"])
def test_every_option_has_help_text(module: str) -> None:
    import importlib

    parser = importlib.import_module(module)._parser()
    missing = [action.dest for action in parser._actions if not (action.help or "").strip()]
    assert missing == []


def test_keep_removed_help_says_where_the_removed_text_goes(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["segment", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "stderr" in text and "NAME.removed.txt" in text and "removed_text" in text


def test_version_comes_from_the_package_metadata(capsys) -> None:
    from importlib.metadata import version

    code, out, _ = _run(["--version"], capsys)
    assert code == 0 and out == f"storysplit {version('storysplit')}\n"


def test_cleaned_text_keeps_paragraph_breaks(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    paragraphs = [
        "The council approved the budget on Monday after a long debate about schools and roads.",
        "The mayor said the vote showed the city could agree on hard choices when it mattered.",
    ]
    page = tmp_path / "page.txt"
    page.write_text(f"{paragraphs[0]}\n\n{paragraphs[1]}\n", encoding="utf-8")
    code, out, _ = _run(
        ["segment", str(page), "--model", str(tiny_model_dir), "--threshold", "0.001"], capsys
    )
    assert code == 0 and out == f"{paragraphs[0]}\n\n{paragraphs[1]}\n"


def test_workers_give_the_same_records_in_the_same_order(
    tiny_model_dir: Path, seed_rows: list[dict[str, Any]], tmp_path: Path, capsys
) -> None:
    """Batches labelled in two worker processes come back in input order, record for record."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(13):
        row = seed_rows[i % len(seed_rows)]
        (inputs / f"{i:02d}.txt").write_text(f"Page {i}\n{row['text']}", encoding="utf-8")
    outputs = {}
    for workers in ("1", "2"):
        output = tmp_path / f"out-{workers}.jsonl"
        command = [
            "segment",
            str(inputs),
            "--model",
            str(tiny_model_dir),
            "--format",
            "jsonl",
            "-o",
            str(output),
        ]
        code, _, err = _run([*command, "--workers", workers, "--batch-size", "2"], capsys)
        assert code == 0, err
        outputs[workers] = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [record["id"] for record in outputs["2"]] == sorted(str(p) for p in inputs.iterdir())
    assert outputs["2"] == outputs["1"]
