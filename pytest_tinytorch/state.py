"""The progress file: which katas are green (with a fingerprint of their files) and which
milestones passed. Written by one process only (the controller), atomically; a missing
or corrupted file is recovered with a warning, never a crash."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import warnings
from pathlib import Path

from .curriculum import ROOT, Kata

STATE_FILE = ROOT / ".tinytorch" / "progress.json"
VERSION = 1


def fingerprint(kata: Kata, folder: Path | None = None) -> str:
    """A hash of the learner's files of a kata: an edit after going green changes it."""
    h = hashlib.sha256()
    for f in kata.files:
        path = (folder or kata.path) / f.name
        h.update(f.name.encode())
        h.update(path.read_bytes() if path.is_file() else b"<missing>")
    return h.hexdigest()[:16]


def empty() -> dict:
    return {"version": VERSION, "katas": {}, "milestones": {}}


def load(path: Path = STATE_FILE) -> tuple[dict, str | None]:
    """The state and, if the file had to be recovered, a warning for the learner."""
    if not path.exists():
        return empty(), None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not (isinstance(data, dict) and data.get("version") == VERSION
                and isinstance(data.get("katas"), dict) and isinstance(data.get("milestones"), dict)):
            raise ValueError("unexpected layout")
        return data, None
    except (OSError, ValueError) as exc:  # JSONDecodeError is a ValueError
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        try:
            os.replace(path, aside)
            kept = f"; the damaged file was kept as {aside.name}"
        except OSError:
            kept = ""
        return empty(), (f"tinytorch: the progress file {path} could not be read ({exc}) and was "
                         f"reset{kept}. Re-run your katas (pytest katas) to restore your progress.")


def save(data: dict, path: Path = STATE_FILE) -> None:
    write_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file in the same folder, then rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def is_green(kata: Kata, data: dict) -> bool:
    rec = data["katas"].get(kata.id)
    return bool(rec and rec.get("status") == "done" and rec.get("fingerprint") == fingerprint(kata))


def changed_since_green(kata: Kata, data: dict) -> bool:
    rec = data["katas"].get(kata.id)
    return bool(rec and rec.get("status") == "done" and rec.get("fingerprint") != fingerprint(kata))


def load_quietly() -> dict:
    """For read-only views: recover in memory, never move files."""
    try:
        data = json.loads(STATE_FILE.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("version") == VERSION:
            data.setdefault("katas", {}), data.setdefault("milestones", {})
            return data
    except (OSError, ValueError):
        pass
    return empty()


def warn(message: str) -> None:
    warnings.warn(message, stacklevel=2)
