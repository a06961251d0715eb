"""Shared pieces of the milestones: gates on the learner's layers, the perceptron rule,
and the rich panel each milestone shows with its figures and a small curve."""
from __future__ import annotations

import numpy as np
import pytest

from pytest_tinytorch.checks import fail
from pytest_tinytorch.report import render

BARS = "▁▂▃▄▅▆▇█"


def curve(values, lo: float | None = None, hi: float | None = None, width: int = 60) -> str:
    """A one-line sparkline of a training curve (resampled to at most `width` points)."""
    v = np.asarray(values, dtype=float)
    if len(v) > width:
        v = v[np.linspace(0, len(v) - 1, width).round().astype(int)]
    lo = v.min() if lo is None else lo
    hi = v.max() if hi is None else hi
    scaled = np.zeros_like(v) if hi <= lo else (v - lo) / (hi - lo)
    return "".join(BARS[int(round(s * (len(BARS) - 1)))] for s in np.clip(scaled, 0, 1))


def panel(record_property, title: str, figures: dict, curves: dict | None = None,
          note: str = "", bounds: tuple[float, float] | None = (0.0, 1.0)) -> str:
    """Render a milestone's panel and hand it to the plugin, which prints it at the end.

    Curves are drawn between `bounds` (accuracy: 0 to 1); None scales each to its range.
    """
    from rich.panel import Panel
    from rich.table import Table

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for name, value in figures.items():
        table.add_row(name, value)
    for name, values in (curves or {}).items():
        table.add_row(name, curve(values, *(bounds or (None, None))))
    if note:
        table.add_row("", note)
    text = render(Panel(table, title=title, title_align="left"), width=100, color=False)
    record_property("tinytorch_panel", text)
    return text


def check_linear(Tensor, layer, in_features: int, out_features: int) -> None:
    """Gate: the learner's Linear computes x @ W + b with W of shape (in, out).

    A Linear that ignores its bias or uses its weight transposed fails here, with a
    message, before any training figure could hide it.
    """
    w, b = layer.weight, layer.bias
    if tuple(w.shape) != (in_features, out_features):
        fail("Milestone gate: Linear's weight must have shape (in_features, out_features).",
             f"Linear({in_features}, {out_features}).weight has shape {tuple(w.shape)}",
             hint="kata 03 stores the weight as (in, out) and computes x @ W + b")
    rng = np.random.default_rng(1958)
    x = rng.standard_normal((5, in_features)).astype(np.float32)
    saved = b.data.copy()
    b.data = rng.standard_normal(b.data.shape).astype(b.data.dtype)  # a non-zero bias must show
    try:
        out = layer(Tensor(x))
        expected = x @ w.data + b.data
    finally:
        b.data = saved
    if not isinstance(out, Tensor):
        fail("Milestone gate: Linear must return your Tensor.", f"got {type(out).__name__}")
    if out.data.shape != expected.shape or not np.allclose(out.data, expected, rtol=1e-4, atol=1e-5):
        no_bias = x @ w.data
        hint = ("the output matches x @ W without the bias: does forward add self.bias?"
                if out.data.shape == no_bias.shape and np.allclose(out.data, no_bias, rtol=1e-4, atol=1e-5)
                else "compute x @ self.weight + self.bias with the weight as stored")
        fail("Milestone gate: Linear(x) must equal x @ weight + bias.",
             f"got {out.data.round(4).tolist()}\nexpected {expected.round(4).tolist()}", hint=hint)


def perceptron_epochs(Tensor, layer, x: np.ndarray, y: np.ndarray, epochs: int, lr: float = 0.1,
                      seed: int = 0) -> list[float]:
    """Rosenblatt's rule with the learner's Linear: predict step(layer(x)); on a mistake
    move w by lr * (y - prediction) * x and b by lr * (y - prediction). Returns the
    accuracy after each epoch (on the whole set, through the learner's forward)."""
    rng = np.random.default_rng(seed)
    history = []
    for _ in range(epochs):
        for i in rng.permutation(len(x)):
            predicted = float(layer(Tensor(x[i:i + 1])).data.reshape(-1)[0] >= 0)
            error = y[i] - predicted
            if error:
                layer.weight.data = layer.weight.data + lr * error * x[i].reshape(-1, 1).astype(np.float32)
                layer.bias.data = layer.bias.data + np.float32(lr * error)
        history.append(accuracy(Tensor, layer, x, y))
    return history


def accuracy(Tensor, layer, x: np.ndarray, y: np.ndarray) -> float:
    out = layer(Tensor(x))
    return float(np.mean((out.data.reshape(-1) >= 0) == (y == 1)))


def require(condition: bool, prop: str, detail: str, hint: str = "") -> None:
    if not condition:
        fail(prop, detail, hint=hint)


__all__ = ["curve", "panel", "check_linear", "perceptron_epochs", "accuracy", "require", "pytest"]
