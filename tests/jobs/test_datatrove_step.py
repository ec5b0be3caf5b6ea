"""The datatrove step in a local datatrove pipeline gives the text `storysplit clean` gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.jobs.corpus import make_crawl, make_records, read_jsonl_folder, run_clean, write_jsonl

pytest.importorskip("datatrove", reason="datatrove is an optional extra: pip install 'storysplit[datatrove]'")
pytestmark = pytest.mark.slow  # runs datatrove pipelines


def test_cleaned_text_in_a_datatrove_pipeline_is_the_clis_byte_for_byte(
    tiny_model_dir: Path, seed_rows: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    from storysplit.jobs.datatrove_step import ERROR_METADATA, StorysplitCleaner

    records = make_records(seed_rows, 15)
    source = write_jsonl(
        tmp_path / "raw" / "in.jsonl", [*records[:7], {"id": "empty", "text": " "}, *records[7:]]
    )
    assert (
        run_clean(
            [str(source), str(tmp_path / "cli"), "--model", str(tiny_model_dir), "--keep-removed"], capsys
        )[0]
        == 0
    )
    expected = {record["id"]: record for record in read_jsonl_folder(tmp_path / "cli")}

    cleaner = StorysplitCleaner(
        tiny_model_dir,
        batch_size=4,
        keep_removed=True,
        exclusion_writer=JsonlWriter(str(tmp_path / "dropped"), compression=None),
    )
    pipeline = [
        JsonlReader(str(tmp_path / "raw")),
        cleaner,
        JsonlWriter(str(tmp_path / "clean"), compression=None),
    ]
    LocalPipelineExecutor(pipeline, tasks=1, logging_dir=str(tmp_path / "logs")).run()

    documents = [json.loads(line) for path in (tmp_path / "clean").glob("*.jsonl") for line in path.open()]
    assert [doc["id"] for doc in documents] == [record["id"] for record in records]
    for doc in documents:
        assert doc["text"] == expected[doc["id"]]["text"]
        assert doc["metadata"]["removed_text"] == expected[doc["id"]]["removed_text"]
        assert doc["metadata"]["url"] == expected[doc["id"]]["url"]
    dropped = [json.loads(line) for path in (tmp_path / "dropped").glob("*.jsonl") for line in path.open()]
    assert [(doc["id"], doc["metadata"][ERROR_METADATA]) for doc in dropped] == [
        ("empty", "empty: document is empty")
    ]
    steps = json.loads((tmp_path / "logs" / "stats.json").read_text())
    stats = next(step["stats"] for step in steps if "storysplit" in step["name"])
    assert (stats["total"], stats["forwarded"], stats["dropped"]) == (16, 15, 1)


def test_counting_then_cleaning_in_datatrove_gives_the_clis_site_evidence(
    tiny_model_dir: Path, seed_rows: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    from storysplit.features.site_evidence import SiteTable
    from storysplit.jobs.datatrove_step import StorysplitCleaner, StorysplitSiteCounter, site_table_of_counts
    from storysplit.jobs.errors import JobError

    records = make_crawl(seed_rows)
    write_jsonl(tmp_path / "raw" / "a.jsonl", records[:7])
    write_jsonl(
        tmp_path / "raw" / "b.jsonl",
        [*records[7:], {"id": "empty", "url": "https://news.example/", "text": ""}],
    )
    common = ["--model", str(tiny_model_dir), "--site-field", "url"]
    assert run_clean([str(tmp_path / "raw"), str(tmp_path / "cli"), *common], capsys)[0] == 0
    expected = {record["id"]: record["text"] for record in read_jsonl_folder(tmp_path / "cli")}

    counts = tmp_path / "site-counts"
    counting = [JsonlReader(str(tmp_path / "raw")), StorysplitSiteCounter(counts, "url", tiny_model_dir)]
    LocalPipelineExecutor(counting, tasks=3, logging_dir=str(tmp_path / "logs-count")).run()
    assert sorted(path.name for path in counts.iterdir()) == [
        f"counts-0000{rank}-of-00003.npz" for rank in range(3)
    ]
    table = site_table_of_counts(counts)
    cli_table = SiteTable.load(tmp_path / "cli" / ".storysplit" / "sites.npz")
    for name in ("sites", "pages", "lines", "counts"):
        np.testing.assert_array_equal(getattr(table, name), getattr(cli_table, name))

    cleaning = [
        JsonlReader(str(tmp_path / "raw")),
        StorysplitCleaner(tiny_model_dir, batch_size=4, site_field="url", site_table=counts),
        JsonlWriter(str(tmp_path / "clean"), compression=None),
    ]
    LocalPipelineExecutor(cleaning, tasks=2, logging_dir=str(tmp_path / "logs-clean")).run()
    documents = [json.loads(line) for path in (tmp_path / "clean").glob("*.jsonl") for line in path.open()]
    assert {doc["id"]: doc["text"] for doc in documents} == expected and len(expected) == 13

    (counts / "counts-00001-of-00003.npz").unlink()
    with pytest.raises(JobError, match="every task of one counting run"):
        site_table_of_counts(counts)
