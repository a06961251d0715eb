"""Smoke test on every supported Python this machine has (3.11, 3.12, 3.13).

For each interpreter found (`python3.X` on PATH, or a pyenv version): a fresh virtual
environment with `pip install -e` of a solved copy of the repository, then katas 01-03
run green, the perceptron milestone passes, and `from tinytorch import ...` works from
another folder. A supported version that is not installed is reported, not failed; no
interpreter found at all is a failure (the smoke would prove nothing).

    python .ci/smoke_pythons.py
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUPPORTED = ("3.11", "3.12", "3.13")
KATAS = ["01_tensor", "02_activations", "03_layers"]


def _works(python: str) -> bool:
    try:  # a pyenv shim exists for every version but fails for one not selected
        return subprocess.run([python, "-c", "pass"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def find(version: str) -> str | None:
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = sorted(glob.glob(os.path.join(pyenv_root, "versions", f"{version}.*", "bin", "python")),
                        reverse=True)  # the newest patch release first
    candidates += [p for p in [shutil.which(f"python{version}")] if p]
    return next((p for p in candidates if _works(p)), None)


def run(cmd, cwd, env=None) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise SystemExit(f"FAILED: {' '.join(map(str, cmd))} (in {cwd})\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")


def smoke(python: str, version: str) -> None:
    with tempfile.TemporaryDirectory(prefix=f"smoke-{version}-") as tmp:
        tmp = Path(tmp)
        repo = tmp / "repo"
        run([sys.executable, str(ROOT / "tests" / "sandbox.py"), str(repo), "--solve", *KATAS], cwd=ROOT)
        run([python, "-m", "venv", str(tmp / "venv")], cwd=tmp)
        py = str(tmp / "venv" / "bin" / "python")
        run([py, "-m", "pip", "install", "--quiet", "-e", str(repo)], cwd=tmp)
        env = {k: v for k, v in os.environ.items() if k not in ("CI", "GITHUB_ACTIONS")}
        run([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", *[f"katas/{k}" for k in KATAS]], cwd=repo, env=env)
        run([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--milestone=perceptron"], cwd=repo, env=env)
        elsewhere = tmp / "elsewhere"
        elsewhere.mkdir()
        run([py, "-c", "from tinytorch import Tensor, Linear, ReLU; print(Linear(2, 3)(Tensor([[1.0, 2.0]])).shape)"],
            cwd=elsewhere, env=env)


def main() -> None:
    tested = []
    for version in SUPPORTED:
        python = find(version)
        if python is None:
            print(f"smoke: Python {version} not found, skipped")
            continue
        smoke(python, version)
        tested.append(version)
        print(f"smoke: Python {version} ({python}): katas 01-03 green, perceptron passed, tinytorch importable")
    if not tested:
        raise SystemExit("smoke: no supported Python found")


if __name__ == "__main__":
    main()
