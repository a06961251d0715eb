"""Helpers shared by kata 19's hidden tests (not collected: the name is not test_*).

A fake clock whose time moves only while a fake model runs, fake models that record how
they were called, the exact t quantiles (the oracle), and checks of Python numbers.
"""
from __future__ import annotations

import math

import numpy as np

from pytest_tinytorch import checks

F32, F64 = np.float32, np.float64
MB = 1024 ** 2
Z = 1.959963984540054

# t_{0.975, df} for df = 1..200, exact to 12 digits (computed offline with mpmath).
T_EXACT = (
    12.7062047362, 4.30265272975, 3.18244630528, 2.7764451052, 2.57058183564, 2.44691185114,
    2.36462425159, 2.3060041352, 2.2621571628, 2.22813885199, 2.20098516009, 2.17881282967,
    2.16036865646, 2.14478668792, 2.13144954556, 2.11990529922, 2.10981557783, 2.10092204024,
    2.09302405441, 2.08596344727, 2.07961384473, 2.0738730679, 2.06865761042, 2.06389856163,
    2.05953855275, 2.05552943864, 2.05183051648, 2.0484071418, 2.04522964213, 2.0422724563,
    2.0395134464, 2.03693334346, 2.03451529745, 2.03224450932, 2.03010792825, 2.02809400098,
    2.02619246303, 2.02439416391, 2.02269092004, 2.02107539031, 2.01954097044, 2.01808170282,
    2.01669219923, 2.01536757444, 2.01410338888, 2.01289559892, 2.01174051373, 2.01063475762,
    2.00957523713, 2.0085591121, 2.00758377032, 2.00664680506, 2.00574599532, 2.00487928819,
    2.00404478329, 2.00324071885, 2.00246545929, 2.00171748415, 2.00099537809, 2.00029782201,
    1.99962358499, 1.99897151703, 1.99834054252, 1.99772965432, 1.99713790839, 1.99656441895,
    1.99600835403, 1.99546893143, 1.99494541511, 1.99443711177, 1.99394336785, 1.99346356666,
    1.99299712589, 1.99254349518, 1.992102154, 1.99167260964, 1.99125439539, 1.99084706881,
    1.99045021023, 1.99006342125, 1.98968632346, 1.98931855714, 1.98895978018, 1.98860966698,
    1.98826790748, 1.98793420624, 1.98760828159, 1.98728986483, 1.98697869951, 1.9866745407,
    1.98637715442, 1.98608631695, 1.98580181435, 1.98552344187, 1.98525100351, 1.98498431152,
    1.98472318601, 1.98446745451, 1.98421695159, 1.98397151852, 1.98373100296, 1.98349525856,
    1.98326414477, 1.98303752648, 1.9828152738, 1.98259726177, 1.98238337018, 1.98217348331,
    1.98196748974, 1.98176528213, 1.98156675707, 1.98137181488, 1.98118035941, 1.98099229798,
    1.9808075411, 1.98062600246, 1.98044759868, 1.98027224927, 1.98009987646, 1.97993040508,
    1.97976376251, 1.97959987849, 1.97943868509, 1.9792801166, 1.97912410942, 1.97897060199,
    1.9788195347, 1.97867084984, 1.97852449148, 1.97838040545, 1.97823853923, 1.97809884192,
    1.97796126417, 1.97782575809, 1.97769227724, 1.97756077656, 1.97743121231, 1.97730354203,
    1.97717772449, 1.97705371966, 1.97693148863, 1.97681099363, 1.97669219793, 1.97657506583,
    1.97645956263, 1.97634565459, 1.9762333089, 1.97612249361, 1.97601317769, 1.9759053309,
    1.97579892382, 1.97569392782, 1.97559031501, 1.97548805823, 1.97538713106, 1.9752875077,
    1.97518916308, 1.97509207271, 1.97499621277, 1.97490156, 1.97480809175, 1.97471578592,
    1.97462462097, 1.97453457586, 1.97444563009, 1.97435776366, 1.97427095703, 1.97418519114,
    1.9741004474, 1.97401670763, 1.9739339541, 1.97385216949, 1.97377133689, 1.97369143976,
    1.97361246195, 1.97353438771, 1.97345720159, 1.97338088855, 1.97330543384, 1.97323082307,
    1.97315704216, 1.97308407734, 1.97301191514, 1.97294054239, 1.97286994621, 1.972800114,
    1.97273103341, 1.97266269238, 1.9725950791, 1.972528182, 1.97246198977, 1.97239649132,
    1.9723316758, 1.97226753258, 1.97220405127, 1.97214122166, 1.97207903378, 1.97201747784,
    1.97195654425, 1.97189622363,
)


def t_exact(df: int) -> float:
    """The exact 0.975 quantile of Student's t (a four-term expansion beyond df = 200)."""
    if df <= len(T_EXACT):
        return T_EXACT[df - 1]
    z = Z
    return (z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)
            + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * df ** 3)
            + (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / (92160 * df ** 4))


def t_readme(df: int) -> float:
    """What the README prescribes (table, then the two-term expansion): for hints only."""
    table = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
             2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
             2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
    if df <= 30:
        return table[df - 1]
    return Z + (Z ** 3 + Z) / (4 * df) + (5 * Z ** 5 + 16 * Z ** 3 + 3 * Z) / (96 * df ** 2)


def t_one_sided(df: int) -> float:
    """t_{0.95, df} (a 90% two-sided interval), for a hint: a few values suffice."""
    table = {1: 6.313751514675, 2: 2.919985580354, 3: 2.353363434802, 4: 2.131846781665,
             5: 2.015048372669, 6: 1.943180280515, 7: 1.894578605090, 9: 1.833112932653,
             19: 1.729132811521, 29: 1.699127026533}
    return table.get(df, float("nan"))


# ---------------------------------------------------------------- oracles

def stats_of(values) -> dict:
    """The documented statistics, in float64 (the interval with the exact t)."""
    x = np.asarray(values, dtype=F64)
    n = x.size
    mean = float(np.mean(x))
    std = float(np.std(x, ddof=1)) if n > 1 else 0.0
    half = t_exact(n - 1) * std / math.sqrt(n) if n > 1 else 0.0
    return {"count": n, "mean": mean, "std": std, "median": float(np.median(x)),
            "min_val": float(np.min(x)), "max_val": float(np.max(x)),
            "ci_lower": mean - half, "ci_upper": mean + half, "half": half}


# ---------------------------------------------------------------- checks

raised = checks.raised  # the shared helper: NotImplementedError propagates, other crashes are returned


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def close(a, b, rtol=1e-9, atol=1e-12) -> bool:
    return bool(np.isclose(float(a), float(b), rtol=rtol, atol=atol))


def matching(got, expected, wrong, rtol=1e-7):
    """The hint of the wrong answer `got` matches clearly better than `expected`, else ''."""
    for value, why in wrong:
        try:
            value = float(value)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(value):
            continue
        gap = abs(float(got) - value)
        scale = max(abs(value), abs(float(got)), 1e-300)
        if gap <= rtol * scale and abs(float(got) - float(expected)) > 10 * gap:
            return why
    return ""


def check_number(got, expected, what, *, inputs=None, rtol=1e-9, atol=1e-12, wrong=(),
                 hint="", kind=float):
    """A Python number (`kind` float: int or float; `kind` int: an int), then its value."""
    if kind is int:
        if not isinstance(got, int) or isinstance(got, bool):
            checks.fail(f"{what} must be a Python int.", f"got {type(got).__name__}: {got!r}",
                        inputs=inputs, hint=hint if not is_number(got) else "convert with int(...)")
    elif not is_number(got):
        checks.fail(f"{what} must be a Python float.", f"got {type(got).__name__}: {got!r}",
                    inputs=inputs, hint="convert NumPy scalars with float(...)")
    if not math.isfinite(float(got)) and math.isfinite(float(expected)):
        checks.fail(f"{what} must be a finite number.", f"got {got!r}, expected {expected!r}",
                    inputs=inputs, hint=matching(got, expected, wrong) or hint)
    if not close(got, expected, rtol, atol):
        why = (matching(got, expected, wrong)
               or checks.precision_hint(np.asarray(float(got)), np.asarray(float(expected))) or hint)
        checks.fail(f"{what} is wrong.", f"got {float(got)!r}, expected {float(expected)!r}",
                    inputs=inputs, hint=why)


def check_values(got, expected, what, *, inputs=None, rtol=1e-9, atol=1e-9, wrong=(), hint="",
                 count_hint=""):
    """A list of Python floats equal to `expected` (a list), with staged messages."""
    if not isinstance(got, list):
        checks.fail(f"{what} must be a list.", f"got {type(got).__name__}: {checks.fmt(got)}",
                    inputs=inputs, hint="store the values as a list of Python floats")
    if len(got) != len(expected):
        checks.fail(f"{what} has the wrong number of values.",
                    f"got {len(got)} values, expected {len(expected)}\ngot {got!r}", inputs=inputs,
                    hint=count_hint)
    bad = [v for v in got if not isinstance(v, float)]
    if bad:
        checks.fail(f"{what} must hold Python floats.", f"got {type(bad[0]).__name__}: {bad[0]!r}",
                    inputs=inputs, hint="convert each value with float(...): NumPy scalars such as "
                                        "np.float32 are not JSON numbers")
    checks.check_array(np.asarray(got, dtype=F64), np.asarray(expected, dtype=F64), what,
                       inputs=inputs, rtol=rtol, atol=atol,
                       wrong=[(np.asarray(w, dtype=F64), h) for w, h in wrong
                              if np.shape(w) == (len(expected),)],
                       hint=hint)


def json_problem(value, path="report"):
    """Where a value is not plain JSON (a tuple, a NumPy type, a non-str key, NaN), or None."""
    if value is None or isinstance(value, (bool, str)):
        return None
    if isinstance(value, int) and type(value) in (int,):
        return None
    if type(value) is float:
        return None if math.isfinite(value) else f"{path} is {value!r} (not valid JSON)"
    if type(value) is list:
        for i, item in enumerate(value):
            found = json_problem(item, f"{path}[{i}]")
            if found:
                return found
        return None
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not str:
                return f"{path} has the key {key!r} of type {type(key).__name__} (JSON keys are str)"
            found = json_problem(item, f"{path}[{key!r}]")
            if found:
                return found
        return None
    return f"{path} is a {type(value).__module__}.{type(value).__qualname__}: {value!r}"


# ---------------------------------------------------------------- fakes

class FakeClock:
    """Seconds that move only when a fake model runs (advance), from a non-zero start."""

    def __init__(self, start: float = 1000.0):
        self.now = float(start)
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def grad_enabled() -> bool:
    from tinytorch.core.autograd import is_grad_enabled
    return bool(is_grad_enabled())


class Fake:
    """A model: call k advances the clock by durations[k] (0 once they run out), records
    the call, and returns respond(x), else outputs[k], else its input.

    With modes=True it has training/eval()/train() like a kata-03 Layer.
    """

    def __init__(self, name=None, *, clock=None, durations=(), outputs=None, respond=None,
                 modes=False, training=True, params=None, memory=None, fail_at=None, log=None):
        if name is not None:
            self.name = name
        self._clock, self._durations, self._outputs = clock, list(durations), outputs
        self._respond = respond
        self._fail_at = fail_at
        self.calls = []
        self._log = log
        if modes:
            self.training = training
            self.mode_calls = []
        if params is not None:
            self._params = params
        if memory is not None:
            self._memory = memory

    def __call__(self, x):
        k = len(self.calls)
        self.calls.append({"x": x, "grad": grad_enabled(), "training": getattr(self, "training", None)})
        if self._log is not None:
            self._log.append((getattr(self, "name", None), k))
        if self._clock is not None:
            self._clock.advance(self._durations[k] if k < len(self._durations) else 0.0)
        if self._fail_at is not None and k == self._fail_at:
            raise RuntimeError("this fake model fails on purpose")
        if self._respond is not None:
            return self._respond(x)
        if self._outputs is not None:
            return self._outputs[k] if k < len(self._outputs) else self._outputs[-1]
        return x

    def __getattr__(self, item):
        # eval/train/parameters/memory_bytes exist only when the fake was built with them
        d = self.__dict__
        if item in ("eval", "train") and "training" in d:
            def switch(mode=True, _item=item):
                d["mode_calls"].append(_item)
                d["training"] = bool(mode) if _item == "train" else False
                return self
            return switch
        if item == "parameters" and "_params" in d:
            return lambda: list(d["_params"])
        if item == "memory_bytes" and "_memory" in d:
            def memory_bytes():
                if d.get("_log") is not None:
                    d["_log"].append((d.get("name"), "memory"))
                return d["_memory"]
            return memory_bytes
        raise AttributeError(item)


class Param:
    """A parameter as the memory benchmark sees it: an object with .data."""

    def __init__(self, data):
        self.data = data
