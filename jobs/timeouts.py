"""A wall-clock limit on a block of code, so one pathological document cannot stall a worker.

Uses `SIGALRM` (POSIX, main thread only): the handler raises `TimeLimitExceeded` at the next Python
bytecode, so a single long C call (one large matrix product) finishes before the limit takes effect.
The model's work on a document is many short calls, so in practice the limit is met within
milliseconds. When that bytecode belongs to a `__del__` method or a garbage-collector callback,
Python prints the exception and drops it; the block then runs on, and `TimeLimitExceeded` is raised
when it ends instead, so an overrun never counts as success.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class TimeLimitExceeded(Exception):
    """The guarded block ran longer than its limit."""


def check_time_limit_possible(seconds: float) -> None:
    """Fail early where a positive limit cannot be kept.

    Raises:
        RuntimeError: a limit was asked for outside the main thread, where no alarm signal can be
            delivered.
    """
    if seconds > 0 and threading.current_thread() is not threading.main_thread():
        raise RuntimeError("a time limit needs the main thread (it uses SIGALRM); run without one")


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise `TimeLimitExceeded` inside the block once it has run `seconds` (0 or less: no limit)."""
    if seconds <= 0:
        yield
        return
    check_time_limit_possible(seconds)

    message = f"timed out after {seconds:g} s"
    expired = False

    def _expire(signum: int, frame: FrameType | None) -> None:
        nonlocal expired
        expired = True
        raise TimeLimitExceeded(message)

    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if expired:  # the handler's exception was dropped (raised inside a __del__ or a gc callback)
        raise TimeLimitExceeded(message)
