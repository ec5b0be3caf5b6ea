"""`storysplit-dev bench-sites`: the two-pass corpus job on a synthetic crawl, beside the one-pass job."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from datasets import Dataset

from storysplit.cli import dev_main
from storysplit.evaluation.bench_sites import JobRun, read_cleaned, report, same_site_tables, write_crawl
from storysplit.evaluation.synthetic_crawl import crawl_rows
from tests.evaluation.fakes import crawl_corpus_rows


def test_the_crawl_is_written_as_records_with_their_site(tmp_path: Path) -> None:
    pages = list(crawl_rows(crawl_corpus_rows(), crawls=3, pages=4))
    documents, sites, text_bytes = write_crawl(iter(pages), tmp_path / "crawl.jsonl.gz")
    with gzip.open(tmp_path / "crawl.jsonl.gz", "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    assert (documents, sites) == (4, 1)
    assert text_bytes == sum(len(page["text"].encode()) for page in pages)
    assert [record["site"] for record in records] == ["crawl-template.com"] * 4
    assert [record["text"] for record in records] == [page["text"] for page in pages]


def test_cleaned_records_are_read_from_any_layout_but_the_job_folder(tmp_path: Path) -> None:
    for name, record in (
        ("shard-00000.jsonl.gz", {"id": "a", "text": "A"}),
        ("part/x.jsonl.gz", {"id": "b", "text": "B"}),
    ):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        with gzip.open(tmp_path / name, "wt", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
    (tmp_path / ".storysplit").mkdir()
    with gzip.open(tmp_path / ".storysplit" / "errors.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "c", "text": "not a cleaned record"}) + "\n")
    assert read_cleaned(tmp_path) == {"a": "A", "b": "B"}


def test_site_tables_are_the_same_only_when_every_array_is(tmp_path: Path) -> None:
    arrays = {"sites": np.array([1, 2], dtype=np.uint64), "counts": np.array([3, 4])}
    np.savez(tmp_path / "a.npz", **arrays)
    np.savez(tmp_path / "b.npz", **arrays)
    np.savez(tmp_path / "c.npz", **(arrays | {"counts": np.array([3, 5])}))
    assert same_site_tables(tmp_path / "a.npz", tmp_path / "b.npz")
    assert not same_site_tables(tmp_path / "a.npz", tmp_path / "c.npz")


@pytest.mark.parametrize(("two_pass_seconds", "verdict"), [(110.0, "met"), (130.0, "not met")])
def test_the_report_compares_the_rates_with_the_goal(two_pass_seconds: float, verdict: str) -> None:
    crawl = {"documents": 1000, "sites": 10, "text_bytes": 10**7, "data": "d", "workers": 2}
    runs = [
        JobRun("", 1000, 100.0, 300.0, ["storysplit clean: 1,000 documents cleaned"]),
        JobRun("--site-field site", 1000, two_pass_seconds, 320.0, ["storysplit clean: counted"]),
    ]
    text = report(crawl, runs, None)
    assert f"(goal ≥ 80%: {verdict})" in text
    assert "| `storysplit clean --site-field site` | " in text and "    storysplit clean: counted" in text


@pytest.mark.slow
def test_the_bench_runs_both_jobs_and_both_engines_on_a_crawl(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # relative paths, as a user types them
    Dataset.from_list(crawl_corpus_rows()).save_to_disk("split")
    arguments = ["--model", str(tiny_model_dir), "--data", "split", "--sites", "1", "--pages", "6"]
    arguments += ["--workers", "1", "--ray-documents", "4", "--output", "bench"]
    assert dev_main(["bench-sites", *arguments]) == 0
    output = tmp_path / "bench"
    results = json.loads((output / "results.json").read_text())
    assert [run["documents"] for run in results["runs"]] == [6, 6]
    assert any("counted the lines of 6 pages of 1 sites" in line for line in results["runs"][1]["report"])
    engines = results["engines"]
    assert engines["same_site_table"] and engines["same_ids"] and engines["same_texts"] == 4
    assert read_cleaned(output / "sites").keys() == read_cleaned(output / "one-pass").keys()
    assert dev_main(["bench-sites", *arguments]) == 2  # the output folder is not empty


@pytest.mark.parametrize("option", ["--sites", "--pages", "--workers", "--ray-documents"])
def test_a_count_below_one_is_a_one_line_error(
    option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        dev_main(["bench-sites", option, "0", "--output", str(tmp_path / "bench")])
    assert stopped.value.code == 2
    assert option in capsys.readouterr().err
    assert not (tmp_path / "bench").exists()  # nothing was started
