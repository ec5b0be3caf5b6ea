"""A datatrove `PipelineStep` that cleans `Document.text` in place, for FineWeb-style pipelines.

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from storysplit.jobs.datatrove_step import StorysplitCleaner

    LocalPipelineExecutor(
        [JsonlReader("raw/"), StorysplitCleaner(), JsonlWriter("clean/")], tasks=8, workers=8
    ).run()

Each task loads the model once (cached per process) and cleans documents in batches with the
same function as `storysplit clean`, so the text is the same as the CLI's. A document that cannot
be cleaned (empty, too large, breaks the model) is dropped, counted in the step's stats, and,
given an `exclusion_writer`, written there with the reason in `metadata["storysplit_error"]`,
the way datatrove's filters treat what they drop.

With site evidence (pages of one site judging each other's recurring lines), two pipelines run
one after the other: the first counts, the second cleans with the counts of all its tasks.

    LocalPipelineExecutor(
        [JsonlReader("raw/"), StorysplitSiteCounter("site-counts/", site_field="url")], tasks=8
    ).run()
    LocalPipelineExecutor(
        [
            JsonlReader("raw/"),
            StorysplitCleaner(site_field="url", site_table="site-counts/"),
            JsonlWriter("clean/"),
        ],
        tasks=8,
    ).run()

Each counting task writes its part (`counts-RANK-of-TASKS.npz`); each cleaning process adds the
parts up once (`site_table_of_counts`), or loads a table saved from them beforehand.
"""

from __future__ import annotations

import contextlib
import functools
import re
from pathlib import Path
from typing import Any

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.batching import batched
from datatrove.utils.typeshelper import StatHints
from threadpoolctl import threadpool_limits

from storysplit.atomic_files import atomic_path
from storysplit.bundled import DEFAULT_MODEL
from storysplit.documents import check_text
from storysplit.errors import InputError
from storysplit.features.site_evidence import SiteCounts, SiteLineCounter, SiteTable
from storysplit.jobs.cleaning import (
    CORPUS_MAX_BYTES,
    DEFAULT_BATCH_SIZE,
    CleanedText,
    CleanFailure,
    CleanOptions,
    clean_batch,
    load_ready_model,
)
from storysplit.jobs.errors import JobError
from storysplit.jobs.sites import page_keys, segment_max_chars, site_key
from storysplit.model import StorySplitModel
from storysplit.records import SourceDocument

ERROR_METADATA = "storysplit_error"
_COUNTS_FILE = re.compile(r"counts-(\d+)-of-(\d+)\.npz")


class StorysplitCleaner(PipelineStep):
    """Keep each document's main story; drop menus, teasers, widgets, bylines and repeats.

    Args:
        model_path: storysplit model folder (default: the shipped model).
        threshold: Keep segments with p(main) >= this (default: the model's).
        batch_size: Documents per model call.
        keep_removed: Put the dropped text in `metadata["removed_text"]`.
        keep_segments: Put each segment's offsets (into the original text), label and probability
            in `metadata["segments"]`.
        max_bytes: Longer documents are dropped as too large.
        seconds_per_document: Time limit per document (0: none). Needs the task to run in its
            process's main thread (true for the local and Slurm executors).
        exclusion_writer: Where dropped documents go, with the reason in their metadata.
        threads: OpenMP and BLAS threads per task; the executor's tasks are the parallelism, and
            extra threads competing for the same cores slow the model down.
        site_field: Metadata field holding each document's URL or domain (`jobs.sites.site_key`);
            pages of one site then judge each other's lines. Needs `site_table`.
        site_table: The `StorysplitSiteCounter` folder of the same documents, or a `SiteTable`
            file saved from it (`site_table_of_counts`).
    """

    name = "📰 storysplit"
    type = "✂️ - FORMAT"

    def __init__(
        self,
        model_path: str | Path = DEFAULT_MODEL,
        threshold: float | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        keep_removed: bool = False,
        keep_segments: bool = False,
        max_bytes: int = CORPUS_MAX_BYTES,
        seconds_per_document: float = 0.0,
        exclusion_writer: DiskWriter | None = None,
        threads: int = 1,
        site_field: str | None = None,
        site_table: str | Path | None = None,
    ) -> None:
        super().__init__()
        if (site_field is None) != (site_table is None):
            raise ValueError("site_field and site_table go together: the table holds the field's sites")
        self.model_path = str(Path(model_path).resolve())
        self.options = CleanOptions(threshold, keep_removed, keep_segments)
        self.batch_size = batch_size
        self.max_bytes = max_bytes
        self.seconds_per_document = seconds_per_document
        self.exclusion_writer = exclusion_writer
        self.threads = threads
        self.site_field = site_field
        self.site_table = None if site_table is None else str(Path(site_table).resolve())

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        model = _cached_model(self.model_path)
        writer_context: Any = self.exclusion_writer or contextlib.nullcontext()
        with writer_context as writer, threadpool_limits(limits=self.threads):
            for batch in batched(data or [], self.batch_size):
                with self.track_time("batch"):
                    outcomes = self._clean(model, batch)
                for doc, outcome in zip(batch, outcomes, strict=True):
                    self.stat_update(StatHints.total)
                    if isinstance(outcome, CleanFailure):
                        self.stat_update(StatHints.dropped)
                        if writer is not None:
                            doc.metadata[ERROR_METADATA] = outcome.reason
                            writer.write(doc, rank)
                        continue
                    doc.text = outcome.text
                    doc.metadata.update(outcome.extra_fields())
                    self.stat_update(StatHints.forwarded)
                    self.update_doc_stats(doc)
                    yield doc

    def _clean(self, model: StorySplitModel, batch: list[Document]) -> list[CleanedText | CleanFailure]:
        """Per document, its `CleanedText`, or the reason it cannot be cleaned."""
        sources = [_source(doc, self.max_bytes) for doc in batch]
        if self.site_field is None or self.site_table is None:
            return clean_batch(model, sources, self.options, self.seconds_per_document)
        sites = [site_key(doc.metadata.get(self.site_field)) for doc in batch]
        table = _cached_site_table(self.site_table)
        return clean_batch(model, sources, self.options, self.seconds_per_document, sites, table)


class StorysplitSiteCounter(PipelineStep):
    """Count, per site, on how many pages each line recurs: the first of two pipelines.

    Documents pass through unchanged. When its input ends, each task writes the counts of its
    documents to `output_folder/counts-RANK-of-TASKS.npz` (16 bytes per distinct line of its
    pages); `StorysplitCleaner(site_field=..., site_table=output_folder)` adds the parts up.

    Args:
        output_folder: Folder for the parts (local, or shared by every node).
        site_field: Metadata field holding each document's URL or domain.
        model_path: The model the cleaner will use: lines are its segments.
        max_bytes: The cleaner's limit; documents it will refuse are not counted.
    """

    name = "📰 storysplit site counts"
    type = "📊 - STATS"

    def __init__(
        self,
        output_folder: str | Path,
        site_field: str,
        model_path: str | Path = DEFAULT_MODEL,
        max_bytes: int = CORPUS_MAX_BYTES,
    ) -> None:
        super().__init__()
        self.output_folder = Path(output_folder).resolve()
        self.site_field = site_field
        self.model_path = Path(model_path).resolve()
        self.max_bytes = max_bytes

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        max_chars = segment_max_chars(self.model_path)
        counter = SiteLineCounter()
        for doc in data or []:
            site = site_key(doc.metadata.get(self.site_field))
            if site is not None and _source(doc, self.max_bytes).problem is None:
                with self.track_time():
                    counter.add_page(site, page_keys(doc.text, max_chars))
                self.stat_update("counted")
            yield doc
        self.output_folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.output_folder / f"counts-{rank:05d}-of-{world_size:05d}.npz") as path:
            counter.counts().save(path)


def site_table_of_counts(folder: str | Path) -> SiteTable:
    """The site table of every part `StorysplitSiteCounter` wrote to `folder`.

    Raises:
        JobError: a task's part is missing (its counting has not finished), or parts of counting
            runs with different numbers of tasks are mixed.
    """
    parts = {
        (int(match[1]), int(match[2])): path
        for path in sorted(Path(folder).glob("counts-*-of-*.npz"))
        if (match := _COUNTS_FILE.fullmatch(path.name))
    }
    tasks = {total for _, total in parts}
    if len(tasks) != 1 or {rank for rank, _ in parts} != set(range(next(iter(tasks)))):
        raise JobError(
            f"{folder}: expected the parts of every task of one counting run, found "
            f"{[path.name for path in parts.values()] or 'none'}"
        )
    counter = SiteLineCounter()
    for path in parts.values():
        counter.add_counts(SiteCounts.load(path))
    return counter.table()


def _source(doc: Document, max_bytes: int) -> SourceDocument:
    """`doc` as the cleaning step reads it, named by its id; refused if `check_text` refuses it."""
    name = str(doc.id)
    try:
        check_text(doc.text, name, max_bytes)
    except InputError as error:
        return SourceDocument(name, name, problem=str(error))
    return SourceDocument(name, name, text=doc.text)


@functools.lru_cache(maxsize=2)
def _cached_model(path: str) -> StorySplitModel:
    """One model per process, however many tasks the executor runs in it."""
    return load_ready_model(path)


@functools.lru_cache(maxsize=1)
def _cached_site_table(path: str) -> SiteTable:
    """One site table per process: a saved table, or the counting step's parts added up."""
    return SiteTable.load(Path(path)) if Path(path).is_file() else site_table_of_counts(path)
