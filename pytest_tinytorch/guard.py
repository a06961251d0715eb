"""Runaway learner code: an endless loop or a huge computation must fail its test within
seconds, with a message saying so, and the run must go on.

pytest-timeout alone hangs with hypothesis: its failure looks like an ordinary failing
example, so hypothesis shrinks and replays the looping input with no alarm left. Here
each example (and each plain test) runs under a CPU-time budget (ITIMER_VIRTUAL); when
it runs out, a BaseException that hypothesis does not catch stops the test at once, with
the traceback ending on the learner's line. pytest-timeout stays as the outer backstop.
"""
from __future__ import annotations

import functools
import signal
import threading
from contextlib import contextmanager

AVAILABLE = hasattr(signal, "ITIMER_VIRTUAL") and hasattr(signal, "SIGVTALRM")


class RunawayCode(BaseException):
    """Raised inside learner code when a test or example uses up its CPU budget."""


@contextmanager
def cpu_budget(seconds: float, what: str = "this example"):
    if not AVAILABLE or seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise RunawayCode(
            f"{what} used more than {seconds:g} s of CPU time and was stopped: is there an "
            f"endless loop, or a computation far larger than the inputs need?")

    previous = signal.signal(signal.SIGVTALRM, expire)
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)


def guard_item(item, seconds: float) -> bool:
    """Give each hypothesis example of `item` its own budget; True if it is a @given test."""
    handle = getattr(getattr(item, "obj", None), "hypothesis", None)
    if handle is None or not hasattr(handle, "inner_test"):
        return False
    inner = handle.inner_test
    if not getattr(inner, "_tinytorch_guarded", False):
        @functools.wraps(inner)
        def guarded(*args, **kwargs):
            with cpu_budget(seconds, "One example of this test"):
                return inner(*args, **kwargs)

        guarded._tinytorch_guarded = True
        handle.inner_test = guarded
    return True
