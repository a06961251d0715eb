"""pytest_tinytorch: grades the tinytorch katas.

Roles, one module each: `curriculum` (the table), `plan` (what a run may do, decided once
on the controller), `collect` (hidden tests, gating), `imports` (kata files under their
package names), `guard` (runaway code), `tally` (per-kata outcomes), `state` (progress
file), `publish` (links into tinytorch/), `report` (the rich table), `results` (JSON
results). Hidden tests use `checks`.
"""
