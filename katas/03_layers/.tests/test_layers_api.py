"""Hidden tests for kata 03 (layers), part 2: the names TinyTorch's learners know.

Layer.__call__ passes extra arguments on; Dropout.forward(x, training=None) and
Sequential.forward(x, training=None) override the mode for one call and leave every
layer's own mode as it was; Sequential takes one list or tuple of layers and refuses, by
position, whatever is not a layer; every new layer starts in training mode.
"""
from __future__ import annotations

import re

import numpy as np

from pytest_tinytorch import checks
from tinytorch.core.activations import ReLU, Tanh
from tinytorch.core.layers import Dropout, Layer, Linear, Sequential
from tinytorch.core.tensor import Tensor

from layers_kit import MISSING, build, call, modes, raised

F32 = np.float32
MODE_ARG = ("training=None follows self.training; True or False override the mode for this "
            "one call only: use a local variable, never assign to self.training in forward")
SEQ_MODE = ("with training=True/False, set the mode of every sub-layer (train(mode) reaches "
            "them all, nested ones included), run the items, then put each layer's own mode "
            "back (remember them all first), in a `finally:` so that an error restores them too")


class Recorder(Layer):
    """Passes x through and notes the mode it ran in (a custom layer with forward(x) only)."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(self.training)
        return x


class Block(Layer):
    """A custom layer holding a Dropout: the mode reaches it only through `training`."""

    def __init__(self, p=0.5):
        super().__init__()
        self.drop = Dropout(p)

    def forward(self, x):
        return self.drop(x)


class Doubler:
    """Not a Layer and not callable: an object with a forward method is a layer too."""

    def forward(self, x):
        return x * 2.0


class Boom(Layer):
    def forward(self, x):
        raise RuntimeError("boom: a sub-layer failed")


# ---------------------------------------------------------------- Layer

def test_layer_call_passes_extra_arguments_to_forward():
    class Probe(Layer):
        def forward(self, x, *args, **kwargs):
            return (x, args, kwargs)

    probe = build(Probe, "Probe() (a Layer subclass without __init__)")
    x = Tensor(np.ones(2, F32))
    for args, kwargs in (((), {}), ((3,), {}), ((3, "b"), {"scale": 2.0, "training": False})):
        shown = ", ".join(["x", *map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
        got, err = raised(probe, x, *args, **kwargs)
        if err is not None:
            checks.fail(f"layer({shown}) must call layer.forward({shown}).",
                        f"__call__ raised {type(err).__name__}: {err}",
                        hint="Layer.__call__(self, x, *args, **kwargs) returns "
                             "self.forward(x, *args, **kwargs)")
        if not (isinstance(got, tuple) and len(got) == 3 and got[0] is x and got[1] == args
                and got[2] == kwargs):
            checks.fail(f"layer({shown}) must call layer.forward({shown}).",
                        f"forward received {got!r}",
                        hint="pass every extra argument on unchanged, positional and keyword, "
                             "and add none")


def test_new_layers_start_in_training_mode():
    made = {"Layer()": lambda: Layer(), "Linear(2, 3)": lambda: Linear(2, 3),
            "Dropout(0.3)": lambda: Dropout(0.3), "Sequential()": lambda: Sequential(),
            "Sequential(Linear(2, 2), ReLU())": lambda: Sequential(Linear(2, 2), ReLU())}
    for what, factory in made.items():
        layer = build(factory, what)
        mode = getattr(layer, "training", MISSING)
        if mode is MISSING:
            checks.fail(f"A new {what} must be in training mode.", "it has no attribute training",
                        hint="every subclass's __init__ calls super().__init__() first, which sets "
                             "self.training = True")
        if mode is not True:
            checks.fail(f"A new {what} must be in training mode.", f"training is {mode!r}",
                        hint="Layer.__init__ sets self.training = True")


# ---------------------------------------------------------------- Dropout(x, training=...)

def _zeros(out):
    data = np.asarray(getattr(out, "data", out))
    return int(np.sum(data == 0))


def test_dropout_training_argument_overrides_the_mode_for_one_call():
    x = np.ones(400, F32)
    xt = Tensor(x)
    drop = Dropout(0.5)
    np.random.seed(0)
    out = call(drop.forward, xt, "Dropout(0.5).forward(x, training=False)", training=False)
    checks.check_array(out, x, "Dropout(0.5).forward(x, training=False) in training mode",
                       inputs={"x": x}, type_=Tensor, dtype=F32, rtol=0, atol=0,
                       hint="training=False turns dropout off for this call: return x unchanged")
    if drop.training is not True:
        checks.fail("Dropout.forward(x, training=False) must leave self.training unchanged.",
                    f"self.training is now {drop.training!r}, expected True", hint=MODE_ARG)
    out = call(drop, xt, "Dropout(0.5)(x, training=False) (via __call__)", training=False)
    checks.check_array(out, x, "Dropout(0.5)(x, training=False) (via __call__)", inputs={"x": x},
                       type_=Tensor, dtype=F32, rtol=0, atol=0,
                       hint="Layer.__call__ must pass training= on to forward")
    drop.eval()
    out = call(drop.forward, xt, "Dropout(0.5).forward(x, training=True) after eval()", training=True)
    dropped = _zeros(out)
    if not 120 <= dropped <= 280:
        checks.fail("Dropout(0.5).forward(x, training=True) after eval() must drop about half of "
                    "400 ones.", f"it zeroed {dropped}", hint=MODE_ARG)
    checks.check_array(out, np.where(np.asarray(out.data) == 0, 0.0, 2.0),
                       "Dropout(0.5).forward(x, training=True): every element 0 or x / (1 - p)",
                       inputs={"x": x}, type_=Tensor, dtype=F32)
    if drop.training is not False:
        checks.fail("Dropout.forward(x, training=True) must leave self.training unchanged.",
                    f"self.training is now {drop.training!r}, expected False", hint=MODE_ARG)
    out = call(drop.forward, xt, "Dropout(0.5).forward(x) in eval mode")
    checks.check_array(out, x, "Dropout(0.5).forward(x) (training=None) in eval mode",
                       inputs={"x": x}, type_=Tensor, dtype=F32, rtol=0, atol=0, hint=MODE_ARG)
    drop.train()
    out = call(drop.forward, xt, "Dropout(0.5).forward(x) in training mode")
    if not 120 <= _zeros(out) <= 280:
        checks.fail("Dropout(0.5).forward(x) (training=None) in training mode must drop about "
                    "half of 400 ones.", f"it zeroed {_zeros(out)}",
                    hint="training=None means self.training, not False: test `training is None`")


# ---------------------------------------------------------------- Sequential(...) construction

def test_sequential_accepts_one_list_or_tuple():
    x = np.array([[1.0, -2.0, 0.5], [-1.0, 2.0, 3.0]], F32)
    l1, act, l2 = Linear(3, 4), Tanh(), Linear(4, 2)
    items = [l1, act, l2]
    expected = l2(act(l1(Tensor(x)))).data
    for container in (list, tuple):
        given = container(items)
        what = f"Sequential({'[l1, Tanh(), l2]' if container is list else '(l1, Tanh(), l2)'})"
        seq = build(lambda: Sequential(given), what,
                    hint="one list or tuple given alone holds the layers: "
                         "Sequential([l1, l2]) is Sequential(l1, l2)")
        layers = getattr(seq, "layers", None)
        if type(layers) is not list or len(layers) != 3 or any(a is not b for a, b in zip(layers, items)):
            checks.fail(f"{what}.layers must be the list [l1, Tanh(), l2].", f"got {layers!r}",
                        hint="unpack one list or tuple given alone, and store its items as a new list")
        if layers is given:
            checks.fail(f"{what}.layers must be a new list, not the list you passed.",
                        hint="copy it (list(items)): otherwise appending to your own list later "
                             "would change the model behind its back")
        got = call(seq, Tensor(x), what, inputs={"x": x})
        checks.check_array(got, expected, f"{what}(x) must equal l2(tanh(l1(x)))", inputs={"x": x},
                           type_=Tensor, dtype=F32)
    single = build(lambda: Sequential(l1), "Sequential(l1)")
    if type(single.layers) is not list or len(single.layers) != 1 or single.layers[0] is not l1:
        checks.fail("Sequential(l1).layers must be [l1].", f"got {single.layers!r}",
                    hint="only a list or tuple given alone is unpacked; one layer is one item")


def test_sequential_applies_any_object_with_a_forward():
    x = np.array([[1.0, -2.0, 0.5]], F32)
    lin = Linear(3, 2)
    seq = build(lambda: Sequential(lin, Doubler(), ReLU()),
                "Sequential(Linear(3, 2), Doubler(), ReLU()) with Doubler a plain object whose "
                "forward returns 2 * x",
                hint="a layer is a Layer or any object with a callable forward: accept both")
    got = call(seq, Tensor(x), "Sequential(Linear(3, 2), Doubler(), ReLU())(x)", inputs={"x": x},
               hint="call every item as item.forward(x): a plain object with a forward method "
                    "need not be callable itself")
    expected = np.maximum(2.0 * lin(Tensor(x)).data, 0.0)
    checks.check_array(got, expected, "Sequential(Linear(3, 2), Doubler(), ReLU())(x)",
                       inputs={"x": x}, type_=Tensor, dtype=F32)


def _not_layers():
    l1, l2 = Linear(2, 2), Linear(2, 2)
    return [
        ("Sequential(l1, ReLU, l2)", lambda: Sequential(l1, ReLU, l2), 1, ["ReLU"], "a class"),
        ("Sequential(Linear, l1)", lambda: Sequential(Linear, l1), 0, ["Linear"], "a class"),
        ("Sequential(l1, 3.5)", lambda: Sequential(l1, 3.5), 1, ["3.5", "float"], "a number"),
        ("Sequential(None)", lambda: Sequential(None), 0, ["None"], "None"),
        ("Sequential([l1, [l2]])", lambda: Sequential([l1, [l2]]), 1, ["list"], "a nested list"),
        ("Sequential([l1], l2)", lambda: Sequential([l1], l2), 0, ["list"], "a list beside a layer"),
        ("Sequential([l1, ReLU])", lambda: Sequential([l1, ReLU]), 1, ["ReLU"], "a class in the list"),
        ("Sequential(l1, lambda x: x)", lambda: Sequential(l1, lambda x: x), 1, ["function", "lambda"],
         "a function"),
    ]


def test_sequential_rejects_what_is_not_a_layer():
    for what, factory, pos, names, kind in _not_layers():
        seq, err = raised(factory)
        if isinstance(err, TypeError):
            text = str(err)
            if not any(n in text for n in names) or not _names_position(text, pos):
                checks.fail(f"{what} must raise a TypeError naming position {pos} and what it got "
                            f"({kind}).", f"the message was: {text!r}",
                            hint="say which item is wrong and what it is, e.g. 'Sequential "
                                 "argument 1 is the class ReLU, not a layer: did you mean ReLU()?'")
            continue
        if err is not None:
            checks.fail(f"{what} must raise TypeError ({kind} is not a layer).",
                        f"it raised {type(err).__name__}: {err}")
        hint = ("a class has a forward attribute too: check isinstance(item, type) first, an "
                "instance is what Sequential needs" if kind.startswith("a class") else
                "a list inside the one list is not a layer: unpack only one list given alone"
                if "list" in kind else
                "a layer is a Layer or an object with a callable forward; check every item "
                "in __init__, before any call")
        checks.fail(f"{what} must raise TypeError ({kind} is not a layer).",
                    f"it was created: layers = {getattr(seq, 'layers', None)!r}", hint=hint)


def _names_position(text: str, pos: int) -> bool:
    return re.search(rf"(?<![\w.]){pos}(?![\w.])", text) is not None


# ---------------------------------------------------------------- Sequential.forward(x, training=...)

def _model():
    rec, drop, inner_drop, block = Recorder(), Dropout(0.5), Dropout(0.5), Block()
    inner = Sequential(inner_drop)
    seq = Sequential(rec, drop, inner, block, ReLU())
    layers = {"seq": seq, "recorder": rec, "dropout": drop, "inner Sequential": inner,
              "inner dropout": inner_drop, "block": block, "block.drop": block.drop}
    return seq, layers


def _check_modes(layers, expected, what):
    wrong = {n: getattr(l, "training", MISSING) for n, l in layers.items()
             if getattr(l, "training", MISSING) is not expected[n]}
    if wrong:
        checks.fail(f"After {what}, every layer must be back in the mode it had before.",
                    f"modes now: {modes(layers)}\nexpected:  "
                    + ", ".join(f"{n}: {m}" for n, m in expected.items()), hint=SEQ_MODE)


def test_sequential_training_argument_overrides_every_sub_layer_for_one_call():
    x = np.ones((20, 20), F32)
    for override in (False, True):  # the opposite of the mode the model is in
        seq, layers = _model()
        if override:
            seq.eval()
        before = {n: l.training for n, l in layers.items()}
        what = (f"seq.forward(x, training={override}) with seq in "
                f"{'eval' if override else 'training'} mode")
        np.random.seed(1)
        out = call(seq.forward, Tensor(x), what, training=override,
                   hint="call every item as item.forward(x): the mode reaches the items through "
                        "their training attribute, not as an argument (a Linear or an activation "
                        "takes no training=)")
        rec = layers["recorder"]
        if rec.seen != [override]:
            checks.fail(f"{what} must run every sub-layer in {'training' if override else 'eval'} mode.",
                        f"a custom Layer inside saw training = {rec.seen}", hint=SEQ_MODE)
        dropped = _zeros(out)
        if not override and dropped:
            checks.fail(f"{what} must switch every Dropout off, nested and inside custom layers.",
                        f"{dropped} of {x.size} ones were zeroed",
                        hint="passing training= only to items that accept it misses a Dropout "
                             "inside a custom layer; " + SEQ_MODE)
        if override and dropped < x.size // 2:
            checks.fail(f"{what} must switch every Dropout on (three dropouts of p = 0.5 in a row).",
                        f"only {dropped} of {x.size} ones were zeroed", hint=SEQ_MODE)
        _check_modes(layers, before, what)
    seq, layers = _model()
    layers["inner Sequential"].eval()
    layers["recorder"].eval()
    before = {n: l.training for n, l in layers.items()}
    call(seq.forward, Tensor(x), "seq.forward(x, training=True) with some sub-layers in eval mode",
         training=True)
    _check_modes(layers, before, "seq.forward(x, training=True) with the recorder and the inner "
                                 "Sequential in eval mode and the others in training mode")
    out = call(seq, Tensor(x), "seq(x) (training=None)")
    if layers["recorder"].seen[-1] is not False:
        checks.fail("seq(x) with training=None must run each item in its own mode.",
                    "the recorder (in eval mode) saw training = True",
                    hint="with training=None do not touch any mode")
    seq, layers = _model()
    before = {n: l.training for n, l in layers.items()}
    call(seq, Tensor(x), "seq(x, training=False) (via __call__)", training=False)
    if layers["recorder"].seen != [False]:
        checks.fail("seq(x, training=False) must reach forward(x, training=False).",
                    f"the recorder saw training = {layers['recorder'].seen}",
                    hint="Layer.__call__ passes training= on to Sequential.forward")
    _check_modes(layers, before, "seq(x, training=False)")


def test_sequential_restores_the_modes_when_an_item_raises():
    drop, boom = Dropout(0.5), Boom()
    inner = Sequential(Dropout(0.2))
    seq = Sequential(drop, inner, boom)
    layers = {"seq": seq, "dropout": drop, "inner Sequential": inner,
              "inner dropout": inner.layers[0], "failing layer": boom}
    inner.eval()
    before = {n: l.training for n, l in layers.items()}
    what = "seq.forward(x, training=False) where the last item raises RuntimeError"
    _, err = raised(seq.forward, Tensor(np.ones(4, F32)), training=False)
    if err is None:
        checks.fail(f"{what} must let that RuntimeError through.", "it returned normally",
                    hint="restore the modes in a `finally:` block, and do not swallow the error")
    if not isinstance(err, RuntimeError):
        checks.fail(f"{what} must let that RuntimeError through.", f"it raised {type(err).__name__}: {err}")
    _check_modes(layers, before, what)
