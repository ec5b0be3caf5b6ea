"""Concurrent requests through the model in one `segment_many` call.

The model embeds and classifies many documents in one call for little more than the cost of one,
so the server gains throughput by labelling together whatever requests arrive together. The
event loop must never run the model itself (every other request would wait on it), so one worker
thread owns the model (and its embedding cache) and hands each result back to the loop that asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from storysplit.model import LabelledSegment, StorySplitModel
from storysplit.output_records import ModelFailure, segment_with_retry


@dataclass(frozen=True)
class _Job:
    text: str
    threshold: float | None
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[list[LabelledSegment]]


class Batcher:
    """Runs requests that arrive together through the model in one `segment_many` call.

    Requests queue jobs and await them; the worker takes every job waiting (up to `max_batch`) and
    labels them at once. Nothing waits for a batch to fill: a lone request runs immediately, and
    under load requests gather while the model is busy with the previous batch. Jobs with another
    threshold run as their own call; if a batch fails, its documents are retried one by one, so a
    document the model fails on fails alone.
    """

    def __init__(self, model: StorySplitModel, max_batch: int = 32) -> None:
        self.model = model
        self.max_batch = max_batch
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="storysplit-batcher", daemon=True)
        self._worker.start()

    async def segment(self, text: str, threshold: float | None) -> list[LabelledSegment]:
        """One document's labelled segments, computed in whatever batch it lands in.

        Raises:
            RuntimeError: the model failed on this document (the message says how).
        """
        loop = asyncio.get_running_loop()
        job = _Job(text, threshold, loop, loop.create_future())
        self._queue.put(job)
        return await job.future

    def close(self) -> None:
        """Finish the jobs already queued, then stop the worker."""
        self._queue.put(None)
        self._worker.join()

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            jobs = [first]
            stop = False
            while len(jobs) < self.max_batch and not self._queue.empty():
                job = self._queue.get_nowait()
                if job is None:
                    stop = True
                    break
                jobs.append(job)
            for threshold in dict.fromkeys(job.threshold for job in jobs):
                self._label([job for job in jobs if job.threshold == threshold], threshold)
            if stop:
                return

    def _label(self, jobs: Sequence[_Job], threshold: float | None) -> None:
        outcomes = segment_with_retry(self.model, [job.text for job in jobs], threshold)
        for job, outcome in zip(jobs, outcomes, strict=True):
            if isinstance(outcome, ModelFailure):
                message = f"the model failed on this document: {outcome}"
                print(f"storysplit serve: {message}", file=sys.stderr)
                _settle(job, RuntimeError(message))
            else:
                _settle(job, outcome)


def _settle(job: _Job, outcome: list[LabelledSegment] | BaseException) -> None:
    """Hand `outcome` to the job's event loop, which alone may touch its future."""

    def settle() -> None:
        if job.future.done():  # the request was cancelled meanwhile
            return
        if isinstance(outcome, BaseException):
            job.future.set_exception(outcome)
        else:
            job.future.set_result(outcome)

    with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting any more
        job.loop.call_soon_threadsafe(settle)
