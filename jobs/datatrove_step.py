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
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import Any

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.batching import batched
from datatrove.utils.typeshelper import StatHints
from threadpoolctl import threadpool_limits

from storysplit.bundled import DEFAULT_MODEL
from storysplit.documents import check_text
from storysplit.errors import InputError
from storysplit.jobs.cleaning import (
    CORPUS_MAX_BYTES,
    DEFAULT_BATCH_SIZE,
    CleanedText,
    CleanFailure,
    CleanOptions,
    clean_batch,
    load_ready_model,
)
from storysplit.model import StorySplitModel
from storysplit.records import SourceDocument

ERROR_METADATA = "storysplit_error"


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
    ) -> None:
        super().__init__()
        self.model_path = str(Path(model_path).resolve())
        self.options = CleanOptions(threshold, keep_removed, keep_segments)
        self.batch_size = batch_size
        self.max_bytes = max_bytes
        self.seconds_per_document = seconds_per_document
        self.exclusion_writer = exclusion_writer
        self.threads = threads

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
        sources = [self._source(doc) for doc in batch]
        return clean_batch(model, sources, self.options, self.seconds_per_document)

    def _source(self, doc: Document) -> SourceDocument:
        """`doc` as the cleaning step reads it, named by its id; refused if `check_text` refuses it."""
        name = str(doc.id)
        try:
            check_text(doc.text, name, self.max_bytes)
        except InputError as error:
            return SourceDocument(name, name, problem=str(error))
        return SourceDocument(name, name, text=doc.text)


@functools.lru_cache(maxsize=2)
def _cached_model(path: str) -> StorySplitModel:
    """One model per process, however many tasks the executor runs in it."""
    return load_ready_model(path)
