"""Maintainer check: grade a small fake class and screenshot report.html in headless Chromium.

    python .ci/class_report_screenshot.py OUT_DIR

Releases the template, makes three students (pristine, half solved, all solved with a
conftest.py planted in a kata), grades the class, and writes OUT_DIR/report.png with
Debian's chromium (apt-get install chromium) when it is installed. Prints the CSV.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_tinytorch.curriculum import KATAS  # noqa: E402


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "class-report").resolve()
    shutil.rmtree(out, ignore_errors=True)
    template, klass = out / "template", out / "class"
    subprocess.run([sys.executable, "-m", "pytest_tinytorch", "release", str(template)], cwd=ROOT, check=True)
    written = [k for k in KATAS if k.written]
    for name, solved in (("pristine", []), ("half", written[: len(written) // 2]), ("all", written)):
        repo = klass / name
        shutil.copytree(template, repo)
        for k in solved:
            for f in k.files:
                shutil.copyfile(k.reference / f.name, repo / "katas" / k.id / f.name)
    (klass / "all" / "katas" / written[1].id / "conftest.py").write_text("# planted\n")
    subprocess.run([sys.executable, "-m", "pytest_tinytorch", "grade", str(klass), "--template", str(template),
                    "--out", str(out / "grades.csv")], cwd=ROOT, check=True)
    print((out / "grades.csv").read_text())
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("chromium not installed: open", out / "report.html")
        return
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={out / 'chromium-profile'}", "--window-size=1100,1400",
                    f"--screenshot={out / 'report.png'}", (out / "report.html").as_uri()],
                   check=True, capture_output=True, timeout=120)
    print("screenshot:", out / "report.png")


if __name__ == "__main__":
    main()
