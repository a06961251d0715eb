"""Milestone 1969: the XOR limit (Minsky and Papert, "Perceptrons").

The same single layer and learning rule that solve AND and OR cannot solve XOR: no line
separates {(0,1), (1,0)} from {(0,0), (1,1)}. If w1 + b > 0 and w2 + b > 0 (the two ones),
then w1 + w2 + 2b > 0; with b <= 0 (for (0,0)) that forces w1 + w2 + b > 0, so (1,1) is
misclassified. At most 3 of the 4 points can be right: 75%, whatever the training.
"""
import numpy as np

from milestones.common import check_linear, panel, perceptron_epochs, require
from tinytorch import Linear, Tensor

INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
GATES = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "XOR": [0, 1, 1, 0]}


def train(gate: str, epochs: int, seed: int = 1969):
    np.random.seed(seed)
    layer = Linear(2, 1)
    check_linear(Tensor, layer, 2, 1)
    y = np.array(GATES[gate], dtype=np.float32)
    return perceptron_epochs(Tensor, layer, INPUTS, y, epochs=epochs, lr=0.1, seed=seed)


def test_and_or_are_learned_but_xor_is_not(record_property):
    curves = {gate: train(gate, epochs=60) for gate in GATES}
    best_xor = max(curves["XOR"])
    panel(record_property, "Milestone 1969: the XOR limit",
          {"AND accuracy": f"{curves['AND'][-1]:.0%}", "OR accuracy": f"{curves['OR'][-1]:.0%}",
           "XOR best accuracy": f"{best_xor:.0%} over {len(curves['XOR'])} epochs (a line can do at most 75%)"},
          {f"{gate} accuracy per epoch": c for gate, c in curves.items()},
          note="one layer draws one line; XOR needs two (see milestone mlp, 1986)")
    for gate in ("AND", "OR"):
        require(curves[gate][-1] == 1.0, f"Milestone: the perceptron must learn {gate} perfectly.",
                f"it reached {curves[gate][-1]:.0%} (curve {curves[gate]})",
                hint="AND and OR are linearly separable; check Linear's forward and the bias")
    require(best_xor <= 0.75, "Milestone: a single linear layer can never exceed 75% on XOR.",
            f"it reached {best_xor:.0%}, which no line can do",
            hint="your Linear is not computing x @ W + b on these inputs")
