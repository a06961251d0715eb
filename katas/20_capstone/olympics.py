"""Kata 20: the Torch Olympics. Read katas/20_capstone/README.md first.

Given (keep them as they are: the grader builds its baseline with the same code):
EVENTS, load_digits, build_baseline, train_baseline. Replace every
`raise NotImplementedError` below with your code.
"""
from __future__ import annotations

import copy  # noqa: F401
import json  # noqa: F401
import math  # noqa: F401
import os  # noqa: F401
import statistics  # noqa: F401
import tempfile  # noqa: F401
import time

import numpy as np

from datasets import load_tinydigits
from tinytorch.core.activations import ReLU
from tinytorch.core.autograd import no_grad  # noqa: F401
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import SGD
from tinytorch.core.tensor import Tensor
from tinytorch.perf.compression import structured_prune  # noqa: F401
from tinytorch.perf.quantization import quantize_model  # noqa: F401

SCHEMA_VERSION = 1
SLACK = 1e-9  # float rounding at a bound: an accuracy drop of exactly 5 points passes

# The four graded events: None means "not constrained".
EVENTS = {
    "latency_sprint": {"min_speedup": 2.0, "min_compression": None, "min_accuracy_delta": -0.05},
    "memory_challenge": {"min_speedup": None, "min_compression": 5.0, "min_accuracy_delta": -0.05},
    "accuracy_contest": {"min_speedup": 0.5, "min_compression": 1.0, "min_accuracy_delta": 0.02},
    "all_around": {"min_speedup": 1.5, "min_compression": 2.0, "min_accuracy_delta": -0.03},
}
CONSTRAINTS = (("speedup", "min_speedup"), ("compression_ratio", "min_compression"),
               ("accuracy_delta", "min_accuracy_delta"))


# ---------------------------------------------------------------------- given
def load_digits():
    """((x_train, y_train), (x_test, y_test)): TinyDigits, images flattened to (N, 64)."""
    x_train, y_train, x_test, y_test = load_tinydigits()
    return (x_train.reshape(-1, 64), y_train), (x_test.reshape(-1, 64), y_test)


def build_baseline(seed=0, hidden=256):
    """The baseline: Linear(64, hidden) -> ReLU -> Linear(hidden, hidden) -> ReLU -> Linear(hidden, 10)."""
    np.random.seed(seed)
    return Sequential(Linear(64, hidden), ReLU(), Linear(hidden, hidden), ReLU(), Linear(hidden, 10))


def train_baseline(model, train_data, epochs=2, lr=0.05, batch_size=50, seed=0):
    """Plain SGD on shuffled mini-batches; deterministic for a given seed. Returns model."""
    x, y = train_data
    loss_fn = CrossEntropyLoss()
    optimizer = SGD(model.parameters(), lr=lr, momentum=0.9)
    rng = np.random.default_rng(seed)
    model.train()
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(Tensor(x[idx])), Tensor(y[idx]))
            loss.backward()
            optimizer.step()
    model.eval()
    return model


# ---------------------------------------------------------------------- yours
def measure_accuracy(model, x, y) -> float:
    """Fraction (a Python float) of samples whose argmax over the last axis of model(x)
    equals the label; eval mode, inside no_grad(), the model's mode restored."""
    raise NotImplementedError("kata 20_capstone: write measure_accuracy")


def model_size_bytes(model) -> int:
    """Sum of .nbytes over every distinct NumPy array reachable from model through
    attributes, lists, tuples and dict values (a Tensor counts its .data)."""
    raise NotImplementedError("kata 20_capstone: write model_size_bytes")


def measure_speedup(baseline, model, x, warmup=3, runs=11, clock=time.perf_counter) -> float:
    """warmup untimed rounds, then runs timed rounds, each round baseline(x) then model(x);
    return median(baseline times) / median(model times)."""
    raise NotImplementedError("kata 20_capstone: write measure_speedup")


def check_event(event, metrics) -> list:
    """[f"{metric} >= {bound}" for every constraint of the event that metrics breaks],
    in the order speedup, compression_ratio, accuracy_delta; a value >= bound - SLACK holds."""
    raise NotImplementedError("kata 20_capstone: write check_event")


def optimize(event, model, train_data):
    """Your strategy: a model meeting the event's constraints, made from a deep copy of
    model (leave model unchanged) with your katas 14-19 and train_data only."""
    raise NotImplementedError("kata 20_capstone: write optimize")


def generate_submission(event, baseline, optimized, techniques=(), author="anonymous") -> dict:
    """Measure both models on the test split of load_digits() and return the submission
    dict of the README (plain JSON values)."""
    raise NotImplementedError("kata 20_capstone: write generate_submission")


def validate_submission(submission) -> None:
    """Return None, or raise ValueError naming the first bad field by its path."""
    raise NotImplementedError("kata 20_capstone: write validate_submission")


def save_submission(submission, filepath="submission.json") -> str:
    """Validate, write json.dumps(submission, indent=2, allow_nan=False) to a temporary
    file in filepath's folder, os.replace it over filepath; return the absolute path."""
    raise NotImplementedError("kata 20_capstone: write save_submission")


def load_submission(filepath="submission.json") -> dict:
    """Read the JSON back, validate it and return it."""
    raise NotImplementedError("kata 20_capstone: write load_submission")
