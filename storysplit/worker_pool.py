"""Worker processes taking tasks from a stream, with only a few tasks per worker in flight.

The one process pool of `storysplit segment --workers N` (batches, answered in input order) and of
`storysplit clean` (`jobs.local`: shards, collected as they finish). At most
`IN_FLIGHT_PER_WORKER` tasks per worker are submitted and not yet collected, so a large input is
never read far ahead of what is written, and a worker that dies (killed, out of memory) is
reported as the caller's own error, which says what to do about it.

What differs between the two stays with them: `segment` forks workers from the loaded model
(they share its arrays copy-on-write and start in milliseconds), while `clean` spawns workers that
load the model themselves (a torch model forked after use can deadlock) and die with the job.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any, TypeVar

IN_FLIGHT_PER_WORKER = 2
Task = TypeVar("Task")
Result = TypeVar("Result")


class WorkerPool:
    """`workers` processes, each set up once by `initializer(*initargs)`, running tasks.

    Args:
        workers: Number of processes.
        start_method: "fork" or "spawn" (`multiprocessing.get_context`); None: the platform's default.
        initializer: Run once in each worker before its first task (it keeps the worker's state,
            such as its model, in a module global).
        initargs: Its arguments, sent to each worker once.
        died: The error raised when a worker process dies; tasks collected before it stand.
    """

    def __init__(
        self,
        workers: int,
        *,
        start_method: str | None,
        initializer: Callable[..., None],
        initargs: tuple[Any, ...],
        died: Exception,
    ) -> None:
        self.workers = workers
        self._died = died
        self._executor = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context(start_method),
            initializer=initializer,
            initargs=initargs,
        )

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        # On an error or Ctrl-C, tasks already running finish; queued ones are dropped.
        self._executor.shutdown(wait=True, cancel_futures=True)

    def in_order(self, function: Callable[[Task], Result], tasks: Iterable[Task]) -> Iterator[Result]:
        """`function(task)` for every task, run in the workers, yielded in the order of `tasks`.

        Raises:
            Exception: the pool's `died` error, when a worker process died.
        """
        pending: deque[Future[Result]] = deque()
        try:
            for task in tasks:
                pending.append(self._executor.submit(function, task))
                if len(pending) >= self.workers * IN_FLIGHT_PER_WORKER:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BrokenProcessPool:
            raise self._died from None

    def as_finished(
        self,
        function: Callable[[Task], Result],
        tasks: Iterable[Task],
        while_waiting: Callable[[], None] = lambda: None,
        poll_seconds: float = 0.5,
    ) -> Iterator[Result]:
        """`function(task)` for every task, run in the workers, yielded as each finishes.

        `while_waiting()` runs at least every `poll_seconds` while tasks are running, and after each
        round of finished tasks (to drain a progress queue the workers write to).

        Raises:
            Exception: the pool's `died` error, when a worker process died.
        """
        pending: set[Future[Result]] = set()
        try:
            for task in tasks:
                while len(pending) >= self.workers * IN_FLIGHT_PER_WORKER:
                    pending = yield from self._finished(pending, while_waiting, poll_seconds)
                pending.add(self._executor.submit(function, task))
            while pending:
                pending = yield from self._finished(pending, while_waiting, poll_seconds)
        except BrokenProcessPool:
            raise self._died from None

    @staticmethod
    def _finished(
        pending: set[Future[Result]], while_waiting: Callable[[], None], poll_seconds: float
    ) -> Generator[Result, None, set[Future[Result]]]:
        """Waits up to `poll_seconds` and yields what finished; returns what is still pending."""
        done, still_pending = wait(pending, timeout=poll_seconds, return_when=FIRST_COMPLETED)
        while_waiting()
        for future in done:
            yield future.result()
        while_waiting()
        return still_pending
