"""Hypothesis profiles: one for learners and graders alike, one for maintainers.

"Done" must mean the same on a learner's machine and on the grader's, so both run the
same derandomized examples (`tinytorch`): a subtle bug is either caught every time or
never, never by luck. Each known bug class is also pinned by an explicit `@example` in
the hidden tests, which does not depend on the hypothesis version. Maintainers draw fresh
random examples with `--hypothesis-profile=tinytorch-explore --hypothesis-seed=N` to
check that the tests accept every correct solution; such a run never records a kata.
"""
from __future__ import annotations

import os

from .curriculum import ROOT

GRADING = "tinytorch"
EXPLORE = "tinytorch-explore"
# Examples per property: enough to reach every branch of the strategies, not so many
# that feedback is slow. A test that needs more says so with @settings(max_examples=...).
MAX_EXAMPLES = 10


def register() -> None:
    """Register both profiles (imports hypothesis: only runs that test anything pay it)."""
    from hypothesis import Phase, settings

    # Hypothesis keeps its files at the root, not in whichever kata folder pytest ran from.
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(ROOT / ".hypothesis"))
    # No `explain` phase: it costs seconds on every failure; learners get a shrunk example.
    phases = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)
    settings.register_profile(  # derived from the built-in `ci` profile, never re-registering it
        GRADING, parent=settings.get_profile("ci"), deadline=None, max_examples=MAX_EXAMPLES,
        report_multiple_bugs=False, derandomize=True, database=None, print_blob=False,
        phases=phases)
    settings.register_profile(
        EXPLORE, parent=settings.get_profile(GRADING), derandomize=False, max_examples=2 * MAX_EXAMPLES)


def load(config) -> str:
    """Load the grading profile unless the command line chose one; return its name."""
    from hypothesis import settings

    register()
    chosen = config.getoption("hypothesis_profile", None)
    if not chosen:
        settings.load_profile(GRADING)
    return chosen or GRADING


def records(config) -> bool:
    """Only a run under the grading profile may mark a kata done."""
    return config.getoption("hypothesis_profile", None) in (None, GRADING)
