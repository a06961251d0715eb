"""Milestone 2017: "Attention is all you need" (Vaswani et al.), on your own framework.

Part one: a small GPT learns to copy and to reverse sequences of digits and continues
unseen sequences with your `generate`; reversing needs to know where each token sits, so
it fails without positions. Part two: a GPT reads TinyTalks (short talks stating facts,
asking about one and answering it) and answers questions about pairs it never saw in
training, which only attention to the right earlier word can do.

Every piece is yours: Tensor, layers, losses, autograd, Adam, clipping and the cosine
schedule, embeddings, attention, LayerNorm, the blocks and GPT. Gates run first, so a
leaking causal mask, missing positions, uniform or zeroed attention, a backward that drops
a term or a wrong loss value fails with a reason instead of hiding behind a figure. The
validation loss is computed here with NumPy from your logits, not by your loss function.
"""
import time

import numpy as np
import pytest

from datasets.tinytalks import bigram_answer, bigram_nll, load_tinytalks
from milestones.common import panel, require
from pytest_tinytorch.checks import fail
from tinytorch import (GPT, Adam, CosineSchedule, CrossEntropyLoss, EmbeddingLayer, LayerNorm,
                       MultiHeadAttention, Tensor, clip_grad_norm, create_causal_mask, enable_autograd,
                       no_grad, scaled_dot_product_attention)

# Part one: x_1..x_n SEP y_1..y_n with y = x (copy) or x reversed.
N_DIGITS, SEP, SEQ_VOCAB = 6, 10, 11
SEQ_STEPS, SEQ_BATCH, SEQ_HELD_OUT = 200, 32, 400
SEQ_THRESHOLD = 0.95
# Part two: TinyTalks, one talk per sequence, "\n" + talk + "\n".
TALK_STEPS, TALK_BATCH = 800, 16
VAL_MARGIN = 1.0  # nats per character below the bigram baseline
ANSWER_THRESHOLD = 0.25  # fraction of the held-out questions answered exactly


@pytest.fixture(scope="module", autouse=True)
def autograd():
    enable_autograd()


# ---------------------------------------------------------------- NumPy references

def np_log_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def np_cross_entropy(logits, targets):
    """Mean over rows of -log_softmax(logits)[n, targets[n]], in float64."""
    lp = np_log_softmax(logits)
    return float(-lp[np.arange(len(targets)), np.asarray(targets, dtype=np.int64)].mean())


def np_attention(q, k, v, allowed=None):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if allowed is not None:
        s = np.where(allowed, s, -np.inf)
    w = np.exp(np_log_softmax(s))
    return w @ v, w


# ---------------------------------------------------------------- gates

def gate_cross_entropy():
    """Your CrossEntropyLoss reports the loss NumPy computes from the same logits."""
    rng = np.random.default_rng(2017)
    z = (3 * rng.standard_normal((6, 5))).astype(np.float32)
    t = rng.integers(0, 5, 6)
    got = float(np.asarray(CrossEntropyLoss()(Tensor(z), Tensor(t)).data))
    expected = np_cross_entropy(z, t)
    if not np.isclose(got, expected, rtol=1e-4, atol=1e-5):
        lp = np_log_softmax(z)[np.arange(6), t]
        hint = ("it equals the SUM over the batch: the loss is the mean" if np.isclose(got, -lp.sum(), rtol=1e-4)
                else "it has the wrong sign" if np.isclose(got, -expected, rtol=1e-4)
                else "check kata 04's forward: mean over the rows of -log_softmax(logits)[n, target_n]")
        fail("Gate: CrossEntropyLoss must report the loss NumPy computes from the same logits.",
             f"your loss {got:.6g}, NumPy {expected:.6g} (logits {z.shape}, targets {t.tolist()})", hint=hint)


def gate_attention():
    """scaled_dot_product_attention weighs values by softmax(QK^T/sqrt(d)), and hides the future."""
    rng = np.random.default_rng(2017)
    q, k, v = (rng.standard_normal((2, 4, 3)) for _ in range(3))
    out, w = scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v))
    out, w = np.asarray(out.data, np.float64), np.asarray(w.data, np.float64)
    exp_out, exp_w = np_attention(q, k, v)
    if w.shape == exp_w.shape and np.allclose(w, 1 / 4, atol=1e-6):
        fail("Gate: attention weights must depend on the scores, but they are uniform.",
             f"every weight is 1/{w.shape[-1]} for queries and keys whose scores differ",
             hint="the scores Q @ K^T / sqrt(d_k) must reach the softmax (not zeros, not a constant)")
    if out.shape == exp_out.shape and np.allclose(out, 0, atol=1e-8):
        fail("Gate: the attention output must not be zero.", "scaled_dot_product_attention returned all zeros",
             hint="the output is weights @ V")
    if out.shape != exp_out.shape or not np.allclose(out, exp_out, rtol=1e-4, atol=1e-6) \
            or not np.allclose(w, exp_w, rtol=1e-4, atol=1e-6):
        fail("Gate: scaled_dot_product_attention must equal softmax(Q K^T / sqrt(d_k)) V.",
             f"weights max error {np.max(np.abs(w - exp_w)) if w.shape == exp_w.shape else 'shape ' + str(w.shape)}")
    causal = np.tril(np.ones((4, 4)))
    _, w = scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), causal)
    w = np.asarray(w.data)
    if np.any(w[:, causal == 0] != 0):
        fail("Gate: with a causal mask, attention must give future keys weight exactly 0.",
             f"weights above the diagonal: {np.round(w[0], 3).tolist()}",
             hint="fill the blocked scores with -inf before the softmax (masked_fill)")


def directional_check(what, params, run, rng, hint):
    """backward of run() against a central difference along one random direction (float64)."""
    for p in params:
        p.grad = None
    out = run()
    v = rng.standard_normal(out.shape)
    out.backward(v)
    if any(p.grad is None for p in params):
        missing = [i for i, p in enumerate(params) if p.grad is None]
        fail(f"Gate: {what}: every input and parameter must receive a gradient.",
             f"inputs/parameters {missing} got none", hint=hint)
    base = [p.data.copy() for p in params]
    dirs = [rng.standard_normal(p.shape) for p in params]
    analytic = sum(float(np.sum(np.asarray(p.grad, np.float64) * u)) for p, u in zip(params, dirs))

    def at(sign):
        for p, b, u in zip(params, base, dirs):
            p.data = b + sign * 1e-6 * u
        return np.asarray(run().data, np.float64)

    numeric = float(np.sum((at(1) - at(-1)) / 2e-6 * v))
    for p, b in zip(params, base):
        p.data, p.grad = b, None
    if not np.isclose(analytic, numeric, rtol=1e-4, atol=1e-6 * np.abs(v).sum()):
        fail(f"Gate: {what}: backpropagated gradients must match finite differences.",
             f"along a random direction: backward gives {analytic:.6g}, finite differences give {numeric:.6g}",
             hint=hint)


def gate_layer_norm():
    rng = np.random.default_rng(1)
    ln = LayerNorm(5)
    x = Tensor(rng.standard_normal((3, 5)), requires_grad=True)
    ln.gamma = Tensor(1 + 0.3 * rng.standard_normal(5), requires_grad=True)
    ln.beta = Tensor(0.3 * rng.standard_normal(5), requires_grad=True)
    directional_check("LayerNorm", [x, ln.gamma, ln.beta], lambda: ln(x), rng,
                      hint="LayerNorm's mean and variance depend on every x of the vector: "
                           "dx = inv * (gx - mean(gx) - xhat * mean(gx * xhat)); a backward that drops "
                           "a term still trains, badly")


def gate_attention_gradients():
    rng = np.random.default_rng(2)
    mha = MultiHeadAttention(4, 2)
    params = mha.parameters()
    for p in params:
        p.data = rng.standard_normal(p.shape) * 0.7
    x = Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    mask = create_causal_mask(3)
    directional_check("MultiHeadAttention", [x] + params, lambda: mha(x, mask), rng,
                      hint="softmax's backward has two terms, s * (g - sum(g * s)) (kata 06), and Q, K and V "
                           "must stay in the graph (no Tensor rebuilt from .data)")


def gate_gpt(model, vocab_size, seq_len, rng):
    """Causality, positions and a gradient for every parameter, on the model about to train."""
    tokens = rng.integers(0, vocab_size, (2, seq_len))
    later = tokens.copy()
    cut = seq_len // 2
    later[:, cut + 1:] = (later[:, cut + 1:] + 1) % vocab_size
    with no_grad():
        a, b = np.asarray(model(Tensor(tokens)).data), np.asarray(model(Tensor(later)).data)
    if not np.allclose(a[:, :cut + 1], b[:, :cut + 1], rtol=1e-5, atol=1e-6):
        fail("Gate: GPT's causal mask leaks: the logits at positions 0..t changed when only later tokens "
             "changed.", f"t = {cut}, largest change {np.max(np.abs(a[:, :cut + 1] - b[:, :cut + 1])):.3g}",
             hint="every block must get create_causal_mask(T): 1 on and below the diagonal, 0 above; a model "
                  "that peeks at the next token learns to copy it and cannot generate")
    with no_grad():
        same = np.asarray(model(Tensor(np.full((1, seq_len), 1))).data)
    if np.allclose(same, same[:, :1], rtol=1e-4, atol=1e-5):  # rounding differs by row length
        fail("Gate: GPT has no positional information: one token repeated gives the same logits at every "
             "position.", f"{seq_len} positions, identical logits",
             hint="attention is blind to order: GPT's embedding_layer must add learned position embeddings")
    targets = rng.integers(0, vocab_size, (2, seq_len))
    logits = model(Tensor(tokens))
    loss = CrossEntropyLoss()(logits.reshape(2 * seq_len, vocab_size), Tensor(targets.reshape(-1)))
    for p in model.parameters():
        p.grad = None
    loss.backward()
    for i, p in enumerate(model.parameters()):
        if p.grad is None or not np.any(np.asarray(p.grad)):
            fail("Gate: every GPT parameter must receive a non-zero gradient.",
                 f"parameter {i} (shape {tuple(p.shape)}) got {'no' if p.grad is None else 'an all-zero'} gradient",
                 hint="is the graph cut somewhere (a Tensor rebuilt from .data)?")
        p.grad = None


def component_gates():
    gate_cross_entropy()
    gate_attention()
    gate_layer_norm()
    gate_attention_gradients()


# ---------------------------------------------------------------- part one: copy and reverse

def digit_batch(rng, size, task, held=frozenset()):
    """Rows x SEP y of length 2n + 1, none of whose x is in `held`."""
    rows = []
    while len(rows) < size:
        x = rng.integers(0, 10, N_DIGITS)
        if tuple(x) not in held:
            rows.append(np.concatenate([x, [SEP], x if task == "copy" else x[::-1]]))
    return np.array(rows, dtype=np.int64)


def generated_accuracy(model, seqs):
    out = model.generate(Tensor(seqs[:, :N_DIGITS + 1]), N_DIGITS, temperature=0)
    return float(np.mean(np.asarray(out.data)[:, N_DIGITS + 1:] == seqs[:, N_DIGITS + 1:]))


def sequence_run(task: str, seed: int = 2017, gate: bool = True, positions: bool = True,
                 steps: int = SEQ_STEPS):
    """(losses, accuracy curve, final accuracy on held-out sequences, sample) of GPT on `task`."""
    np.random.seed(seed)
    rng = np.random.default_rng(seed)
    test = digit_batch(rng, SEQ_HELD_OUT, task)
    held = frozenset(tuple(r[:N_DIGITS]) for r in test)
    n = N_DIGITS
    model = GPT(SEQ_VOCAB, 32, 2, 2, max_seq_len=2 * n)
    if not positions:  # for the calibration: reversing needs positions
        model.embedding_layer = EmbeddingLayer(SEQ_VOCAB, 32, 2 * n, pos_encoding=None)
    if gate:
        gate_gpt(model, SEQ_VOCAB, 2 * n, rng)
    optimizer = Adam(model.parameters(), lr=3e-3)
    ce = CrossEntropyLoss()
    losses, accuracies = [], []
    for step in range(steps):
        seqs = digit_batch(rng, SEQ_BATCH, task, held)
        logits = model(Tensor(seqs[:, :-1]))  # (B, 2n, V): position n + k predicts y_k
        out = logits[:, n:, :].reshape(SEQ_BATCH * n, SEQ_VOCAB)
        loss = ce(out, Tensor(seqs[:, n + 1:].reshape(-1)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.data))
        if step % 25 == 24:
            accuracies.append(generated_accuracy(model, test[:100]))
    final = generated_accuracy(model, test)
    sample = np.asarray(model.generate(Tensor(test[:1, :n + 1]), n, temperature=0).data).astype(int)[0]
    return losses, accuracies, final, sample


def test_attention_copies_and_reverses(record_property):
    component_gates()
    start = time.perf_counter()
    runs = {task: sequence_run(task) for task in ("copy", "reverse")}
    seconds = time.perf_counter() - start

    def show(seq):
        return " ".join("|" if t == SEP else str(t) for t in seq)

    figures = {"task": f"{N_DIGITS} digits, a separator, then the same digits copied or reversed; "
                       f"{SEQ_HELD_OUT} held-out sequences continued by your generate (greedy)",
               "model": f"GPT(vocab {SEQ_VOCAB}, embed 32, 2 layers, 2 heads), Adam 3e-3, batch {SEQ_BATCH}, "
                        f"{SEQ_STEPS} steps per task ({seconds:.0f} s)"}
    curves = {}
    for task, (losses, accuracies, final, sample) in runs.items():
        figures[f"{task}: loss first -> last"] = f"{losses[0]:.3f} -> {losses[-1]:.3f}"
        figures[f"{task}: token accuracy"] = f"{final:.1%} (threshold {SEQ_THRESHOLD:.0%})"
        figures[f"{task}: a held-out sample"] = show(sample)
        curves[f"{task} accuracy"] = accuracies
    panel(record_property, "Milestone 2017, part one: attention copies and reverses", figures, curves)
    for task, (losses, accuracies, final, _) in runs.items():
        require(final >= SEQ_THRESHOLD, f"Milestone: GPT must {task} held-out sequences with "
                f"{SEQ_THRESHOLD:.0%} token accuracy.", f"it reached {final:.1%}; during training "
                f"{[round(a, 2) for a in accuracies]}",
                hint="the gates passed: look at generate (greedy = argmax of the last position) and at "
                     "the optimizer")


# ---------------------------------------------------------------- part two: TinyTalks

def padded(seqs):
    """(ids, mask) of sequences padded with 0 to the longest; mask marks real tokens."""
    width = max(len(s) for s in seqs)
    ids = np.zeros((len(seqs), width), dtype=np.int64)
    real = np.zeros((len(seqs), width), dtype=bool)
    for i, s in enumerate(seqs):
        ids[i, :len(s)], real[i, :len(s)] = s, True
    return ids, real


def validation_nll(model, seqs):
    """Mean NLL per predicted character, computed with NumPy from the model's logits."""
    ids, real = padded(seqs)
    with no_grad():
        logits = np.asarray(model(Tensor(ids[:, :-1])).data, dtype=np.float64)
    nll = -np.take_along_axis(np_log_softmax(logits), ids[:, 1:, None], axis=-1)[..., 0]
    return float(nll[real[:, 1:]].mean())


def answer_rate(model, talks):
    """Fraction of held-out questions whose greedy continuation, up to its '.', is the answer."""
    groups = {}
    for i, (prompt, _) in enumerate(talks.questions):
        groups.setdefault(len(prompt), []).append(i)
    right, examples = 0, []
    for idx in groups.values():
        prompts = np.stack([talks.encode("\n" + talks.questions[i][0]) for i in idx])
        out = np.asarray(model.generate(Tensor(prompts), 10, temperature=0).data).astype(int)
        for i, row in zip(idx, out[:, prompts.shape[1]:]):
            text = talks.decode(row)
            said = text[:text.find(".") + 1] if "." in text else text
            right += said == talks.questions[i][1]
            examples.append((talks.questions[i][0], said))
    return right / len(talks.questions), examples


def talks_run(seed: int = 2017, gate: bool = True, steps: int = TALK_STEPS):
    np.random.seed(seed)
    rng = np.random.default_rng(seed)
    talks = load_tinytalks()
    vocab = len(talks.alphabet)
    train = [talks.encode("\n" + line + "\n") for line in talks.train]
    valid = [talks.encode("\n" + line + "\n") for line in talks.valid]
    context = max(len(s) for s in train + valid) - 1
    model = GPT(vocab, 32, 2, 4, max_seq_len=context)
    if gate:
        gate_gpt(model, vocab, context, rng)
    optimizer = Adam(model.parameters(), lr=8e-3)
    schedule = CosineSchedule(max_lr=8e-3, min_lr=8e-4, total_epochs=steps)
    ce = CrossEntropyLoss()
    losses, val_curve = [], [validation_nll(model, valid)]
    for step in range(steps):
        optimizer.lr = schedule(step)
        ids, real = padded([train[i] for i in rng.integers(0, len(train), TALK_BATCH)])
        logits = model(Tensor(ids[:, :-1]))
        b, t, _ = logits.shape
        keep = np.flatnonzero(real[:, 1:].reshape(-1))  # predict real characters only
        picked = logits.reshape(b * t, vocab)[keep]
        targets = ids[:, 1:].reshape(-1)[keep]
        loss = ce(picked, Tensor(targets))
        if gate and step == 0:  # the loss that drives training is the loss NumPy computes
            expected = np_cross_entropy(np.asarray(picked.data), targets)
            if not np.isclose(float(loss.data), expected, rtol=1e-4, atol=1e-5):
                fail("Gate: CrossEntropyLoss on GPT's logits must equal the loss NumPy computes.",
                     f"your loss {float(loss.data):.6g}, NumPy {expected:.6g}")
        optimizer.zero_grad()
        loss.backward()
        clip_grad_norm(model.parameters(), 1.0)
        optimizer.step()
        losses.append(float(loss.data))
        if step % 100 == 99:
            val_curve.append(validation_nll(model, valid))
    val = validation_nll(model, valid)
    rate, examples = answer_rate(model, talks)
    baseline = bigram_nll(train, valid, vocab)
    stop = int(talks.encode(".")[0])
    said = {}  # a bigram continues from the prompt's last character only
    for p, _ in talks.questions:
        if p[-1] not in said:
            said[p[-1]] = talks.decode(bigram_answer(train, talks.encode(p[-1]), vocab, stop))
    bigram_right = sum(said[p[-1]] == a for p, a in talks.questions)
    prompt = talks.questions[0][0]
    sample = talks.decode(np.asarray(model.generate(Tensor(talks.encode("\n" + prompt)[None]), 12,
                                                    temperature=0).data).astype(int)[0, 1:])
    return {"losses": losses, "val_curve": val_curve, "val": val, "bigram": baseline, "answers": rate,
            "bigram_answers": bigram_right / len(talks.questions), "examples": examples,
            "sample": sample.split("\n")[0], "sizes": (len(train), len(valid), len(talks.questions))}


def test_gpt_answers_tinytalks(record_property):
    component_gates()
    start = time.perf_counter()
    run = talks_run()
    seconds = time.perf_counter() - start
    n_train, n_valid, n_questions = run["sizes"]
    panel(record_property, "Milestone 2017, part two: a GPT answers TinyTalks",
          {"data": f"TinyTalks: {n_train} training talks, {n_valid} validation talks and {n_questions} "
                   "questions about held-out pairs (never seen in training)",
           "model": f"GPT(vocab 29, embed 32, 2 layers, 4 heads, context 63), Adam with a cosine schedule "
                    f"8e-3 -> 8e-4, clipping at 1, batch {TALK_BATCH}, {TALK_STEPS} steps ({seconds:.0f} s)",
           "validation loss (NumPy)": f"{run['val']:.3f} nats/char; bigram baseline {run['bigram']:.3f} "
                                      f"(must be {VAL_MARGIN:.1f} below)",
           "held-out questions": f"{run['answers']:.1%} answered exactly (threshold {ANSWER_THRESHOLD:.0%}; "
                                 f"bigram {run['bigram_answers']:.0%})",
           "a generated answer": run["sample"]},
          {"train loss": run["losses"], "validation loss": run["val_curve"]}, bounds=None)
    require(run["val"] <= run["bigram"] - VAL_MARGIN,
            f"Milestone: the validation loss must be at least {VAL_MARGIN:.1f} nats/char below the bigram "
            "baseline.", f"validation {run['val']:.3f}, bigram {run['bigram']:.3f}",
            hint="the gates passed: check the optimizer, the clipping and the schedule (kata 07 and 08)")
    require(run["answers"] >= ANSWER_THRESHOLD,
            f"Milestone: GPT must answer {ANSWER_THRESHOLD:.0%} of the held-out questions exactly.",
            f"it answered {run['answers']:.1%}; e.g. {run['examples'][:3]}",
            hint="answering needs attention to the right earlier word: check generate's greedy decoding "
                 "and the attention weights")
