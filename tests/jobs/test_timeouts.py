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


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the dropped exception
def test_an_alarm_that_fires_inside_a_finaliser_still_fails_the_block() -> None:
    """Python drops an exception raised in `__del__` (or a gc callback, as hypothesis installs), so the
    block runs on; it must still end in `TimeLimitExceeded`, not in a result that overran."""

    class SlowToDelete:
        def __del__(self) -> None:
            deadline = time.perf_counter() + 0.2
            while time.perf_counter() < deadline:  # the alarm's handler runs here, and is dropped
                pass

    finished = False
    with pytest.raises(TimeLimitExceeded, match=r"timed out after 0\.05 s"), time_limit(0.05):
        SlowToDelete()
        finished = True
    assert finished  # the block did run on after the dropped alarm
    time.sleep(0.1)


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
