"""The process pool of `storysplit segment --workers` and `storysplit clean`: order, bound, a dead worker."""

from __future__ import annotations

import os
import time

import pytest

from storysplit.errors import StorysplitError
from storysplit.worker_pool import IN_FLIGHT_PER_WORKER, WorkerPool

_offset = 0


def _install(offset: int) -> None:
    global _offset
    _offset = offset


def _slow_for_early_tasks(task: int) -> int:
    """Early tasks finish last, so the order of finishing differs from the order of the tasks."""
    time.sleep(0.05 * max(0, 3 - task))
    return task + _offset


def _die(task: int) -> int:
    if task == 3:
        os._exit(1)  # as a worker killed for memory
    return task


def _pool(died: Exception | None = None) -> WorkerPool:
    return WorkerPool(
        2,
        start_method="spawn",
        initializer=_install,
        initargs=(100,),
        died=died or StorysplitError("a worker died"),
    )


def test_in_order_gives_results_in_the_order_of_the_tasks() -> None:
    with _pool() as pool:
        assert list(pool.in_order(_slow_for_early_tasks, range(8))) == [100 + n for n in range(8)]


def test_as_finished_gives_every_result_and_reads_the_tasks_only_a_little_ahead() -> None:
    read: list[int] = []

    def tasks():  # type: ignore[no-untyped-def]
        for task in range(10):
            read.append(task)
            yield task

    results = []
    with _pool() as pool:
        for result in pool.as_finished(_slow_for_early_tasks, tasks(), poll_seconds=0.01):
            results.append(result)
            assert len(read) <= len(results) + 2 * IN_FLIGHT_PER_WORKER
    assert sorted(results) == [100 + n for n in range(10)]


@pytest.mark.parametrize("method", ["in_order", "as_finished"])
def test_a_dead_worker_is_the_callers_error(method: str) -> None:
    died = StorysplitError("a worker died; use fewer workers")
    with pytest.raises(StorysplitError, match="use fewer workers"), _pool(died) as pool:
        list(getattr(pool, method)(_die, range(8)))
