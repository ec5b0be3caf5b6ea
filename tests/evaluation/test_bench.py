"""`storysplit-dev bench` end to end on the seeds with a small real model, in spawned worker processes."""

from __future__ import annotations

import json
import resource
from pathlib import Path

import pytest

from storysplit import load_model
from storysplit.cli import dev_main
from storysplit.evaluation.bench import _C4Task, _sample, _timed_passes
from storysplit.evaluation.bench_commands import one_line_document
from storysplit.evaluation.data import EvalDocument, EvalSet, load_eval_set
from storysplit.evaluation.methods import ModelMethod
from storysplit.evaluation.runner import COMPOSED_RENDERER, evaluate_set
from storysplit.evaluation.summary import summarize
from storysplit.features.segmentation import split_document


@pytest.mark.slow
def test_bench_times_each_method_and_scores_what_it_timed(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], seeds_dir: Path
) -> None:
    output = tmp_path / "bench.json"
    argv = ["bench", "--data", "seeds", "--seeds-dir", str(seeds_dir), "--model", str(tiny_model_dir)]
    argv += [
        "--docs",
        "5",
        "--runs",
        "2",
        "--workers",
        "2",
        "--no-html",
        "--no-commands",
        "--no-one-line",
        "--output",
        str(output),
    ]
    code = dev_main(argv)
    printed = capsys.readouterr().out
    assert code == 0
    assert f"| {tiny_model_dir} | text | 2 |" in printed and "| C4 line rule | text | 2 |" in printed
    model_row, c4_row = json.loads(output.read_text(encoding="utf-8"))
    seeds = load_eval_set("seeds", seeds_dir)
    expected = evaluate_set(seeds, 1000, [ModelMethod(load_model(tiny_model_dir))]).methods[0]
    assert model_row["token_f1"] == pytest.approx(summarize(expected.documents).token_f1)
    assert model_row["documents"] == 5 and len(model_row["pass_seconds"]) == 2
    assert model_row["segments"] == sum(len(split_document(d.text, 1000)) for d in seeds.documents)
    assert c4_row["peak_rss_mb"] > 0 and c4_row["startup_seconds"] > 0


@pytest.mark.slow
def test_whole_commands_run_side_by_side_and_print_the_ratios(
    tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bench", "--commands-only", "--model", str(tiny_model_dir), "--pages", "3", "--runs", "2"]
    code = dev_main([*argv, "--workers", "2", "--page-sets", "news-fixtures"])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.startswith("| ")][1:]
    names = [row.split(" | ")[0][2:] for row in rows]
    assert names == [
        "storysplit segment --workers 1 on 3 pages' text",
        "trafilatura on 3 pages' HTML, one process",
        "storysplit segment --workers 2 on 3 pages' text",
        "trafilatura on 3 pages' HTML, 2 processes",
        "storysplit segment PAGE.txt",
        "trafilatura.extract(PAGE.html)",
    ]
    assert "x trafilatura's (goal >= 2x)" in out and "one page: storysplit" in out


@pytest.mark.slow
def test_one_line_documents_of_each_size_are_timed_with_their_peak_memory(
    tiny_model_dir: Path, capsys: pytest.CaptureFixture[str], seeds_dir: Path
) -> None:
    argv = ["bench", "--one-line-only", "--model", str(tiny_model_dir), "--one-line", "0.01,0.03"]
    code = dev_main([*argv, "--data", "seeds", "--seeds-dir", str(seeds_dir)])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = [line.split(" | ") for line in out.splitlines() if line.startswith("| ")][1:]
    assert [row[0] for row in rows] == ["| 0.01 MB", "| 0.03 MB"]
    segments = [int(row[1].replace(",", "")) for row in rows]
    peak_rss_mb = [float(row[4].rstrip(" |").replace(",", "")) for row in rows]
    assert 0 < segments[0] < segments[1] and min(peak_rss_mb) > 0


def test_a_one_line_document_is_one_line_of_the_size_asked_for() -> None:
    texts = ["First line.\nSecond\u2028line, été.\r\n\n", "  Another\tpage  "]
    document = one_line_document(texts, 1000)
    assert document.splitlines() == [document] and "  " not in document
    assert 995 <= len(document.encode("utf-8")) <= 1000
    assert document.startswith("First line. Second line, été. Another page First line.")


def test_a_failing_worker_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], seeds_dir: Path
) -> None:
    (tmp_path / "broken").mkdir()
    argv = ["bench", "--data", "seeds", "--seeds-dir", str(seeds_dir), "--model", str(tmp_path / "broken")]
    assert dev_main([*argv, "--docs", "2", "--runs", "1", "--no-html"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("storysplit-dev bench: error: benchmark worker failed:") and err.count("\n") == 1


def test_the_sample_holds_each_page_once_in_turning_renderers() -> None:
    def rendering(page: str, renderer: str) -> EvalDocument:
        return EvalDocument(f"{page}-{renderer}", "text", "src", renderer, "text", page, ())

    renderers = ("dom_lines", "html_text", "single_line")
    documents = [rendering(page, r) for page in ("a.html", "b.html", "c.html") for r in renderers]
    documents.append(rendering("", COMPOSED_RENDERER))
    sample = _sample(EvalSet("validation", tuple(documents)), 300)
    assert [d.id for d in sample.documents] == ["a.html-dom_lines", "b.html-html_text", "c.html-single_line"]
    assert len(_sample(EvalSet("validation", tuple(documents)), 2).documents) == 2


@pytest.mark.slow
def test_a_workers_peak_memory_is_its_own_not_the_bench_that_started_it() -> None:
    ballast = bytearray(400 * 2**20)  # the bench's own memory, touched: 400 MB more RSS here
    ballast[::4096] = b"x" * len(ballast[::4096])
    parent_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    timing = _timed_passes(_C4Task(), ["A line of text.\n\nAnother one."] * 3, workers=1, runs=1)
    assert 0 < timing.peak_rss_mb < parent_mb - 300
    del ballast
