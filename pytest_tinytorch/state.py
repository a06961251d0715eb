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

from .curriculum import BY_ID, ROOT, Kata

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


def green_only(kata_ids) -> dict:
    """Progress as if exactly these katas (with their current files) were done."""
    data = empty()
    for kid in kata_ids:
        kata = BY_ID.get(kid)
        if kata is not None:
            data["katas"][kid] = {"status": "done", "fingerprint": fingerprint(kata)}
    return data


_KATA_FIELDS = {"status": str, "fingerprint": str}
_COUNTS = ("passed", "total", "not_started")


def _valid_kata(rec) -> bool:
    return (isinstance(rec, dict) and all(isinstance(rec.get(k), t) for k, t in _KATA_FIELDS.items())
            and all(type(rec.get(k, 0)) is int for k in _COUNTS))


def _valid_milestone(rec) -> bool:
    return isinstance(rec, dict) and isinstance(rec.get("status"), str)


def load(path: Path = STATE_FILE) -> tuple[dict, str | None]:
    """The state and, if the file had to be recovered, a warning for the learner.

    Every record is type-checked: a record of the wrong shape is dropped (with a
    warning), so a damaged file can never break a later run.
    """
    if not path.is_file():
        return empty(), None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not (isinstance(data, dict) and data.get("version") == VERSION
                and isinstance(data.get("katas"), dict) and isinstance(data.get("milestones"), dict)):
            raise ValueError("unexpected layout")
        bad = [k for k, r in data["katas"].items() if not _valid_kata(r)]
        bad += [m for m, r in data["milestones"].items() if not _valid_milestone(r)]
        data["katas"] = {k: r for k, r in data["katas"].items() if _valid_kata(r)}
        data["milestones"] = {m: r for m, r in data["milestones"].items() if _valid_milestone(r)}
        if bad:
            return data, (f"tinytorch: records of the progress file {path} were damaged and dropped "
                          f"({', '.join(map(str, bad))}): run those katas again")
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666  # like any file the learner creates (mkstemp's 0600 would hide it from others)


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file in the same folder, then rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, FILE_MODE & ~_umask())
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
            katas, milestones = data.get("katas"), data.get("milestones")
            return {"version": VERSION,
                    "katas": {k: r for k, r in (katas if isinstance(katas, dict) else {}).items() if _valid_kata(r)},
                    "milestones": {m: r for m, r in (milestones if isinstance(milestones, dict) else {}).items()
                                   if _valid_milestone(r)}}
    except (OSError, ValueError):
        pass
    return empty()


def warn(message: str) -> None:
    warnings.warn(message, stacklevel=2)
