"""Hidden tests for kata 05: RandomHorizontalFlip and RandomCrop.

Oracles: NumPy's flip and pad computed here; involution (two flips are the identity);
an image whose pixels encode their own coordinates, so a crop reveals which window it
took, and many crops must reach every window position.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.dataloader import RandomCrop, RandomHorizontalFlip
from tinytorch.core.tensor import Tensor

SEEDS = st.integers(0, 2**32 - 1)
IMAGES_DTYPES = st.sampled_from([np.float32, np.float64]).flatmap(
    lambda dt: checks.arrays(shape=checks.shapes(min_dims=2, max_dims=3, max_side=4),
                             dtype=dt, unique=True))
EX_2x3 = np.arange(6, dtype=np.float32).reshape(2, 3)
EX_2x2x3 = np.arange(12, dtype=np.float64).reshape(2, 2, 3)


def flip_wrong_answers(x):
    wrong = [(np.flip(x, axis=-2), "you flipped axis -2 (upside down): a horizontal flip "
                                   "mirrors the last axis, W")]
    if x.ndim == 3:
        wrong.append((np.flip(x, axis=0), "you flipped axis 0: a horizontal flip mirrors the "
                                          "last axis, W"))
    return wrong


def unchanged_input(x_before, t, what, inputs):
    checks.check_array(t, x_before, f"the input after {what}", inputs=inputs,
                       hint="an augmentation returns a new Tensor; it must not modify its input")


# ---------------------------------------------------------------- flips

@given(x=IMAGES_DTYPES, seed=SEEDS)
@example(x=EX_2x3, seed=0)
@example(x=EX_2x2x3, seed=1)
def test_flip_p1_mirrors_last_axis(x, seed):
    flip = RandomHorizontalFlip(p=1.0, seed=seed)
    t = Tensor(x)
    inputs = {"x": x, "p": 1.0, "seed": seed}
    got = flip(t)
    checks.check_array(got, np.flip(x, axis=-1), "RandomHorizontalFlip(p=1)(x)", inputs=inputs,
                       type_=Tensor, dtype=x.dtype,
                       wrong=flip_wrong_answers(x) + [(x, "with p=1 the image must always be "
                                                          "flipped: flip with probability p")],
                       hint="mirror the last axis (W) of the image")
    unchanged_input(x, t, "RandomHorizontalFlip(p=1)", inputs)
    twice = flip(got)
    checks.check_array(twice, x, "flipping twice, RandomHorizontalFlip(p=1) applied two times",
                       inputs=inputs, type_=Tensor, dtype=x.dtype,
                       hint="a horizontal flip is its own inverse")


@given(x=IMAGES_DTYPES, seed=SEEDS)
@example(x=EX_2x3, seed=0)
def test_flip_p0_is_identity(x, seed):
    flip = RandomHorizontalFlip(p=0.0, seed=seed)
    t = Tensor(x)
    inputs = {"x": x, "p": 0.0, "seed": seed}
    for call in range(3):
        checks.check_array(flip(t), x, f"call {call + 1} of RandomHorizontalFlip(p=0)(x)",
                           inputs=inputs, type_=Tensor, dtype=x.dtype,
                           wrong=[(np.flip(x, axis=-1), "with p=0 the image must never be "
                                                        "flipped: flip with probability p")],
                           hint="p=0 returns the image unchanged")
    unchanged_input(x, t, "RandomHorizontalFlip(p=0)", inputs)


def per_channel_flips(got, x) -> bool:
    """Every channel is either as it was or mirrored, but not all alike."""
    data = np.asarray(getattr(got, "data", got))
    if data.shape != x.shape:
        return False
    each = [np.array_equal(g, c) or np.array_equal(g, np.flip(c, -1)) for g, c in zip(data, x)]
    return all(each)


@settings(max_examples=5)  # 400 calls per example
@given(seed=SEEDS)
@example(seed=0)
def test_flip_happens_with_probability_p(seed):
    x = EX_2x2x3  # two channels: one coin per call flips both or neither
    flip = RandomHorizontalFlip(p=0.25, seed=seed)
    flipped = 0
    inputs = {"x": x, "p": 0.25, "seed": seed}
    for call in range(300):
        got = flip(Tensor(x))
        if not isinstance(got, Tensor):
            checks.fail("RandomHorizontalFlip must return a Tensor.",
                        f"got {type(got).__name__}", inputs=inputs)
        if np.array_equal(got.data, np.flip(x, axis=-1)):
            flipped += 1
        elif not np.array_equal(got.data, x):
            checks.fail("Each call must return the image either unchanged or mirrored.",
                        f"call {call + 1} returned {checks.fmt(got)}", inputs=inputs,
                        hint="one coin per call decides for the whole image: every channel is "
                             "mirrored, or none is (you flipped channels separately)"
                        if per_channel_flips(got, x) else
                        "one coin per call decides: mirror the last axis, or return the "
                        "image as is")
    default = RandomHorizontalFlip(seed=seed)  # p=0.5
    halves = sum(bool(np.array_equal(default(Tensor(x)).data, np.flip(x, axis=-1)))
                 for _ in range(100))
    if not 25 <= halves <= 75:  # Binomial(100, 0.5): mean 50, sd 5
        checks.fail("RandomHorizontalFlip() must flip with p=0.5 by default.",
                    f"{halves} of 100 calls flipped (expected about 50)", inputs={"seed": seed},
                    hint="def __init__(self, p=0.5, seed=None)")
    if not 40 <= flipped <= 110:  # Binomial(300, 0.25): mean 75, sd 7.5
        checks.fail("Flips must happen with probability p.",
                    f"{flipped} of 300 calls flipped with p=0.25 (expected about 75)",
                    inputs=inputs,
                    hint=("you flip with probability 1 - p: flip when the random draw is below p"
                          if 190 <= flipped <= 260 else
                          "draw one uniform number per call and flip when it is below p"))


@given(seed=SEEDS)
@example(seed=0)
def test_flip_same_seed_same_flips(seed):
    x = EX_2x3
    runs = []
    for _ in range(2):
        flip = RandomHorizontalFlip(p=0.5, seed=seed)
        runs.append([bool(np.array_equal(flip(Tensor(x)).data, x)) for _ in range(20)])
    if runs[0] != runs[1]:
        checks.fail("Two RandomHorizontalFlip with the same seed must make the same choices.",
                    f"kept (True) or flipped (False) per call:\n{runs[0]}\n{runs[1]}",
                    inputs={"seed": seed},
                    hint="draw the coins from np.random.default_rng(seed), created once")


# ---------------------------------------------------------------- crops

@st.composite
def crop_cases(draw, dtypes=(np.float32, np.float64)):
    dtype = draw(st.sampled_from(dtypes))
    lead = draw(st.lists(st.integers(1, 3), max_size=1))
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    padding = draw(st.integers(0, 2))
    size = draw(st.integers(1, min(h, w) + 2 * padding))
    x = draw(checks.arrays(shape=(*lead, h, w), dtype=dtype, lo=1.0, hi=10.0, unique=True))
    return x, size, padding


def padded(x, padding):
    return np.pad(x, [(0, 0)] * (x.ndim - 2) + [(padding, padding)] * 2)


@given(case=crop_cases(), seed=SEEDS)
@example(case=(np.arange(1, 13, dtype=np.float32).reshape(3, 4), 3, 0), seed=0)
@example(case=(np.arange(1, 10, dtype=np.float64).reshape(1, 3, 3), 5, 1), seed=0)
@example(case=(np.arange(1, 33, dtype=np.float32).reshape(2, 4, 4), 3, 0), seed=0)
def test_crop_is_a_window_of_padded_input(case, seed):
    x, size, padding = case
    t = Tensor(x)
    inputs = {"x": x, "size": size, "padding": padding, "seed": seed}
    got = RandomCrop(size, padding=padding, seed=seed)(t)
    if not isinstance(got, Tensor):
        checks.fail("RandomCrop must return a Tensor.", f"got {type(got).__name__}", inputs=inputs)
    checks.check_shape(got.data, (*x.shape[:-2], size, size), "RandomCrop(size, padding)(x)",
                       inputs=inputs, hint="crop only the last two axes (H, W) to size x size; "
                                           "leading axes (channels) stay")
    if got.data.dtype != x.dtype:
        checks.fail("RandomCrop(size, padding)(x) has the wrong dtype.",
                    f"got {got.data.dtype}, expected {x.dtype}", inputs=inputs,
                    hint="padding and cropping must keep the image's dtype")
    big = padded(x, padding)
    H, W = big.shape[-2:]
    windows = [(i, j) for i in range(H - size + 1) for j in range(W - size + 1)
               if np.array_equal(big[..., i:i + size, j:j + size], got.data)]
    if not windows:
        checks.fail("RandomCrop's output must be a size x size window of the input after "
                    "zero-padding every side of H and W by `padding`.",
                    f"got {checks.fmt(got)}\nwhich is no window of the padded input "
                    f"{checks.fmt(big)}", inputs=inputs,
                    hint="pad top, bottom, left and right with zeros, then take one contiguous "
                         "window (the same window for every leading channel)")
    unchanged_input(x, t, "RandomCrop", inputs)


@given(side=st.integers(1, 5), lead=st.lists(st.integers(1, 3), max_size=1), seed=SEEDS)
@example(side=3, lead=[], seed=0)
def test_crop_full_size_without_padding_is_identity(side, lead, seed):
    x = np.arange(1, side * side * int(np.prod(lead)) + 1, dtype=np.float32).reshape(*lead, side, side)
    inputs = {"x": x, "size": side, "padding": 0, "seed": seed}
    crops = {"RandomCrop(size=H, padding=0)(x)": RandomCrop(side, padding=0, seed=seed),
             "RandomCrop(size=H)(x), padding by default": RandomCrop(side, seed=seed)}
    for call, (what, crop) in enumerate(crops.items()):
        checks.check_array(crop(Tensor(x)), x, what, inputs=inputs, type_=Tensor, dtype=np.float32,
                           hint="when the window is as large as the image there is one position: "
                                "the image itself" + ("; padding defaults to 0" if call else ""))


def coordinate_image(h, w):
    """Channel 0 holds row + 1, channel 1 holds column + 1: zero only in the padding."""
    rows, cols = np.meshgrid(np.arange(1, h + 1), np.arange(1, w + 1), indexing="ij")
    return np.stack([rows, cols]).astype(np.float64)


def crop_coverage_hint(never, last, padding):
    if never[0] == [last[0]] or never[1] == [last[1]]:
        return ("the last window position (offset H + 2*padding - size) was never chosen: "
                "mind that integers(low, high) excludes high")
    if padding and (never[0] == list(range(last[0] - padding + 1, last[0] + 1))
                    or never[1] == list(range(last[1] - padding + 1, last[1] + 1))):
        return ("the last `padding` positions were never chosen: pad both sides (top and "
                "bottom, left and right), not only one")
    return ("the window's top and left offsets must each be uniform over all positions, "
            "including the padded border")


def is_window(image, part) -> bool:
    """Whether `part` is some window of the 2-D `image`."""
    s = part.shape[-1]
    return any(np.array_equal(image[i:i + s, j:j + s], part)
               for i in range(image.shape[0] - s + 1) for j in range(image.shape[1] - s + 1))


@st.composite
def window_cases(draw):
    h, w, padding = draw(st.integers(2, 5)), draw(st.integers(2, 5)), draw(st.integers(0, 2))
    size = draw(st.integers(padding + 1, min(h, w) + 2 * padding - 1))  # >= 2 positions
    return h, w, padding, size


@settings(max_examples=5)  # 120 crops per example
@given(case=window_cases(), seed=SEEDS)
@example(case=(4, 4, 0, 3), seed=0)
@example(case=(4, 5, 2, 4), seed=0)
def test_crop_reaches_every_window_position(case, seed):
    h, w, padding, size = case
    x = coordinate_image(h, w)
    big = padded(x, padding)
    H, W = big.shape[-2:]
    inputs = {"x": f"a 2-channel {h}x{w} image (row and column numbers)", "size": size,
              "padding": padding, "seed": seed}
    crop = RandomCrop(size, padding=padding, seed=seed)
    tops, lefts = set(), set()
    for call in range(120):
        got = crop(Tensor(x))
        if not isinstance(got, Tensor) or got.data.shape != (2, size, size):
            checks.fail("RandomCrop(size, padding)(x) has the wrong type or shape.",
                        f"got {type(got).__name__} of shape {getattr(got, 'shape', None)}, "
                        f"expected Tensor of shape {(2, size, size)}", inputs=inputs)
        # size > padding, so every window holds image pixels; they tell where it sits
        r, c = np.argwhere(got.data[0] > 0)[0] if np.any(got.data[0] > 0) else (-1, -1)
        top = int(got.data[0, r, c]) - 1 + padding - r if r >= 0 else -1
        left = int(got.data[1, r, c]) - 1 + padding - c if r >= 0 else -1
        if not (0 <= top <= H - size and 0 <= left <= W - size) or not np.array_equal(
                big[:, top:top + size, left:left + size], got.data):
            checks.fail("RandomCrop's output must be a size x size window of the zero-padded "
                        "input (one window for all channels).",
                        f"call {call + 1} returned {checks.fmt(got)}", inputs=inputs,
                        hint="each channel is a window of its own, but not the same one: draw "
                             "one window per call for all leading axes"
                        if all(is_window(c, g) for c, g in zip(big, got.data)) else
                        "pad every side of H and W with zeros, then take one window")
        tops.add(top)
        lefts.add(left)
    never = sorted(set(range(H - size + 1)) - tops), sorted(set(range(W - size + 1)) - lefts)
    if never[0] or never[1]:
        last = (H - size, W - size)
        checks.fail("Every window position inside the padded image must be possible.",
                    f"after 120 crops, top offsets {never[0]} and left offsets {never[1]} were "
                    f"never chosen (valid offsets: top 0..{last[0]}, left 0..{last[1]} in the "
                    f"padded image of size {H}x{W})", inputs=inputs,
                    hint=crop_coverage_hint(never, last, padding))


@given(h=st.integers(1, 4), w=st.integers(1, 4), padding=st.integers(0, 2), extra=st.integers(1, 2))
@example(h=3, w=3, padding=0, extra=1)
def test_crop_larger_than_padded_image_raises(h, w, padding, extra):
    size = min(h, w) + 2 * padding + extra
    x = np.ones((h, w), np.float32)
    try:
        RandomCrop(size, padding=padding, seed=0)(Tensor(x))
    except ValueError:
        return
    checks.fail(f"RandomCrop({size}, padding={padding}) on a {h}x{w} image must raise ValueError.",
                f"a {size}x{size} window does not fit in the padded "
                f"{h + 2 * padding}x{w + 2 * padding} image",
                inputs={"size": size, "padding": padding},
                hint="check the window fits before cropping; NumPy slicing would silently "
                     "return a smaller array")


def test_code_comes_from_kata():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    checks.check_array(RandomHorizontalFlip(p=1.0, seed=0)(Tensor(x)), np.flip(x, -1),
                       "RandomHorizontalFlip(p=1)(x)", type_=Tensor, dtype=np.float32)
    checks.check_shape(RandomCrop(2, seed=0)(Tensor(x)).data, (2, 2), "RandomCrop(2)(x)")
    checks.assert_from_kata(RandomHorizontalFlip, "05_dataloader")
    checks.assert_from_kata(RandomCrop, "05_dataloader")


# ---------------------------------------------------------------- new Tensors, own generators

IMAGE = np.arange(1, 19, dtype=np.float32).reshape(2, 3, 3)
MADE = {
    "RandomHorizontalFlip(p=1)": lambda seed: RandomHorizontalFlip(p=1.0, seed=seed),
    "RandomHorizontalFlip(p=0)": lambda seed: RandomHorizontalFlip(p=0.0, seed=seed),
    "RandomCrop(3) of a 3x3 image": lambda seed: RandomCrop(3, padding=0, seed=seed),
    "RandomCrop(2)": lambda seed: RandomCrop(2, padding=0, seed=seed),
    "RandomCrop(3, padding=1)": lambda seed: RandomCrop(3, padding=1, seed=seed),
}


@pytest.mark.parametrize("name", list(MADE))
def test_augmentations_return_a_new_tensor_sharing_no_memory(name):
    t = Tensor(IMAGE.copy())
    inputs = {"x": IMAGE, "augmentation": name}
    out = MADE[name](0)(t)
    if out is t:
        checks.fail(f"{name}(x) must return a new Tensor, not x itself.", inputs=inputs,
                    hint="also when the image comes back unchanged: return Tensor(a copy), so "
                         "that later writes into the result cannot reach the input")
    if not isinstance(out, Tensor) or not isinstance(out.data, np.ndarray):
        checks.fail(f"{name}(x) must return a Tensor.", f"got {type(out).__name__}",
                    inputs=inputs)
    if np.shares_memory(out.data, t.data):
        checks.fail(f"{name}(x) must share no memory with x: writing into the result would "
                    "change the input, and writing into the input would change the result.",
                    "np.shares_memory(result.data, x.data) is True", inputs=inputs,
                    hint="np.flip and slicing return views of the same memory; copy the "
                         "result (.copy()) before wrapping it, unless your Tensor copies")
    unchanged_input(IMAGE, t, name, inputs)


OWN = {
    "RandomHorizontalFlip": lambda seed: RandomHorizontalFlip(p=0.5, seed=seed),
    "RandomCrop": lambda seed: RandomCrop(2, padding=1, seed=seed),
}


@pytest.mark.parametrize("name", list(OWN))
@settings(max_examples=5)  # 36 calls per example
@given(seed=SEEDS)
@example(seed=0)
def test_augmentations_draw_from_their_own_generator(name, seed):
    x = IMAGE
    inputs = {"x": x, "augmentation": f"{name}(..., seed={seed})"}
    before = np.random.get_state()[1].tobytes(), np.random.get_state()[2]
    one = OWN[name](seed)
    alone = [one(Tensor(x)).data for _ in range(12)]
    if (np.random.get_state()[1].tobytes(), np.random.get_state()[2]) != before:
        checks.fail(f"{name} must not touch NumPy's global random state.",
                    "building it and calling it 12 times changed np.random's state",
                    inputs=inputs, hint="draw from self.rng = np.random.default_rng(seed), created "
                                        "once in __init__, never from np.random.*")
    a, b, c = OWN[name](seed), OWN[name](seed), OWN[name](seed)
    got = {"a": [], "b": [], "c": []}
    for _ in range(12):
        got["a"].append(a(Tensor(x)).data)  # a and b alternate ...
        got["b"].append(b(Tensor(x)).data)
        np.random.seed(len(got["c"]))  # ... and c runs beside other users of np.random
        np.random.random(2)
        got["c"].append(c(Tensor(x)).data)
    for who, outs in got.items():
        first = next((k for k, (o, e) in enumerate(zip(outs, alone))
                      if not np.array_equal(o, e)), None)
        if first is not None:
            how = ("called alternately with another one of the same seed" if who != "c" else
                   "with np.random used between calls")
            checks.fail(f"Two {name}s with the same seed must make the same choices, {how}.",
                        f"call {first + 1} differs: alone {checks.fmt(alone[first])}, "
                        f"here {checks.fmt(outs[first])}", inputs=inputs,
                        hint="each augmentation needs its own generator, made once in __init__ "
                             "from its seed; a generator shared between instances, or NumPy's "
                             "global state, is advanced by every user")
