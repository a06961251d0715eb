"""Hidden tests for GPT.generate: shapes and the prompt, greedy decoding against your own
forward, seeds, the distribution of samples, the sliding context window, no graph, errors.

Some tests replace the model's `forward` with a fake that returns known logits: generate
must call self.forward (directly or through self(...)), as the README says.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor

import transformers_kit as kit
from transformers_kit import F32, F64


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with checks.autograd_session() as ag:
        yield ag


def gpt(rng, vocab=7, max_seq_len=8):
    from tinytorch.models.transformer import GPT
    model = GPT(vocab, 4, 2, 2, max_seq_len)
    kit.randomize(model, rng)
    return model


class FakeForward:
    """Stands in for model.forward: fixed logits (one row per batch row) at every position,
    and a record of every window it was given and whether grad mode was on."""

    def __init__(self, logits):
        self.logits = np.asarray(logits, F32)
        self.windows, self.grad_mode = [], []

    def __call__(self, tokens, start_pos=0):
        from tinytorch.core.autograd import is_grad_enabled
        ids = np.asarray(getattr(tokens, "data", tokens))
        self.windows.append(ids.astype(np.int64).copy())
        self.grad_mode.append(is_grad_enabled())
        b, t = ids.shape
        return Tensor(np.broadcast_to(self.logits[:, None, :], (b, t, self.logits.shape[-1])).copy())


def generated(model, prompt, *args, what, hint="", **kwargs):
    out = kit.call(lambda: model.generate(prompt, *args, **kwargs), what=what, hint=hint,
                   inputs={"prompt": np.asarray(getattr(prompt, "data", prompt))})
    data = np.asarray(out.data)
    if not np.all(np.isfinite(data)) or np.any(data != np.round(data)):
        checks.fail(f"{what} must return token ids (whole numbers).", f"got {checks.fmt(data)}")
    return data.astype(np.int64)


# ---------------------------------------------------------------- shapes

@pytest.mark.parametrize("form", ["Tensor", "int array", "list"])
def test_generate_keeps_the_prompt_and_appends_new_tokens(form):
    rng = np.random.default_rng(1)
    model = gpt(rng)
    prompt = rng.integers(0, 7, (2, 3))
    given_prompt = {"Tensor": lambda p: Tensor(p), "int array": lambda p: p.copy(),
                    "list": lambda p: p.tolist()}[form](prompt)
    what = f"generate(prompt ({form} of shape (2, 3)), max_new_tokens=4, seed=0)"
    out = generated(model, given_prompt, 4, seed=0, what=what)
    checks.check_shape(out, (2, 7), what, inputs={"prompt": prompt},
                       hint="the result is the prompt followed by max_new_tokens new ids: (B, P + max_new_tokens)")
    checks.check_array(out[:, :3], prompt, f"{what}: the first 3 columns must be the prompt",
                       inputs={"prompt": prompt})
    if out.min() < 0 or out.max() >= 7:
        checks.fail(f"{what}: new ids must lie in [0, vocab_size).", f"got {out}")
    none = generated(model, given_prompt, 0, seed=0, what="generate(prompt, max_new_tokens=0)")
    checks.check_array(none, prompt, "generate(prompt, max_new_tokens=0) must return the prompt",
                       inputs={"prompt": prompt})


@settings(max_examples=8)
@given(b=st.integers(1, 3), p=st.integers(1, 6), n=st.integers(1, 6), seed=kit.seeds)
@example(b=2, p=3, n=5, seed=2)  # past max_seq_len = 5: the window slides
@example(b=1, p=6, n=2, seed=3)  # a prompt longer than the window
def test_greedy_decoding_follows_your_forward(b, p, n, seed):
    rng = np.random.default_rng(seed)
    model = gpt(rng, max_seq_len=5)
    prompt = rng.integers(0, 7, (b, p))
    what = f"generate(prompt of shape {prompt.shape}, max_new_tokens={n}, temperature=0) with max_seq_len=5"
    out = generated(model, Tensor(prompt), n, temperature=0, what=what)
    checks.check_shape(out, (b, p + n), what, inputs={"prompt": prompt})
    for k in range(n):
        seq = out[:, :p + k]
        window = seq[:, -5:]
        logits = np.asarray(model(Tensor(window)).data, F64)
        expected = logits[:, -1].argmax(axis=-1)
        if not np.array_equal(out[:, p + k], expected):
            first = logits[:, 0].argmax(axis=-1)
            unwindowed = seq[:, :5]
            hint = ("this matches the logits of the first position: the next token comes from the LAST "
                    "position's logits, logits[:, -1]" if np.array_equal(out[:, p + k], first) else
                    "the window must be the LAST max_seq_len tokens, tokens[:, -max_seq_len:]"
                    if seq.shape[1] > 5 and np.array_equal(
                        out[:, p + k], np.asarray(model(Tensor(unwindowed)).data)[:, -1].argmax(-1)) else
                    "temperature 0 is greedy: the argmax of the last position's logits, row by row")
            checks.fail(f"{what}: new token {k} must be the argmax of your forward's last logits.",
                        f"got {out[:, p + k]}, expected {expected}\nsequence so far {seq}",
                        inputs={"prompt": prompt}, hint=hint)
    again = generated(model, Tensor(prompt), n, temperature=0, what=what)
    checks.check_array(again, out, f"{what}: greedy decoding must be deterministic (run twice)",
                       inputs={"prompt": prompt})


def test_generation_runs_past_max_seq_len_on_a_real_model():
    rng = np.random.default_rng(4)
    model = gpt(rng, max_seq_len=4)
    prompt = rng.integers(0, 7, (1, 3))
    out = generated(model, Tensor(prompt), 6, seed=1,
                    what="generate(prompt of length 3, max_new_tokens=6) with max_seq_len=4",
                    hint="slide the window: forward only the last max_seq_len tokens")
    checks.check_shape(out, (1, 9), "generate past max_seq_len", inputs={"prompt": prompt})


def test_the_context_window_slides():
    model = gpt(np.random.default_rng(5), max_seq_len=4)
    fake = FakeForward(np.array([[0.0, 3.0, 1.0, 0.5, -1.0, 2.0, 0.0]]))
    model.forward = fake
    prompt = np.array([[5, 6, 2]])
    what = "generate(prompt [[5, 6, 2]], max_new_tokens=5, temperature=0) with max_seq_len=4"
    out = generated(model, prompt, 5, temperature=0, what=what)
    if len(fake.windows) != 5:
        checks.fail(f"{what} must call self.forward once per new token.", f"it was called {len(fake.windows)} times",
                    hint="each step: logits = self.forward(window) (or self(window)), then pick one token")
    for k, window in enumerate(fake.windows):
        seq = out[:, :3 + k]
        expected = seq[:, -4:]
        if window.shape != expected.shape or not np.array_equal(window, expected):
            hint = ("the window holds the FIRST tokens: keep the last max_seq_len, tokens[:, -max_seq_len:]"
                    if np.array_equal(window, seq[:, :4]) else
                    "the window is one token short: keep the last max_seq_len tokens"
                    if np.array_equal(window, seq[:, -3:]) else
                    "the whole sequence was given: crop it to its last max_seq_len tokens"
                    if np.array_equal(window, seq) else "")
            checks.fail(f"{what}: step {k} must forward the last max_seq_len tokens.",
                        f"forward got {window}, expected {expected}", hint=hint)


def test_greedy_decoding_breaks_ties_by_the_lowest_id():
    model = gpt(np.random.default_rng(10))
    model.forward = FakeForward(np.tile([1.0, 3.0, 3.0, 0.0, 3.0, -2.0, 1.0], (50, 1)))
    what = "generate(50 prompts, max_new_tokens=3, temperature=0) with logits [1, 3, 3, 0, 3, -2, 1]"
    out = generated(model, np.zeros((50, 1), np.int64), 3, temperature=0, what=what)
    checks.check_array(out[:, 1:], np.ones((50, 3), np.int64), f"{what}: every new token must be 1, the "
                                                               "lowest id among the tied largest logits",
                       hint="temperature 0 means np.argmax of the logits, not sampling at a tiny "
                            "temperature (which picks among ties at random)")


def test_generation_builds_no_graph():
    model = gpt(np.random.default_rng(6))
    fake = FakeForward(np.zeros((1, 7)))
    model.forward = fake
    generated(model, np.array([[1, 2]]), 3, seed=0, what="generate(prompt, max_new_tokens=3)")
    if any(fake.grad_mode):
        checks.fail("generate must run its steps without recording a graph.",
                    "self.forward was called with grad mode on",
                    hint="wrap the loop in `with no_grad():` (kata 06): generation never calls backward, "
                         "and a graph per step only costs memory")


# ---------------------------------------------------------------- sampling

def test_the_same_seed_gives_the_same_tokens():
    model = gpt(np.random.default_rng(7))
    prompt = np.array([[1, 2], [3, 4]])
    what = "generate(prompt, 12, temperature=1.5, seed=...)"
    a = generated(model, prompt, 12, temperature=1.5, seed=11, what=what)
    b = generated(model, prompt, 12, temperature=1.5, seed=11, what=what)
    checks.check_array(b, a, "generate with seed=11, twice: the same seed must give the same tokens",
                       hint="draw from np.random.default_rng(seed), created anew in each call")
    c = generated(model, prompt, 12, temperature=1.5, seed=12, what=what)
    if np.array_equal(a, c):
        checks.fail("generate with seed=11 and with seed=12 gave the same 24 sampled tokens.",
                    f"both gave {a}", hint="the seed must choose the random draws: "
                                           "rng = np.random.default_rng(seed)")
    np.random.seed(3)
    d = generated(model, prompt, 12, temperature=1.5, what="generate(prompt, 12, temperature=1.5)")
    np.random.seed(3)
    e = generated(model, prompt, 12, temperature=1.5, what="generate(prompt, 12, temperature=1.5)")
    np.random.seed(4)
    f = generated(model, prompt, 12, temperature=1.5, what="generate(prompt, 12, temperature=1.5)")
    checks.check_array(e, d, "generate with seed=None after np.random.seed(3), twice: the same tokens",
                       hint="seed=None draws from NumPy's global generator (np.random.random, "
                            "np.random.choice), which np.random.seed resets")
    if np.array_equal(d, f):
        checks.fail("generate with seed=None after np.random.seed(3) and after np.random.seed(4) gave the "
                    "same tokens.", f"both gave {d}",
                    hint="seed=None must draw from np.random (the global generator), not from a "
                         "generator with a fixed seed")


LOGITS = np.array([0.0, 1.0, 2.0, -1.0, 0.5])
ROWS, STEPS = 400, 5  # 2000 draws


def frequencies(model, temperature):
    fake = FakeForward(np.tile(LOGITS, (ROWS, 1)))
    model.forward = fake
    out = generated(model, np.zeros((ROWS, 1), np.int64), STEPS, temperature=temperature, seed=2017,
                    what=f"generate({ROWS} prompts, {STEPS} tokens, temperature={temperature})")
    return np.bincount(out[:, 1:].ravel(), minlength=len(LOGITS)) / (ROWS * STEPS)


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_samples_follow_softmax_of_logits_over_temperature(temperature):
    model = gpt(np.random.default_rng(8))
    freq = frequencies(model, temperature)
    expected = softmax(LOGITS / temperature)
    n = ROWS * STEPS
    # Each frequency within 5 standard errors (a correct sampler fails about once in 10^6 runs).
    tol = 5 * np.sqrt(expected * (1 - expected) / n) + 1e-3
    if np.any(np.abs(freq - expected) > tol):
        candidates = {
            "the logits were multiplied by the temperature: divide them, softmax(logits / temperature)":
                softmax(LOGITS * temperature),
            "the temperature was ignored: sample from softmax(logits / temperature)": softmax(LOGITS),
            "every sample is the argmax: only temperature 0 is greedy": np.eye(len(LOGITS))[LOGITS.argmax()],
            "the samples are uniform: draw each id with its softmax probability":
                np.full(len(LOGITS), 1 / len(LOGITS)),
        }
        hint = next((h for h, c in candidates.items()
                     if not np.allclose(c, expected, atol=0.02) and np.all(np.abs(freq - c) <= tol + 0.01)), "")
        checks.fail(f"generate at temperature {temperature}: the sampled ids must follow "
                    "softmax(logits / temperature).",
                    f"logits {LOGITS}\nfrequencies over {n} draws {np.round(freq, 3)}\n"
                    f"expected {np.round(expected, 3)}", hint=hint)


ERRORS = {
    "temperature -1": ({"max_new_tokens": 2, "temperature": -1.0}, [[1, 2]]),
    "temperature nan": ({"max_new_tokens": 2, "temperature": float("nan")}, [[1, 2]]),
    "temperature inf": ({"max_new_tokens": 2, "temperature": float("inf")}, [[1, 2]]),
    "max_new_tokens -1": ({"max_new_tokens": -1}, [[1, 2]]),
    "max_new_tokens 2.5": ({"max_new_tokens": 2.5}, [[1, 2]]),
    "1-D prompt": ({"max_new_tokens": 2}, [1, 2]),
    "empty prompt": ({"max_new_tokens": 2}, np.zeros((1, 0), np.int64)),
}


@pytest.mark.parametrize("kind", list(ERRORS))
def test_generate_rejects_bad_arguments(kind):
    model = gpt(np.random.default_rng(9))
    kwargs, prompt = ERRORS[kind]
    exc = kit.raised(lambda: model.generate(np.asarray(prompt), seed=0, **kwargs))
    if not isinstance(exc, ValueError):
        got = "no exception" if exc is None else f"{type(exc).__name__}: {exc}"
        checks.fail(f"generate with {kind} must raise ValueError.", f"got {got}",
                    hint="check the arguments before the loop: temperature a finite number >= 0, "
                         "max_new_tokens a non-negative int, the prompt of shape (batch, length >= 1)")
