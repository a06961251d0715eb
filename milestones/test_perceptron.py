"""Milestone 1958: Rosenblatt's perceptron, on your own Tensor and Linear.

Frank Rosenblatt's rule adjusts the weights only when a point is misclassified. On data
that a line can separate it provably converges (Novikoff, 1962). The data here do not pass
through the origin, so the bias matters.
"""
import numpy as np

from milestones.common import accuracy, check_linear, panel, perceptron_epochs, require
from tinytorch import Linear, Tensor

THRESHOLD = 0.98


def separable_points(n: int = 200, seed: int = 1958):
    """Two classes on either side of 2*x1 - 3*x2 + 4 = 0, with a margin."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-4, 6, size=(4 * n, 2))
    score = 2 * x[:, 0] - 3 * x[:, 1] + 4
    keep = np.abs(score) / np.hypot(2, 3) > 0.3  # a margin keeps convergence quick
    x, score = x[keep][:n], score[keep][:n]
    return x.astype(np.float32), (score > 0).astype(np.float32)


def run(seed: int = 0):
    """(accuracy before, accuracy per epoch) with the weights drawn under `seed`."""
    np.random.seed(seed)
    x, y = separable_points()
    layer = Linear(2, 1)
    check_linear(Tensor, layer, 2, 1)
    before = accuracy(Tensor, layer, x, y)
    return before, perceptron_epochs(Tensor, layer, x, y, epochs=30, lr=0.1, seed=seed)


def test_perceptron_learns_a_separable_set(record_property):
    x, _ = separable_points()
    before, history = run()
    final = history[-1]
    panel(record_property, "Milestone 1958: the perceptron",
          {"data": f"{len(x)} points, 2 features, linearly separable, offset from the origin",
           "accuracy before": f"{before:.1%}", "accuracy after": f"{final:.1%}",
           "epochs": str(len(history)), "threshold": f"{THRESHOLD:.0%}"},
          {"accuracy per epoch": history})
    require(final >= THRESHOLD, f"Milestone: the perceptron must reach {THRESHOLD:.0%} accuracy.",
            f"it reached {final:.1%} after {len(history)} epochs (curve: {[round(a, 3) for a in history]})",
            hint="the learning rule only reads Linear's output; check that your Linear, "
                 "Tensor @ and + compute x @ W + b exactly")
