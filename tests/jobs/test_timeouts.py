from __future__ import annotations

import threading
import time

import pytest

from storysplit.jobs.timeouts import TimeLimitExceeded, check_time_limit_possible, time_limit


def test_a_busy_block_is_interrupted_and_the_alarm_is_cleared() -> None:
    start = time.perf_counter()
    with pytest.raises(TimeLimitExceeded, match=r"timed out after 0\.05 s"), time_limit(0.05):
        while True:
            pass
    assert time.perf_counter() - start < 1.0
    time.sleep(0.1)  # no alarm left over to fire here


def test_a_block_within_its_limit_and_no_limit_run_to_the_end() -> None:
    finished = []
    for seconds in (5, 0):
        with time_limit(seconds):
            time.sleep(0.01)
            finished.append(seconds)
    assert finished == [5, 0]
    time.sleep(0.05)  # and no alarm is left over to fire after the block


def test_a_limit_outside_the_main_thread_is_refused_up_front() -> None:
    errors: list[Exception] = []

    def attempt() -> None:
        try:
            check_time_limit_possible(1.0)
        except RuntimeError as error:
            errors.append(error)
        check_time_limit_possible(0)  # no limit is fine anywhere

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join()
    assert len(errors) == 1 and "main thread" in str(errors[0])
