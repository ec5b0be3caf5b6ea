"""Label batches of documents in several worker processes, results in input order.

Labelling keeps one core busy per process; `storysplit segment` uses every core
by default (`--workers N`), once there is more than one batch to label. The workers start from the
loaded model (forked where the platform forks, so they share its arrays copy-on-write and start in
milliseconds; pickled to them otherwise), at most two batches per worker are in flight so a large
corpus is never read far ahead of what is written, and results come back in the order the batches
went in, so output order never depends on timing.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from storysplit.errors import StorysplitError
from storysplit.model import LabelledSegment, StorySplitModel
from storysplit.output_records import ModelFailure, segment_with_retry

Outcome = list[LabelledSegment] | ModelFailure

_IN_FLIGHT_PER_WORKER = 2
_worker_model: StorySplitModel | None = None


def labelled_batches(
    model: StorySplitModel, batches: Iterable[Sequence[str]], threshold: float | None, workers: int
) -> Iterator[list[Outcome]]:
    """Each batch's outcomes (`segment_with_retry`), in the order of `batches`.

    Raises:
        StorysplitError: a worker process died (killed, out of memory); what was yielded before stands.
    """
    batches = iter(batches)
    first = [list(texts) for texts in itertools.islice(batches, 2)]
    if workers <= 1 or len(first) < 2:  # one batch (one page from the shell): no processes to start
        for texts in itertools.chain(first, batches):
            yield segment_with_retry(model, list(texts), threshold)
        return
    batches = itertools.chain(first, batches)
    # The tokenizer's own thread pool must not be live in the parent when it forks.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    pending: deque[Future[list[Outcome]]] = deque()
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_install, initargs=(model,)) as pool:
        try:
            for texts in batches:
                pending.append(pool.submit(_label, list(texts), threshold))
                if len(pending) >= workers * _IN_FLIGHT_PER_WORKER:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BrokenProcessPool:
            raise StorysplitError(
                "a worker process died (killed, or out of memory); use fewer --workers or smaller batches"
            ) from None


def _install(model: StorySplitModel) -> None:
    global _worker_model
    _worker_model = model


def _label(texts: list[str], threshold: float | None) -> list[Outcome]:
    if _worker_model is None:
        raise RuntimeError("worker started without a model")
    return segment_with_retry(_worker_model, texts, threshold)
