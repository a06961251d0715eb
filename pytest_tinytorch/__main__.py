"""Instructor commands: `python -m pytest_tinytorch COMMAND --help`.

  release DEST            the student template (no solutions), with its manifest
  grade PATH              trusted grading of a student repository, or of a class folder
  classroom               writes the GitHub Classroom workflow
  gradescope DEST.zip     builds the Gradescope autograder
  check RESULTS SECTION NAME   exit 0 iff a unit earned its points (the Classroom steps)
"""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from . import classroom, gradescope, grading, release

    commands = {"release": release.main, "grade": grading.main, "classroom": classroom.main,
                "gradescope": gradescope.main, "check": classroom.check_main,
                "gradescope-run": gradescope.run_main}
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in commands:
        print(__doc__.strip())
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
