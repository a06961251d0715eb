"""How long a learner waits: each solved kata's run as a ratio to a floor measured in the
same run (a bare `pytest` of one trivial test, same interpreter and plugins).

    python benchmarks/feedback.py [--repeat 5] [--kata 01_tensor ...]

Builds a solved copy of the repository (every written kata green), then times, with the
runs interleaved so that machine noise hits every case alike:
- the floor;
- `pytest katas/NN_slug` for each solved kata (goal: at most 2x the floor);
- `pytest --tinytorch-progress` (goal: at most 1.1x);
- each kata with its stub back in place (a failing run: goal no slower than solved).
Medians of wall-clock seconds are printed with their ratios. Nothing here is asserted:
the numbers are for people.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_tinytorch.curriculum import KATAS  # noqa: E402
from tests.sandbox import make_sandbox  # noqa: E402


def _env() -> dict:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("PYTEST_", "HYPOTHESIS_")) and k not in ("CI", "GITHUB_ACTIONS")}


def _time(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=cwd,
                   env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _restore_green(solved: Path, copy: Path) -> None:
    """Put back the solved copy's progress file and links (relative, so they stay valid)."""
    shutil.copyfile(solved / ".tinytorch" / "progress.json", copy / ".tinytorch" / "progress.json")
    shutil.rmtree(copy / "tinytorch")
    shutil.copytree(solved / "tinytorch", copy / "tinytorch", symlinks=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--kata", nargs="*", default=None)
    args = ap.parse_args()
    written = [k for k in KATAS if k.written]
    chosen = [k for k in written if not args.kata or k.id in args.kata]
    with tempfile.TemporaryDirectory(prefix="feedback-") as tmp:
        tmp = Path(tmp)
        solved = make_sandbox(tmp / "solved", solve=[k.id for k in written])
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "katas", "-n", "2"],
                       cwd=solved, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        failing = tmp / "failing"
        shutil.copytree(solved, failing, symlinks=True)
        floor_dir = tmp / "floor"
        floor_dir.mkdir()
        (floor_dir / "test_trivial.py").write_text("def test_trivial():\n    assert 1 + 1 == 2\n")
        cases = {"floor": (["test_trivial.py"], floor_dir),
                 "progress": (["--tinytorch-progress"], solved)}
        for k in chosen:
            cases[k.id] = ([f"katas/{k.id}"], solved)
            cases[f"{k.id} (stub)"] = ([f"katas/{k.id}"], failing)
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeat):
            for k in chosen:  # one stub at a time, the rest solved: the kata is not blocked
                for f in k.files:
                    shutil.copyfile(ROOT / "katas" / k.id / f.name, failing / "katas" / k.id / f.name)
                times[f"{k.id} (stub)"].append(_time(*cases[f"{k.id} (stub)"]))
                for f in k.files:
                    shutil.copyfile(k.reference / f.name, failing / "katas" / k.id / f.name)
                _restore_green(solved, failing)  # the failing run withdrew the kata's link
            for name, (cmd, cwd) in cases.items():
                if not name.endswith("(stub)"):
                    times[name].append(_time(cmd, cwd))
        floor = statistics.median(times["floor"])
        print(f"{'case':<28}{'median s':>10}{'x floor':>10}")
        for name, values in times.items():
            med = statistics.median(values)
            print(f"{name:<28}{med:>10.2f}{med / floor:>10.2f}")
        worst = max(statistics.median(times[k.id]) for k in chosen) / floor
        print(f"\nslowest solved kata: {worst:.2f}x the floor (goal 2x); "
              f"progress table: {statistics.median(times['progress']) / floor:.2f}x (goal 1.1x)")


if __name__ == "__main__":
    main()
