"""Warm pytest runs for the project's own suite.

Most of a short `python -m pytest` run in a sandbox is interpreter start-up and imports
(pytest, NumPy, hypothesis, rich): about 0.7 s, paid once per stub proof, reference run
and mutant. This helper imports those once and forks a child per run; the child changes
to the sandbox and runs `pytest` exactly as `python -m pytest` would (same argv, same
environment, the sandbox first on sys.path), so the grader under test is imported fresh
from the sandbox in every child. Timers, signal handlers and rlimits set in one run never
reach another: each run is its own process.

It must never import the project (`pytest_tinytorch`, `tests`): started as a script, it
reads one JSON request per line on stdin and answers one JSON line on stdout.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time

# Third-party modules every run imports: paid once here, shared by every forked child.
import numpy  # noqa: F401
import pytest
import hypothesis  # noqa: F401
import hypothesis.extra.numpy  # noqa: F401
import hypothesis.strategies  # noqa: F401
import rich.console  # noqa: F401
import rich.table  # noqa: F401
try:
    import _hypothesis_pytestplugin  # noqa: F401
    import pytest_timeout  # noqa: F401
    import xdist.plugin  # noqa: F401
except ImportError:  # optional pre-warming only
    pass


def _child(request: dict, out_path: str) -> None:
    """In the forked child: become `python -m pytest ARGS` run from request['cwd']."""
    os.setsid()  # its own process group: a timeout kills xdist workers too
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    cwd = request["cwd"]
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(request["env"])
    sys.path[0] = cwd  # `python -m pytest` puts the current folder first
    # Plugins imported here before pytest starts cannot be assert-rewritten: harmless, so
    # the warning is silenced rather than shown in every run's output.
    args = ["-W", "ignore::pytest.PytestAssertRewriteWarning", *request["args"]]
    code = 1
    try:
        code = int(pytest.main(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(int(code))


def _run(request: dict) -> dict:
    fd, out_path = tempfile.mkstemp(prefix="forkserver-", suffix=".out")
    os.close(fd)
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        _child(request, out_path)
    deadline = time.monotonic() + float(request.get("timeout", 300))
    status = None
    while status is None:
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done:
            status = raw
        elif time.monotonic() > deadline:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
            _, status = os.waitpid(pid, 0)
        else:
            time.sleep(0.01)
    code = os.waitstatus_to_exitcode(status)
    with open(out_path, encoding="utf-8", errors="replace") as fh:
        output = fh.read()
    os.unlink(out_path)
    return {"code": code, "output": output, "timed_out": time.monotonic() > deadline}


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        reply = _run(json.loads(line))
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
