"""Runaway learner code: an endless loop, a huge computation or a huge allocation must
fail its test within seconds, with a message saying so, and the run must go on.

pytest-timeout alone hangs with hypothesis: its failure looks like an ordinary failing
example, so hypothesis shrinks and replays the looping input with no alarm left. Here
each example (and each plain test) runs under a CPU-time budget (ITIMER_PROF: user and
system time, so page faults of a giant allocation count too); when it runs out, a
BaseException that hypothesis does not catch stops the test at once, with the traceback
ending on the learner's line. pytest-timeout stays as the outer backstop.

Memory: during a graded test the address space may grow by at most MEMORY_BUDGET, so a
huge allocation raises MemoryError at once instead of exhausting the machine.
"""
from __future__ import annotations

import functools
import os
import signal
import threading
import time
from contextlib import contextmanager

try:
    import resource
except ImportError:  # Windows
    resource = None

AVAILABLE = hasattr(signal, "ITIMER_PROF") and hasattr(signal, "SIGPROF")
MEMORY_BUDGET = 4 << 30  # bytes a graded test may add to the address space


class RunawayCode(BaseException):
    """Raised inside learner code when a test or example uses up its CPU budget."""


class LearnerInterrupt(Exception):
    """A KeyboardInterrupt that learner code raised itself: that test's failure, not a
    reason to abort the run (a real Ctrl-C is told apart by `watch_interrupts`)."""


_REAL_INTERRUPT = threading.Event()


def watch_interrupts() -> None:
    """Remember when a real SIGINT (Ctrl-C) arrives, then behave as Python does."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum, frame):
        _REAL_INTERRUPT.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)


def real_interrupt() -> bool:
    return _REAL_INTERRUPT.is_set()


def exit_despite_threads(status: int, before) -> None:
    """A non-daemon thread that learner code started would keep the process alive after
    the results are written: end it with the run's status instead of hanging."""
    left = [t for t in threading.enumerate()
            if t.is_alive() and not t.daemon and t is not threading.main_thread() and t not in before]
    if left:
        import sys

        print(f"tinytorch: your code left {len(left)} thread(s) running ({left[0].name}); "
              "the run ends anyway", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


class LearnerExit(BaseException):
    """Learner code called os._exit or os.fork while the grader ran it."""


@contextmanager
def no_process_tricks():
    """While learner code runs in the grader's process, os._exit and os.fork raise instead
    (an exit would end the run with no result; a fork would run the session twice)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = os._exit, getattr(os, "fork", None)

    def refuse(what):
        def call(*args, **kwargs):
            if threading.current_thread() is threading.main_thread():
                raise LearnerExit(f"your code called {what} while it was being graded: a kata never "
                                  "ends or forks the process")
            return (saved[0] if what == "os._exit" else saved[1])(*args, **kwargs)
        return call

    os._exit = refuse("os._exit")
    if saved[1] is not None:
        os.fork = refuse("os.fork")
    try:
        yield
    finally:
        os._exit = saved[0]
        if saved[1] is not None:
            os.fork = saved[1]


def _expired_message(seconds: float, what: str) -> str:
    return (f"{what} used more than {seconds:g} s of CPU time and was stopped: is there an "
            f"endless loop, or a computation far larger than the inputs need?")


@contextmanager
def cpu_budget(seconds: float, what: str = "this example"):
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return
    if not AVAILABLE:  # no ITIMER_PROF (Windows): a watchdog thread does the same job
        with _watchdog(seconds, what):
            yield
        return

    def expire(signum, frame):
        raise RunawayCode(_expired_message(seconds, what))

    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


POLL = 0.05  # seconds between the watchdog's looks at the CPU clock


@contextmanager
def _watchdog(seconds: float, what: str):
    """Raise RunawayCode in the main thread once the process has used `seconds` of CPU.

    The exception is delivered between two bytecodes of the main thread, so a Python
    loop stops at once and a long NumPy call as soon as it returns.
    """
    import ctypes

    target = threading.main_thread().ident
    start = time.process_time()
    stop = threading.Event()
    fired = threading.Event()
    exc_type = type("RunawayCode", (RunawayCode,), {"message": _expired_message(seconds, what)})

    def raise_in_main(exc):
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), exc)

    def watch():
        while not stop.wait(POLL):
            if time.process_time() - start > seconds:
                fired.set()
                raise_in_main(ctypes.py_object(exc_type))
                return

    thread = threading.Thread(target=watch, name="tinytorch-watchdog", daemon=True)
    thread.start()
    try:
        yield
    except exc_type as err:  # raised without arguments by the C API: give it its message
        err.args = (exc_type.message,)
        raise
    finally:
        stop.set()
        thread.join()
        if fired.is_set():
            raise_in_main(None)  # an exception not delivered yet must not leak out


def _address_space() -> int | None:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


@contextmanager
def memory_budget(extra: int = MEMORY_BUDGET):
    """Lower the soft address-space limit to what is in use now plus `extra`, then restore."""
    used = _address_space() if resource is not None else None
    if used is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = used + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft != resource.RLIM_INFINITY and soft <= limit:
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


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
