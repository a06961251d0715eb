"""Disposable copies of the repository for the project's own tests and for maintainers.

    python tests/sandbox.py DIR [--solve 01_tensor 02_activations ...] [--mutant 03_layers:NAME]

copies the repository (without .git and per-learner state) to DIR, copies the reference
files of the named katas over their stubs, and optionally applies one mutant on top.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_tinytorch.curriculum import BY_ID  # noqa: E402
from tests.mutants import mutants_of  # noqa: E402

# Per-learner state, caches and the virtual environment (86 MB) stay behind.
_SKIP = shutil.ignore_patterns(".git", ".venv", ".tinytorch", ".hypothesis", "__pycache__", "*.pyc",
                               ".pytest_cache", "results*.json", "*.egg-info")


def make_sandbox(dest: Path, solve: list[str] = (), mutant: tuple[str, str] | None = None) -> Path:
    dest = Path(dest)
    shutil.copytree(ROOT, dest, ignore=_SKIP, symlinks=True, dirs_exist_ok=True)
    for p in (dest / "tinytorch").rglob("*.py"):  # links belong to the learner who made them
        if p.is_symlink() or p.name != "__init__.py":
            p.unlink()
    for kid in solve:
        kata = BY_ID[kid]
        for f in kata.files:
            shutil.copyfile(kata.reference / f.name, dest / "katas" / kid / f.name)
    if mutant is not None:
        kid, name = mutant
        m = next(m for m in mutants_of(kid) if m.name == name)
        target = dest / "katas" / kid / m.file
        target.write_text(m.apply((BY_ID[kid].reference / m.file).read_text()))
    return dest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dest", type=Path)
    ap.add_argument("--solve", nargs="*", default=[], metavar="KATA")
    ap.add_argument("--mutant", metavar="KATA:NAME")
    args = ap.parse_args()
    mutant = tuple(args.mutant.split(":", 1)) if args.mutant else None
    print(make_sandbox(args.dest, args.solve, mutant))


if __name__ == "__main__":
    main()
