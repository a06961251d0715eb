"""Hidden tests for kata 07: optimizer state for checkpoints.

SGD's momentum state (TinyTorch's has_momentum / get_momentum_state / set_momentum_state)
and every optimizer's state_dict / load_state_dict: the documented keys and values, copies
that never share memory with the optimizer, and a round trip through np.savez and np.load
after which a fresh optimizer continues bit for bit.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import example, given, settings

from pytest_tinytorch import checks
from tinytorch.core.optimizers import SGD, Adam, AdamW
from tinytorch.core.tensor import Tensor

from optimizers_kit import G3, P0, problems, raised

# The optimizers whose state is saved, and fresh ones built with other hyperparameters.
MAKERS = {
    "SGD": lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
    "Adam": lambda ps: Adam(ps, lr=0.1, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.1),
    "AdamW": lambda ps: AdamW(ps, lr=0.05, betas=(0.85, 0.995), eps=1e-4, weight_decay=0.2),
}
OTHERS = {"SGD": lambda ps: SGD(ps, momentum=0.5), "Adam": lambda ps: Adam(ps),
          "AdamW": lambda ps: AdamW(ps)}
HYPER = {
    "SGD": {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1},
    "Adam": {"lr": 0.1, "beta1": 0.8, "beta2": 0.99, "eps": 1e-3, "weight_decay": 0.1},
    "AdamW": {"lr": 0.05, "beta1": 0.85, "beta2": 0.995, "eps": 1e-4, "weight_decay": 0.2},
}
PER_PARAM = {"SGD": ("velocity",), "Adam": ("m", "v", "t"), "AdamW": ("m", "v", "t")}
each_optimizer = pytest.mark.parametrize("name", list(MAKERS))

SENTINEL = 12345  # written into arrays handed over, to see whether they were copied
HINT_NUMBERS = ("np.load gives every number back as a 0-d array: turn it into a Python number "
                "(float(...), or int(...) for a step count) before using it")
HINT_SHARED = ("hand out copies (array.copy()): the caller may write into them, and the "
               "optimizer must not notice")


# ---------------------------------------------------------------- oracles

def oracle_state(name, p0s, grads, hyper):
    """The state (velocities, or m, v and t) of each parameter after feeding grads[k][j] to
    parameter j at step k (None: no gradient), in float64, plus the parameters."""
    ps = [np.array(p, dtype=np.float64) for p in p0s]
    state = [None] * len(ps)
    for step in grads:
        for j, g in enumerate(step):
            if g is None:
                continue
            p = ps[j]
            if name == "SGD":
                gg = g + hyper["weight_decay"] * p
                v = gg if state[j] is None else hyper["momentum"] * state[j] + gg
                state[j] = v
                ps[j] = p - hyper["lr"] * v
                continue
            b1, b2, lr, wd = hyper["beta1"], hyper["beta2"], hyper["lr"], hyper["weight_decay"]
            m, v, t = state[j] or (np.zeros_like(p), np.zeros_like(p), 0)
            if name == "AdamW":
                p = p - lr * wd * p
                gg = g
            else:
                gg = g + wd * p
            t += 1
            m = b1 * m + (1 - b1) * gg
            v = b2 * v + (1 - b2) * gg * gg
            ps[j] = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + hyper["eps"])
            state[j] = (m, v, t)
    return state, ps


def expected_entries(name, state):
    """The per-parameter entries state_dict() must hold for an oracle state."""
    out = {}
    for j, s in enumerate(state):
        if s is None:
            continue
        if name == "SGD":
            out[f"velocity_{j}"] = s
        else:
            out[f"m_{j}"], out[f"v_{j}"], out[f"t_{j}"] = s
    return out


def feed(opt, params, step):
    for p, g in zip(params, step):
        p.grad = None if g is None else g.copy()
    opt.step()


def schedule(grads, n):
    """Per step, one gradient per parameter: parameter 1 starts at step 2, the last never
    gets one (so the state holds updated, late and untouched parameters)."""
    out = []
    for k, g in enumerate(grads):
        row = [g, (0.5 * g if k >= 1 else None)] + [None] * (n - 2)
        out.append(row[:n])
    return out


def call(what, fn, inputs=None, hint=""):
    """Run learner code; a crash becomes a failure naming the property (not a traceback)."""
    out = []
    exc = raised(lambda: out.append(fn()))
    if exc is not None:
        checks.fail(f"{what} raised {type(exc).__name__}: {exc}", inputs=inputs, hint=hint)
    return out[0]


def through_npz(state, what, inputs):
    """np.savez then np.load(allow_pickle=False), as kata 08's checkpoints do."""
    out = {}

    def round_trip():
        buffer = io.BytesIO()
        np.savez(buffer, **state)
        buffer.seek(0)
        with np.load(buffer, allow_pickle=False) as npz:
            out.update({k: npz[k] for k in npz.files})

    exc = raised(round_trip)
    if exc is not None:
        checks.fail(f"{what}: np.savez then np.load(allow_pickle=False) cannot read it back.",
                    f"{type(exc).__name__}: {exc}", inputs=inputs,
                    hint="values must be NumPy arrays of numbers or Python numbers (a tuple or "
                         "a list of arrays needs pickle)")
    return out


def same_state(got, want, what, inputs, hint, zeroed_hint=""):
    """Two state dicts with the same keys and exactly the same values (an entry that came out
    as SENTINEL gets `zeroed_hint`: the test overwrote the given arrays with it)."""
    if sorted(got) != sorted(want):
        checks.fail(f"{what}: the keys differ.", f"got {sorted(got)}\nexpected {sorted(want)}",
                    inputs=inputs, hint=hint)
    for key in sorted(want):
        expected = np.asarray(want[key])
        wrong = [(np.full_like(expected, SENTINEL), zeroed_hint)] if zeroed_hint else []
        checks.check_array(np.asarray(got[key]), expected, f"{what}: entry {key!r}",
                           inputs=inputs, rtol=0.0, atol=0.0, wrong=wrong, hint=hint)


# ---------------------------------------------------------------- has_momentum, momentum state

@pytest.mark.parametrize("momentum", [0.0, 1e-3, 0.5, 0.9])
def test_has_momentum_is_true_exactly_when_momentum_is_above_zero(momentum):
    p = Tensor(P0.copy(), requires_grad=True)
    got = SGD([p], lr=0.1, momentum=momentum).has_momentum()
    if not isinstance(got, (bool, np.bool_)) or bool(got) != (momentum > 0):
        checks.fail(f"SGD(momentum={momentum}).has_momentum() must be {momentum > 0}.",
                    f"got {got!r}", hint="has_momentum() is momentum > 0, as a bool")


@settings(max_examples=5)
@given(pg=problems(2, 3))
@example(pg=(P0, G3))
def test_get_momentum_state_lists_copies_of_the_velocities(pg):
    p0, grads = pg
    inputs = {"p0": p0, "grads (one per step)": grads}
    plain = SGD([Tensor(p0.copy(), requires_grad=True)], lr=0.1)
    if plain.get_momentum_state() is not None:
        checks.fail("SGD(momentum=0).get_momentum_state() must be None.",
                    f"got {plain.get_momentum_state()!r}", inputs=inputs,
                    hint="without momentum there is no velocity to save")
    params = [Tensor(p0.copy(), requires_grad=True) for _ in range(3)]
    opt = MAKERS["SGD"](params)
    steps = schedule(grads, 3)
    for k in range(len(steps) + 1):
        state, _ = oracle_state("SGD", [p0] * 3, steps[:k], HYPER["SGD"])
        got = opt.get_momentum_state()
        where = "before the first step" if k == 0 else f"after step {k}"
        if not isinstance(got, list) or len(got) != 3:
            checks.fail("get_momentum_state() must be a list with one entry per parameter.",
                        f"{where}: got {got!r}", inputs=inputs,
                        hint="one entry per parameter of self.params, None for a parameter "
                             "that was not updated yet")
        for j, (v, want) in enumerate(zip(got, state)):
            if want is None and v is not None:
                checks.fail(f"get_momentum_state()[{j}] must be None {where}: that parameter "
                            "was not updated yet.", f"got {checks.fmt(v)}", inputs=inputs,
                            hint="None stands for 'no velocity yet'; a zero array would be "
                                 "taken for a velocity")
            if want is not None:
                if v is None:
                    checks.fail(f"get_momentum_state()[{j}] {where} must be the parameter's "
                                "velocity.", "got None", inputs=inputs)
                checks.check_array(v, want, f"get_momentum_state()[{j}] {where} (the velocity "
                                   "v = momentum * v + g)", inputs=inputs, dtype=np.float64,
                                   rtol=1e-9, atol=1e-12)
        if k < len(steps):
            feed(opt, params, steps[k])
    for v in opt.get_momentum_state():
        if v is not None:
            v[...] = 1e6  # the caller owns its copy
    extra = [np.ones_like(p0)] * 3
    feed(opt, params, extra)
    _, after = oracle_state("SGD", [p0] * 3, steps + [extra], HYPER["SGD"])
    checks.check_array(params[0].data, after[0], "the parameter after one more step, once the "
                       "arrays returned by get_momentum_state() were overwritten", inputs=inputs,
                       rtol=1e-9, atol=1e-12, hint=HINT_SHARED)


@settings(max_examples=8)
@given(pg=problems(2, 3, dtype=np.float32))
@example(pg=(P0.astype(np.float32), G3.astype(np.float32)))
def test_set_momentum_state_hands_a_velocity_over_exactly(pg):
    """b takes a's velocities (one of them None) and must continue exactly as a does."""
    p0, grads = pg
    inputs = {"p0": p0, "grads (one per step)": grads}
    pa = [Tensor(p0.copy(), requires_grad=True) for _ in range(2)]
    pb = [Tensor(p0.copy(), requires_grad=True) for _ in range(2)]
    a, b = MAKERS["SGD"](pa), MAKERS["SGD"](pb)
    feed(a, pa, [grads[0], None])  # a: a velocity for p0 only
    feed(b, pb, [-grads[0], grads[0]])  # b: stale velocities for both
    for q, r in zip(pb, pa):
        q.data[...] = r.data
    given_state = a.get_momentum_state()
    call("set_momentum_state(state)", lambda: b.set_momentum_state(given_state), inputs)
    held = b.get_momentum_state()
    if held[1] is not None:
        checks.fail("After set_momentum_state([v, None]), the parameter with a None entry must "
                    "have no velocity.", f"get_momentum_state()[1] = {checks.fmt(held[1])}",
                    inputs=inputs, hint="a None entry means 'not updated yet': forget that "
                                        "parameter's old velocity instead of keeping it")
    given_state[0][...] = 1e6  # the optimizer must have copied it
    c = MAKERS["SGD"]([Tensor(p0.copy(), requires_grad=True) for _ in range(2)])
    c.set_momentum_state([None if v is None else v.astype(np.float64) for v in held])
    kept = c.get_momentum_state()[0]
    if kept is None or kept.dtype != np.float32:
        checks.fail("set_momentum_state must store each velocity in its parameter's dtype.",
                    f"a float64 velocity for a float32 parameter came back as "
                    f"{checks.fmt(kept)}", inputs=inputs,
                    hint="copy with np.array(v, dtype=p.data.dtype)")
    for k, g in enumerate(grads[1:]):
        feed(a, pa, [g, 2 * g])
        feed(b, pb, [g, 2 * g])
        for j in range(2):
            checks.check_array(pb[j].data, pa[j].data.copy(), f"parameter {j} of b after step "
                               f"{k + 1} following b.set_momentum_state(a.get_momentum_state())",
                               inputs=inputs, dtype=np.float32, rtol=0.0, atol=0.0,
                               hint="store copies of the given velocities (the caller may write "
                                    "into its list later); a None entry starts that parameter "
                                    "afresh")


@settings(max_examples=5)
@given(pg=problems(2, 3))
@example(pg=(P0, G3))
def test_set_momentum_state_none_forgets_and_a_wrong_length_is_refused(pg):
    p0, grads = pg
    inputs = {"p0": p0, "grads (one per step)": grads}
    pb = [Tensor(p0.copy(), requires_grad=True) for _ in range(2)]
    b = MAKERS["SGD"](pb)
    feed(b, pb, [grads[0], grads[0]])
    before = [v.copy() for v in b.get_momentum_state()]
    exc = raised(lambda: b.set_momentum_state([before[0]]))
    if not isinstance(exc, ValueError):
        checks.fail("set_momentum_state with 1 velocity for 2 parameters must raise ValueError.",
                    "nothing was raised" if exc is None else f"got {type(exc).__name__}: {exc}",
                    inputs=inputs,
                    hint="compare len(state) with len(self.params) before changing anything")
    if "1" not in str(exc) or "2" not in str(exc):
        checks.fail("The ValueError of set_momentum_state must name both lengths.",
                    f"message: {str(exc)!r}", hint="e.g. 'got 1 velocities for 2 parameters'")
    after = b.get_momentum_state()
    for j, v in enumerate(before):
        if after[j] is None or not np.array_equal(after[j], v):
            checks.fail("A refused set_momentum_state must leave the velocities unchanged.",
                        f"velocity {j} changed", inputs=inputs, hint="check the length first")

    b.set_momentum_state(None)
    fresh_params = [Tensor(q.data.copy(), requires_grad=True) for q in pb]
    fresh = MAKERS["SGD"](fresh_params)
    for k, g in enumerate(grads[1:]):
        feed(b, pb, [g, g])
        feed(fresh, fresh_params, [g, g])
        checks.check_array(pb[0].data, fresh_params[0].data.copy(), f"after "
                           f"set_momentum_state(None) and {k + 1} step(s), the parameter (it "
                           "must move as with a fresh optimizer)", inputs=inputs, rtol=0.0,
                           atol=0.0, hint="a None state forgets every velocity (TinyTorch "
                                          "ignores it, which keeps a stale velocity)")


# ---------------------------------------------------------------- state_dict / load_state_dict

@each_optimizer
@settings(max_examples=5)  # structural, run once per optimizer
@given(pg=problems(1, 3, dtype=np.float32))
@example(pg=(P0.astype(np.float32), G3.astype(np.float32)))
def test_the_state_of_float32_parameters_stays_float32(name, pg):
    p0, grads = pg
    p = Tensor(p0.copy(), requires_grad=True)
    opt = MAKERS[name]([p])
    for i, g in enumerate(grads):
        feed(opt, [p], [g])
        for key, value in opt.state_dict().items():
            got = getattr(value, "dtype", None)
            if isinstance(value, np.ndarray) and got != np.float32:
                checks.fail(f"{name}: the state of a float32 parameter must stay float32.",
                            f"after step {i + 1}, state_dict()[{key!r}] has dtype {got}",
                            inputs={"p0": p0, "grads (one per step)": grads},
                            hint="state made with np.zeros(shape) is float64 even when p.data "
                                 "is updated in place: use np.zeros_like(p.data)")


@each_optimizer
@settings(max_examples=5)
@given(pg=problems(2, 3))
@example(pg=(P0, G3))
def test_state_dict_holds_the_documented_keys_and_values(name, pg):
    p0, grads = pg
    inputs = {"p0": p0, "grads (one per step)": grads}
    params = [Tensor(p0.copy(), requires_grad=True) for _ in range(3)]
    opt = MAKERS[name](params)
    steps = schedule(grads, 3)
    for step in steps:
        feed(opt, params, step)
    state = call(f"{name}.state_dict()", opt.state_dict, inputs)
    if not isinstance(state, dict):
        checks.fail(f"{name}.state_dict() must return a dict.", f"got {type(state).__name__}")
    oracle, _ = oracle_state(name, [p0] * 3, steps, HYPER[name])
    entries = expected_entries(name, oracle)
    want = sorted(HYPER[name]) + sorted(entries)
    if sorted(state) != sorted(want):
        missing = sorted(set(want) - set(state))
        unexpected = sorted(set(state) - set(want))
        hint = ("the hyperparameters under their names (betas split into beta1 and beta2), "
                f"and {', '.join(k + '_i' for k in PER_PARAM[name])} for each parameter i "
                "that was updated (parameter 2 never was)")
        if any(k.startswith("t_") for k in missing):
            hint = "Adam's per-parameter step count t_i is state too: without it the bias " \
                   "correction restarts after loading"
        checks.fail(f"{name}.state_dict() after {len(steps)} steps (parameter 1 from step 2 "
                    "on, parameter 2 never) holds the wrong keys.",
                    f"missing {missing}, unexpected {unexpected}", inputs=inputs, hint=hint)
    for key, value in state.items():
        if isinstance(value, np.ndarray) and value.dtype != object:
            continue
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            continue
        checks.fail(f"{name}.state_dict()[{key!r}] must be a NumPy array or a number.",
                    f"got {type(value).__name__}: {value!r}", inputs=inputs,
                    hint="np.savez stores arrays and numbers without pickle; not tuples or lists")
    for key, value in HYPER[name].items():
        checks.check_close(state[key], value, f"{name}.state_dict()[{key!r}]", rtol=0, atol=0,
                           inputs=inputs, hint="store the hyperparameter the optimizer uses")
    for key, value in entries.items():
        if key.startswith("t_"):
            if not isinstance(state[key], int) or state[key] != value:
                checks.fail(f"{name}.state_dict()[{key!r}] must be the parameter's step count "
                            f"{value} as a Python int.", f"got {state[key]!r}", inputs=inputs,
                            hint="t counts this parameter's own updates (skipped steps do not "
                                 "count)")
            continue
        checks.check_array(state[key], value, f"{name}.state_dict()[{key!r}]", inputs=inputs,
                           dtype=np.float64, rtol=1e-9, atol=1e-12,
                           hint="the state after these steps, as the update equations give it")
        state[key][...] = 1e6  # the caller owns its copy
    extra = [np.ones_like(p0)] * 3
    feed(opt, params, extra)
    _, after = oracle_state(name, [p0] * 3, steps + [extra], HYPER[name])
    checks.check_array(params[0].data, after[0], f"{name}: the parameter after one more step, "
                       "once the arrays of state_dict() were overwritten", inputs=inputs,
                       rtol=1e-9, atol=1e-12, hint=HINT_SHARED)


@each_optimizer
@settings(max_examples=8)
@given(pg=problems(3, 4, dtype=np.float32))
@example(pg=(P0.astype(np.float32), G3.astype(np.float32)))
def test_load_state_dict_after_np_load_continues_bit_for_bit(name, pg):
    """a takes two steps; b, built with other hyperparameters, loads a's state as np.load
    gives it back; both take the remaining steps and must agree to the last bit."""
    p0, grads = pg
    inputs = {"p0": p0, "grads (one per step)": grads}
    steps = schedule(grads, 3)
    pa = [Tensor(p0.copy(), requires_grad=True) for _ in range(3)]
    a = MAKERS[name](pa)
    for step in steps[:2]:
        feed(a, pa, step)
    saved = call(f"{name}.state_dict()", a.state_dict, inputs)
    loaded = through_npz(saved, f"{name}.state_dict()", inputs)

    def fresh(state, stale=False):
        params = [Tensor(q.data.copy(), requires_grad=True) for q in pa]
        opt = OTHERS[name](params)
        if stale:  # state of its own for every parameter, which the load must replace
            feed(opt, params, [-g for g in steps[0][:1]] * 3)
            for q, r in zip(params, pa):
                q.data[...] = r.data
        call(f"{name}().load_state_dict(state)", lambda: opt.load_state_dict(state), inputs)
        return opt, params

    def twin(state):
        """A known wrong resumption, or None when your code does not take that state (a
        fabricated state: no verdict on it)."""
        params = [Tensor(q.data.copy(), requires_grad=True) for q in pa]
        opt = OTHERS[name](params)
        return None if raised(lambda: opt.load_state_dict(state)) else (opt, params)

    b, pb = fresh(loaded, stale=True)
    if type(b.lr) is not float or b.lr != a.lr:
        hint = HINT_NUMBERS if isinstance(b.lr, np.ndarray) else \
            "load_state_dict must restore lr (b was built with another lr)"
        checks.fail(f"After load_state_dict, opt.lr must be the saved lr {a.lr!r} as a Python "
                    "float.", f"got {type(b.lr).__name__}: {b.lr!r}", inputs=inputs, hint=hint)
    for value in loaded.values():
        value[...] = SENTINEL  # load_state_dict must have copied what it keeps
    got = b.state_dict()
    if sorted(got) != sorted(saved):
        checks.fail(f"{name}: after load_state_dict, state_dict() must hold the loaded keys.",
                    f"got {sorted(got)}\nexpected {sorted(saved)}", inputs=inputs,
                    hint="a parameter without an entry in the state starts afresh: forget the "
                         "state it had before the load (parameter 2 had one)")
    same_state(got, saved, f"{name}: state_dict() of the optimizer that loaded it "
               f"(after the dict handed to load_state_dict was overwritten with {SENTINEL})",
               inputs,
               hint="load_state_dict must restore every entry of the state it is given",
               zeroed_hint="load_state_dict must keep copies of the arrays it is given (and "
                           "Python numbers): the test then overwrote that dict")
    wide = {k: (v.astype(np.float64) if isinstance(v, np.ndarray) and v.ndim else v)
            for k, v in saved.items()}
    c, _ = fresh(wide)
    for key, value in c.state_dict().items():
        if isinstance(value, np.ndarray) and value.dtype != np.float32:
            checks.fail(f"{name}.load_state_dict must store each array in its parameter's dtype.",
                        f"a float64 state for float32 parameters: state_dict()[{key!r}] came "
                        f"back as {value.dtype}", inputs=inputs,
                        hint="copy with np.array(value, dtype=p.data.dtype)")
    # Known wrong resumptions, run on your own optimizer: nothing per parameter restored, or
    # Adam's step counts restarted.
    wrong = {"state": {k: v for k, v in saved.items() if k in HYPER[name]}}
    if name != "SGD":
        wrong["t"] = {k: (0 if k.startswith("t_") else v) for k, v in saved.items()}
    twins = {n: tw for n, tw in ((n, twin(s)) for n, s in wrong.items()) if tw is not None}
    hints = {"state": "this matches an optimizer that got the hyperparameters back but none of "
                      "the per-parameter state (velocities, or m, v and t)",
             "t": "this matches Adam restarting its step counts at 0 after loading: restore t_i"}
    for k, step in enumerate(steps[2:]):
        feed(a, pa, step)
        feed(b, pb, step)
        for n, (opt, params) in list(twins.items()):
            if raised(lambda: feed(opt, params, step)) is not None:
                del twins[n]
        for j in range(2):
            checks.check_array(pb[j].data, pa[j].data.copy(), f"{name}: parameter {j} after "
                               f"{k + 1} step(s) following load_state_dict (the optimizer that "
                               "saved the state took the same steps)", inputs=inputs,
                               dtype=np.float32, rtol=0.0, atol=0.0,
                               wrong=[(tw[1][j].data.copy(), hints[n]) for n, tw in twins.items()],
                               hint="restore every hyperparameter and every per-parameter state, "
                                    "numbers as Python numbers (an int for t_i): " + HINT_NUMBERS)


@each_optimizer
@pytest.mark.parametrize("misfit", ["a parameter of another shape", "one parameter more"])
def test_load_state_dict_refuses_a_state_that_does_not_fit(name, misfit):
    rng = np.random.default_rng(8)
    if misfit == "one parameter more":
        shapes_a, shapes_b, bad = [(2, 3), (4,), (3,)], [(2, 3), (4,)], 2
    else:
        shapes_a, shapes_b, bad = [(2, 3), (4,)], [(2, 3), (5,)], 1
    pa = [Tensor(rng.uniform(-1, 1, s), requires_grad=True) for s in shapes_a]
    pb = [Tensor(rng.uniform(-1, 1, s), requires_grad=True) for s in shapes_b]
    a, b = MAKERS[name](pa), OTHERS[name](pb)
    feed(a, pa, [rng.uniform(-1, 1, s) for s in shapes_a])
    feed(b, pb, [rng.uniform(-1, 1, s) for s in shapes_b])
    before = {k: np.array(v, copy=True) for k, v in b.state_dict().items()}
    what = (f"{name}.load_state_dict of a state saved for parameters of shapes {shapes_a} into "
            f"an optimizer over shapes {shapes_b}")
    keys = [f"{k}_{bad}" for k in PER_PARAM[name]]
    exc = raised(lambda: b.load_state_dict(a.state_dict()))
    if not isinstance(exc, ValueError):
        checks.fail(f"{what} must raise ValueError.",
                    "nothing was raised" if exc is None else f"got {type(exc).__name__}: {exc}",
                    hint="compare each array's shape with its parameter's, and each index with "
                         "len(self.params), before assigning anything")
    if not any(k in str(exc) for k in keys):
        checks.fail(f"{what}: the ValueError must name the key that does not fit.",
                    f"message: {str(exc)!r}", hint=f"e.g. {keys[0]!r}")
    same_state(b.state_dict(), before, f"{what}: the optimizer after the refused load", None,
               hint="validate the whole state before assigning anything (the hyperparameters "
                    "included): a refused load changes nothing")
