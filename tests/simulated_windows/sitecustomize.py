"""Simulate a platform without SIGALRM, SIGPROF, setitimer, resource and symlinks (Windows)."""
import os
import signal
import sys

for name in ("SIGALRM", "SIGPROF", "SIGVTALRM", "setitimer", "getitimer", "ITIMER_PROF",
             "ITIMER_REAL", "ITIMER_VIRTUAL", "alarm"):
    if hasattr(signal, name):
        delattr(signal, name)
sys.modules["resource"] = None


def _no_symlink(*args, **kwargs):
    raise OSError("symbolic links need Developer Mode on this platform")


os.symlink = _no_symlink
