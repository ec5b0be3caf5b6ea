"""`storysplit clean --site-field`: pages of one site judge each other, counted in a first pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from storysplit.evaluation.methods import SegmentedText, site_table_of
from storysplit.features.segmentation import split_document
from storysplit.features.site_evidence import SiteTable
from storysplit.jobs.cleaning import CleanedText, CleanOptions, clean_documents
from storysplit.jobs.sites import document_site, site_key
from storysplit.model import load_model
from storysplit.records import SourceDocument
from tests.jobs.corpus import approx_segments, make_crawl, read_jsonl_folder, run_clean, write_jsonl


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://www.Example.com:8080/news/1?x=2", "example.com"),
        ("http://news.BBC.co.uk/sport", "news.bbc.co.uk"),
        ("//cdn.example.org/a.html", "cdn.example.org"),
        ("https://user:secret@Host.example/", "host.example"),
        ("https://[2001:db8::1]:443/", "2001:db8::1"),
        ("  Example.COM ", "example.com"),
        ("www.example.com", "example.com"),
        ("bbc.co.uk/2024", "bbc.co.uk/2024"),
        ("http://[::1", "http://[::1"),  # no host can be parsed: the value as it is
        ("", None),
        ("   ", None),
        ("www.", None),
        (None, None),
        (42, None),
    ],
)
def test_site_key_is_the_host_of_a_url_or_the_domain_as_given(value: object, expected: str | None) -> None:
    assert site_key(value) == expected


def test_a_records_site_is_its_field_and_a_text_files_its_folder() -> None:
    record = SourceDocument("a", "in.jsonl:1", {"url": "https://www.news.example/1"}, text="x")
    assert document_site(record, "url", "jsonl") == "news.example"
    assert document_site(record, "domain", "parquet") is None
    assert (
        document_site(SourceDocument("News.example/2024/a.txt", "-"), "folder", "txt") == "news.example/2024"
    )
    assert document_site(SourceDocument("a.txt", "-"), "folder", "txt") is None


def _expected(
    model_dir: Path, records: list[dict[str, Any]], options: CleanOptions
) -> tuple[SiteTable, list[CleanedText]]:
    """The site table of the whole crawl and each record cleaned with it, through the Python API."""
    model = load_model(model_dir)
    sites = [site_key(record.get("url")) for record in records]
    documents = [
        SegmentedText(record["text"], tuple(split_document(record["text"], model.max_chars)), site)
        for record, site in zip(records, sites, strict=True)
    ]
    table = site_table_of(documents)
    texts = [record["text"] for record in records]
    cleaned = clean_documents(model, texts, options, sites=sites, site_table=table)
    assert all(isinstance(outcome, CleanedText) for outcome in cleaned)
    return table, cleaned  # type: ignore[return-value]


def _assert_same_table(one: SiteTable, other: SiteTable) -> None:
    for name in ("sites", "pages", "lines", "counts"):
        np.testing.assert_array_equal(getattr(one, name), getattr(other, name))


def test_a_crawl_cleaned_with_its_site_counts(
    tiny_model_dir: Path, seed_rows: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = make_crawl(seed_rows)
    source = write_jsonl(
        tmp_path / "crawl.jsonl", records, ('{"id": "empty", "url": "https://news.example/x", "text": " "}',)
    )
    common = ["--model", str(tiny_model_dir), "--segments", "--shard-size", "5"]
    alone, by_site = tmp_path / "alone", tmp_path / "by-site"
    assert run_clean([str(source), str(alone), *common], capsys)[0] == 0
    code, err = run_clean([str(source), str(by_site), *common, "--site-field", "url"], capsys)
    assert code == 0, err
    assert "counted the lines of 9 pages of 2 sites" in err and "13 documents cleaned, 1 failed" in err

    table, expected = _expected(tiny_model_dir, records, CleanOptions(keep_segments=True))
    _assert_same_table(SiteTable.load(by_site / ".storysplit" / "sites.npz"), table)
    assert not (by_site / ".storysplit" / "site-counts").exists()
    cleaned = read_jsonl_folder(by_site)
    # Pages are batched differently here and in a shard: probabilities agree to float rounding.
    assert cleaned == [
        approx_segments({**record, "text": outcome.text, "segments": outcome.segments})
        for record, outcome in zip(records, expected, strict=True)
    ]
    without = read_jsonl_folder(alone)
    assert cleaned[9:] == without[9:]  # no site: cleaned alone, as without the option
    assert any(a["segments"] != b["segments"] for a, b in zip(cleaned[:9], without[:9], strict=True))


def test_two_workers_count_and_clean_as_one(
    tiny_model_dir: Path, seed_rows: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_jsonl(tmp_path / "crawl.jsonl.gz", make_crawl(seed_rows))
    common = ["--model", str(tiny_model_dir), "--shard-size", "3", "--site-field", "url"]
    assert run_clean([str(source), str(tmp_path / "one"), *common], capsys)[0] == 0
    code, err = run_clean([str(source), str(tmp_path / "two"), *common, "--workers", "2"], capsys)
    assert code == 0, err
    shards = sorted(path.name for path in (tmp_path / "one").glob("shard-*"))
    assert shards == sorted(path.name for path in (tmp_path / "two").glob("shard-*")) and len(shards) == 5
    for name in [*shards, ".storysplit/sites.npz"]:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_resume_reuses_finished_site_counts_and_recounts_missing_ones(
    tiny_model_dir: Path, seed_rows: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_jsonl(tmp_path / "crawl.jsonl", make_crawl(seed_rows))
    out = tmp_path / "out"
    args = [str(source), str(out), "--model", str(tiny_model_dir), "--shard-size", "4", "--site-field", "url"]
    assert run_clean(args, capsys)[0] == 0
    complete = {path.name: path.read_bytes() for path in out.glob("shard-*")}
    sites = out / ".storysplit" / "sites.npz"
    counts = sites.read_bytes()

    def lose_the_last_shards() -> None:
        for index in (2, 3):
            (out / f"shard-0000{index}.jsonl").unlink()
            (out / ".storysplit" / f"shard-0000{index}.json").unlink()

    lose_the_last_shards()
    code, err = run_clean([*args, "--resume"], capsys)
    assert code == 0, err
    assert "using the site counts of an earlier run" in err and "counted the lines" not in err
    assert "5 documents cleaned" in err and "8 documents were done by earlier runs" in err
    assert {path.name: path.read_bytes() for path in out.glob("shard-*")} == complete

    lose_the_last_shards()
    sites.unlink()  # as if killed in the first pass, which left a spilled chunk behind
    (out / ".storysplit" / "site-counts").mkdir()
    (out / ".storysplit" / "site-counts" / "chunk-00000.npy").write_bytes(b"half-written")
    code, err = run_clean([*args, "--resume"], capsys)
    assert code == 0, err
    assert "counted the lines of 9 pages of 2 sites" in err
    assert sites.read_bytes() == counts
    assert {path.name: path.read_bytes() for path in out.glob("shard-*")} == complete
    assert not (out / ".storysplit" / "site-counts").exists()

    code, err = run_clean([*args[:-1], "domain", "--resume"], capsys)
    assert code == 2 and "site_field was 'url', now 'domain'" in err


def test_a_txt_folder_takes_each_files_folder_as_its_site(
    tiny_model_dir: Path, seed_rows: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pages = tmp_path / "pages"
    for record in make_crawl(seed_rows)[:9]:
        folder = pages / site_key(record["url"])  # type: ignore[operator]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{record['id']}.txt").write_text(record["text"], encoding="utf-8")
    (pages / "alone.txt").write_text("A page of no site.\nWith two lines.", encoding="utf-8")
    common = ["--model", str(tiny_model_dir)]
    code, err = run_clean([str(pages), str(tmp_path / "refused"), *common, "--site-field", "url"], capsys)
    assert code == 2 and "--site-field folder" in err
    code, err = run_clean([str(pages), str(tmp_path / "out"), *common, "--site-field", "folder"], capsys)
    assert code == 0, err
    assert "counted the lines of 9 pages of 2 sites" in err and "10 documents cleaned" in err
    table = SiteTable.load(tmp_path / "out" / ".storysplit" / "sites.npz")
    assert (table.site_pages("news.example"), table.site_pages("blog.example")) == (6, 3)
