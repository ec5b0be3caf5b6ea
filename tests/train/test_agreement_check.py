"""The agreement measurement on a one-page folder laid out like news-fixtures."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from storysplit.train.agreement_check import main

FIXTURE = Path(__file__).parent / "fixtures" / "agreement_article.html"


def test_one_page_with_gold_scores_perfect_agreement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = FIXTURE.read_text(encoding="utf-8")
    (tmp_path / "html").mkdir()
    (tmp_path / "ground-truth").mkdir()
    (tmp_path / "html" / "0001.html.gz").write_bytes(gzip.compress(html.encode("utf-8")))
    story = re.findall(r"<p>(.*?)</p>", html, flags=re.DOTALL)[:5]  # the five story paragraphs
    gold = "\n".join(" ".join(paragraph.split()) for paragraph in story)
    truth = {
        "ground_truth": {
            "main_content": gold,
            "title": "Harbour Bridge Reopens After Eight Months of Repairs",
        }
    }
    (tmp_path / "ground-truth" / "0001.json").write_text(json.dumps(truth), encoding="utf-8")
    assert main([str(tmp_path), "--renderer", "dom_lines"]) == 0
    out = capsys.readouterr().out
    assert "all: 1 pages, 1 labelled, 0 skipped" in out
    assert re.search(r"agreement reference_text +F1 1\.000 \(n=1\)", out)
    assert re.search(r"agreement main +F1 .* R 1\.000 \(n=1\)", out)
    assert "agreement rate 1.000 (n=1)" in out
    assert "skipped: none" in out
