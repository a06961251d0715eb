"""Hidden tests for kata 05: Compose(transforms).

Oracle: transforms that do not commute (affine maps of a number, each recording its
call), so the result reveals the order in which they ran and what each one was given.
"""
from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.dataloader import Compose, RandomCrop, RandomHorizontalFlip
from tinytorch.core.tensor import Tensor

from dataloader_kit import attempt

SEEDS = st.integers(0, 2**32 - 1)


class Affine:
    """x -> a * x + b, recording every input it is given."""

    def __init__(self, a: int, b: int):
        self.a, self.b, self.seen = a, b, []

    def __call__(self, x):
        self.seen.append(x)
        return self.a * x + self.b

    def __repr__(self) -> str:
        return f"(x -> {self.a}x + {self.b})"


def chain(maps, x):
    for f in maps:
        x = f.a * x + f.b
    return x


MAPS = st.lists(st.tuples(st.integers(2, 4), st.integers(1, 5)), min_size=1, max_size=4)


@given(maps=MAPS, x=st.integers(-5, 5), as_tuple=st.booleans())
@example(maps=[(2, 1), (3, 0)], x=1, as_tuple=False)
@example(maps=[(2, 1), (3, 2), (2, 5)], x=0, as_tuple=True)
def test_compose_applies_the_transforms_in_order(maps, x, as_tuple):
    fs = [Affine(a, b) for a, b in maps]
    inputs = {"transforms": repr(fs), "x": x}
    composed, err = attempt(Compose, tuple(fs) if as_tuple else list(fs))
    if err is not None:
        checks.fail("Compose must accept a list or a tuple of callables.",
                    f"Compose({'a tuple' if as_tuple else 'a list'} of {len(fs)} callable "
                    f"objects) raised {type(err).__name__}: {err}", inputs=inputs,
                    hint="a transform is anything callable (callable(item)), functions and "
                         "objects with __call__ alike; transforms may be a list or a tuple")
    got = composed(x)
    expected = chain(fs, x)
    if got != expected:
        if len(fs) > 1 and got == chain(fs[::-1], x):
            hint = "you applied them in reverse: transforms[0] runs first, on x itself"
        elif len(fs) > 1 and got == chain(fs[-1:], x):
            hint = ("every transform got the original x: give each one the result of the "
                    "previous one (x = transform(x))")
        else:
            hint = "apply transforms[0] to x, then transforms[1] to that result, and so on"
        checks.fail(f"Compose({'tuple' if as_tuple else 'list'} of transforms)(x) must apply "
                    "the transforms in order.", f"got {got!r}, expected {expected!r}",
                    inputs=inputs, hint=hint)
    calls = [len(f.seen) for f in fs]
    if calls != [1] * len(fs):
        checks.fail("Compose(transforms)(x) must call each transform exactly once.",
                    f"calls per transform: {calls}", inputs=inputs)


@given(x=checks.arrays(dtype=np.float32, shape=(2, 3)))
@settings(max_examples=5)
@example(x=np.arange(6, dtype=np.float32).reshape(2, 3))
def test_empty_compose_returns_its_input(x):
    t = Tensor(x)
    for empty in ([], ()):
        got = Compose(empty)(t)
        if got is not t:
            checks.fail(f"Compose({empty!r})(x) must return x itself.",
                        f"got {type(got).__name__}: {checks.fmt(got)}", inputs={"x": x},
                        hint="with no transforms there is nothing to apply: return x as it came "
                             "(start from x, not from None)")


@settings(max_examples=5)  # two augmentations per example
@given(seed=SEEDS, padding=st.integers(0, 1))
@example(seed=0, padding=1)
def test_compose_chains_the_augmentations(seed, padding):
    x = np.arange(1, 13, dtype=np.float32).reshape(3, 4)
    inputs = {"x": x, "transforms": f"[RandomHorizontalFlip(p=1, seed={seed}), "
                                    f"RandomCrop(3, padding={padding}, seed={seed})]"}
    composed, err = attempt(Compose, [RandomHorizontalFlip(p=1.0, seed=seed),
                                      RandomCrop(3, padding, seed=seed)])
    if err is not None:
        checks.fail("Compose must accept any callable, the augmentations of this kata included.",
                    f"Compose([flip, crop]) raised {type(err).__name__}: {err}", inputs=inputs,
                    hint="check callable(item): an object with __call__ is a transform too")
    flip, crop = RandomHorizontalFlip(p=1.0, seed=seed), RandomCrop(3, padding, seed=seed)
    for call in range(3):
        expected = crop(flip(Tensor(x)))
        checks.check_array(composed(Tensor(x)), expected.data,
                           f"call {call + 1} of Compose([flip, crop])(x)", inputs=inputs,
                           type_=Tensor, dtype=np.float32,
                           hint="Compose([f, g])(x) is g(f(x)): crop the flipped image")


def test_compose_keeps_its_own_copy_of_the_list():
    double, plus_one = Affine(2, 0), Affine(1, 1)
    transforms = [double]
    composed = Compose(transforms)
    transforms.append(plus_one)
    transforms[0] = plus_one
    got = composed(5)
    if got != 10:
        checks.fail("Compose must keep its own copy of the transforms.",
                    f"Compose([double])(5) gave {got!r} after the caller's list was changed to "
                    "[plus_one, plus_one]; expected 10", hint="store tuple(transforms) (or a "
                    "list copy), not the caller's list itself")


BAD = {
    "a number in the list": lambda: [RandomHorizontalFlip(p=1.0), 3],
    "a string in a tuple": lambda: (lambda x: x, "crop"),
    "a single transform, not in a list": lambda: RandomHorizontalFlip(p=1.0),
    "None in the list": lambda: [None],
}


@given(kind=st.sampled_from(list(BAD)))
@settings(max_examples=4)
@example(kind="a number in the list")
@example(kind="a single transform, not in a list")
def test_compose_rejects_what_is_not_a_list_of_callables(kind):
    transforms = BAD[kind]()
    inputs = {"transforms": f"{kind}: {transforms!r}"}
    _, err = attempt(Compose, transforms)
    if isinstance(err, TypeError):
        if "transforms" not in str(err):
            checks.fail("The TypeError of Compose must name the argument `transforms`.",
                        f"your message: {str(err)!r}", inputs=inputs,
                        hint="say what is wrong with `transforms` (which item, and why), e.g. "
                             "Compose(transforms): transforms[1] = 3 is not callable")
        return
    if err is not None:
        checks.fail(f"Compose({kind}) must raise TypeError.", f"it raised {type(err).__name__}: "
                    f"{err}", inputs=inputs)
    checks.fail(f"Compose({kind}) must raise TypeError in __init__.", "it was accepted",
                inputs=inputs, hint="check in __init__ that transforms is a list or tuple and "
                                    "that every item is callable (callable(item)): the mistake "
                                    "is made there, not at the first call")
