"""A class at once: `python -m pytest_tinytorch grade SUBMISSIONS_DIR --out grades.csv`.

SUBMISSIONS_DIR holds one repository per student (a GitHub Classroom download: one clone
per student). Each is graded by the trusted path (`grading`), a few at a time, each within
its own wall-clock limit, against one released template. Written next to the CSV: one
JSON per student (`grades/<student>.json`) and a static `report.html` (pass rate per kata
and milestone, the tests most students fail, the flagged repositories) that opens in a
browser with no server.
"""
from __future__ import annotations

import csv
import html
import json
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import results
from .curriculum import KATAS, MILESTONES


def is_class(path: Path) -> bool:
    """A folder of student repositories (rather than one repository)."""
    path = Path(path)
    return path.is_dir() and not (path / "katas").is_dir() and any(
        (p / "katas").is_dir() for p in path.iterdir() if p.is_dir())


def columns() -> list[tuple[str, str]]:
    return ([("katas", k.id) for k in KATAS if k.written]
            + [("milestones", m.name) for m in MILESTONES if m.written])


def grade_class(folder: Path, out_csv: Path, *, template: Path | None, limit: float, partial: bool,
                audit_mode: str, jobs: int = 2) -> int:
    from .grading import _template, grade_repo

    students = sorted(p for p in Path(folder).iterdir() if p.is_dir() and (p / "katas").is_dir())
    out_csv = Path(out_csv)
    json_dir = out_csv.parent / "grades"
    json_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tinytorch-class-") as tmp:
        source = _template(template, Path(tmp))  # released once, shared by every student

        def one(student: Path) -> dict:
            payload = grade_repo(student, source, limit=limit, partial=partial, audit_mode=audit_mode)
            results.write(json_dir / f"{student.name}.json", payload)
            return payload

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            graded = list(pool.map(one, students))
    seconds = time.monotonic() - started
    write_csv(out_csv, graded)
    write_report(out_csv.parent / "report.html", graded, seconds)
    per = seconds / max(1, len(graded))
    print(f"grade: {len(graded)} students in {seconds:.0f} s ({per:.1f} s per student with {jobs} at once); "
          f"wrote {out_csv}, {json_dir}/ and {out_csv.parent / 'report.html'}")
    return 0


def write_csv(path: Path, graded: list[dict]) -> None:
    cols = columns()
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["student", *[name for _, name in cols], "total", "max_points", "tampering", "flags", "error"])
        for g in graded:
            flags = sorted({f for k in g["katas"].values() for f in k.get("flags", [])})
            out.writerow([g["student"], *[g[section][name]["points"] for section, name in cols],
                          g["points"], g["max_points"], "; ".join(g["tampering"]), "; ".join(flags),
                          g.get("error", "")])


def write_report(path: Path, graded: list[dict], seconds: float) -> None:
    """A static page: pass rates, the hardest tests, flagged repositories."""
    cols = columns()
    n = max(1, len(graded))
    rows = []
    for section, name in cols:
        full = sum(1 for g in graded if g[section][name]["points"] == g[section][name]["max_points"] > 0)
        rows.append((name, full, 100 * full / n))
    failing = Counter(t["nodeid"] for g in graded for t in g.get("tests", [])
                      if t.get("hidden") and t.get("outcome") not in ("passed", "")
                      and not t["nodeid"].endswith("::prerequisites"))  # blocked, not failed
    flagged = [(g["student"], g["tampering"] + sorted({f for k in g["katas"].values() for f in k.get("flags", [])}))
               for g in graded]
    flagged = [(s, f) for s, f in flagged if f]
    esc = html.escape
    bars = "".join(
        f"<tr><td>{esc(name)}</td><td class=num>{full}/{len(graded)}</td>"
        f"<td><div class=bar style='width:{pct:.0f}%'></div></td><td class=num>{pct:.0f}%</td></tr>"
        for name, full, pct in rows)
    hardest = "".join(f"<tr><td><code>{esc(node)}</code></td><td class=num>{count}</td></tr>"
                      for node, count in failing.most_common(15)) or "<tr><td>none</td><td></td></tr>"
    flags = "".join(f"<tr><td>{esc(s)}</td><td><ul>{''.join(f'<li>{esc(x)}</li>' for x in f)}</ul></td></tr>"
                    for s, f in flagged) or "<tr><td>none</td><td></td></tr>"
    totals = "".join(f"<tr><td>{esc(g['student'])}</td><td class=num>{g['points']}/{g['max_points']}</td></tr>"
                     for g in sorted(graded, key=lambda g: -g["points"]))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tinytorch class report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; max-width: 60em; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 2em; width: 100%; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }}
td.num {{ text-align: right; width: 6em; }}
.bar {{ background: #3a7; height: 12px; }}
h2 {{ margin-top: 1.5em; }}
</style></head><body>
<h1>tinytorch class report</h1>
<p>{len(graded)} students, graded in {seconds:.0f} s. Points come from one trusted run per student.</p>
<h2>Pass rate per kata and milestone</h2>
<table><tr><th>unit</th><th>full points</th><th></th><th>rate</th></tr>{bars}</table>
<h2>The tests most students fail</h2>
<table><tr><th>hidden test</th><th>students failing</th></tr>{hardest}</table>
<h2>Flagged repositories</h2>
<table><tr><th>student</th><th>findings</th></tr>{flags}</table>
<h2>Totals</h2>
<table><tr><th>student</th><th>points</th></tr>{totals}</table>
</body></html>
"""
    path.write_text(page, encoding="utf-8")


def load(folder: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(Path(folder).glob("*.json"))]
