"""Small corpora for the job tests: seed-derived documents written in each input format, read back."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from storysplit.cli import main


def make_records(seed_rows: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """`count` distinct documents: seed texts, each with a different line left out, plus a url field."""
    records = []
    for number in range(count):
        lines = seed_rows[number % len(seed_rows)]["text"].split("\n")
        del lines[(number // len(seed_rows)) % len(lines)]
        records.append(
            {"id": f"doc-{number:03d}", "url": f"https://example.org/{number}", "text": "\n".join(lines)}
        )
    return records


def write_jsonl(path: Path, records: list[dict[str, Any]], extra_lines: tuple[str, ...] = ()) -> Path:
    """Records as JSONL (gzipped when `path` ends in .gz), then `extra_lines` verbatim."""
    lines = [json.dumps(record) for record in records] + list(extra_lines)
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def read_jsonl_folder(folder: Path) -> list[dict[str, Any]]:
    """Every record of every .jsonl / .jsonl.gz data file in `folder`, file by file in name order."""
    records = []
    for path in sorted(folder.glob("*.jsonl*")):
        data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        records += [json.loads(line) for line in data.decode("utf-8").splitlines()]
    return records


def read_errors(folder: Path) -> list[dict[str, str]]:
    path = folder / ".storysplit" / "errors.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run_clean(args: list[str], capsys: Any) -> tuple[int, str]:
    """`storysplit clean ARGS` in this process (one worker unless ARGS say otherwise): exit code, stderr."""
    workers = [] if "--workers" in args else ["--workers", "1"]
    code = main(["clean", *args, *workers, "--no-progress"])
    return code, capsys.readouterr().err


SITE_MENU = "Home\nWorld\nSport\nNewsletter: sign up for our morning briefing\n\n"
SITE_FOOTER = "\n\nComments ({n})\nMost read\n© 2026 Example News Ltd. All rights reserved."


def make_crawl(seed_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A small crawl: 6 pages of one site sharing its menu and footer (its URLs written three ways),
    3 pages of another site, and 4 records without a site (no url field, an empty one)."""
    records = make_records(seed_rows, 13)
    for number, record in enumerate(records):
        if number < 6:
            host = ("https://www.news.example", "http://NEWS.example:8080", "https://news.example")[
                number % 3
            ]
            record["url"] = f"{host}/story/{number}"
            record["text"] = SITE_MENU + record["text"] + SITE_FOOTER.format(n=number * 7)
        elif number < 9:
            record["url"] = f"https://blog.example/post/{number}"
            record["text"] = "Blog home | Archive | About\n" + record["text"]
        elif number < 11:
            del record["url"]
        else:
            record["url"] = "  "
    return records


def approx_segments(record: dict[str, Any]) -> dict[str, Any]:
    """`record` with each segment's probability compared to float rounding: the labeller reads the
    documents of a batch together, so engines that batch differently agree to about 1e-9."""
    if not record.get("segments"):
        return record
    segments = [{**s, "probability": pytest.approx(s["probability"], abs=1e-6)} for s in record["segments"]]
    return {**record, "segments": segments}
