"""Plausible wrong solutions of kata 04 (losses), each rejected by a pointed message."""
from tests.mutants import Mutant

MUTANTS = [
    Mutant(name="log_softmax without max subtraction", file="losses.py", test='test_losses_cross_entropy.py::test_cross_entropy_is_stable_at_huge_logits',
           old="shifted = data - data.max(axis=dim, keepdims=True)",
           new="shifted = data",
           expect=r"log-sum-exp trick"),
    Mutant(name="log_softmax sums over the last axis whatever dim is", file="losses.py", test='test_losses_log_softmax.py::test_exp_of_log_softmax_sums_to_one_along_dim',
           old="log_sum_exp = np.log(np.exp(shifted).sum(axis=dim, keepdims=True))",
           new="log_sum_exp = np.log(np.exp(shifted).sum(axis=-1, keepdims=True))",
           expect=r"normalise along `dim` only"),
    Mutant(name="log_softmax forgets the log-sum-exp", file="losses.py", test='test_losses_log_softmax.py::test_log_softmax_equals_log_of_your_softmax',
           old="return Tensor(shifted - log_sum_exp)",
           new="return Tensor(shifted)",
           expect=r"subtracted the max but not log\(sum\(exp"),
    Mutant(name="cross-entropy sums over the batch", file="losses.py", test='test_losses_cross_entropy.py::test_cross_entropy_accepts_tensor_and_other_integer_targets',
           old="return Tensor(-picked.mean())",
           new="return Tensor(-picked.sum())",
           expect=r"you summed over the batch"),
    Mutant(name="cross-entropy indexes logits[:, targets]", file="losses.py", test='test_losses_cross_entropy.py::test_cross_entropy_accepts_tensor_and_other_integer_targets',
           old="picked = logp[np.arange(n), labels]",
           new="picked = logp[:, labels]",
           expect=r"picks an N x N block"),
    Mutant(name="cross-entropy uses the probability, not its log", file="losses.py", test='test_losses_cross_entropy.py::test_cross_entropy_accepts_tensor_and_other_integer_targets',
           old="logp = log_softmax(logits, dim=-1).data",
           new="logp = np.exp(log_softmax(logits, dim=-1).data)",
           expect=r"negative LOG of the target's probability"),
    Mutant(name="cross-entropy on raw logits", file="losses.py", test='test_losses_cross_entropy.py::test_cross_entropy_accepts_tensor_and_other_integer_targets',
           old="logp = log_softmax(logits, dim=-1).data",
           new="logp = z",
           expect=r"raw logits are not log-probabilities"),
    Mutant(name="cross-entropy lets negative targets wrap around", file="losses.py", test='test_losses_cross_entropy.py::test_cross_entropy_rejects_out_of_range_targets',
           old="if np.any((labels < 0) | (labels >= c)):",
           new="if np.any(labels >= c):",
           expect=r"silently wrap a negative index"),
    Mutant(name="cross-entropy does not cast Tensor targets to int", file="losses.py", test='test_losses_cross_entropy.py::test_cross_entropy_accepts_tensor_and_other_integer_targets',
           old="labels = _data(targets).astype(np.int64)",
           new="labels = _data(targets)",
           expect=r"NumPy refuses float indices"),
    Mutant(name="MSE is the mean absolute error", file="losses.py", test='test_losses_mse.py::test_mse_comes_from_your_kata',
           old="return Tensor(np.mean(diff * diff))",
           new="return Tensor(np.mean(np.abs(diff)))",
           expect=r"mean ABSOLUTE error"),
    Mutant(name="MSE sums instead of averaging", file="losses.py", test='test_losses_mse.py::test_mse_comes_from_your_kata',
           old="return Tensor(np.mean(diff * diff))",
           new="return Tensor(np.sum(diff * diff))",
           expect=r"you summed the squared errors"),
    Mutant(name="MSE broadcasts mismatched shapes", file="losses.py", test='test_losses_mse.py::test_mse_rejects_different_shapes',
           old="""        if p.shape != t.shape:
            raise ValueError(f"MSELoss""",
           new="""        if False:
            raise ValueError(f"MSELoss""",
           expect=r"broadcast to \(3, 3\) and you averaged 9 mismatched differences"),
    Mutant(name="MSE leaks float64 from the targets", file="losses.py", test='test_losses_mse.py::test_mse_matches_numpy',
           old="""        t = _data(targets).astype(p.dtype, copy=False)
        if p.shape != t.shape:
            raise ValueError(f"MSELoss""",
           new="""        t = _data(targets)
        if p.shape != t.shape:
            raise ValueError(f"MSELoss""",
           expect=r"float64 leaked into the loss of float32 predictions"),
    Mutant(name="BCE without clipping", file="losses.py", test='test_losses_bce.py::test_bce_is_finite_at_predictions_of_exactly_0_and_1',
           old="p = np.clip(_data(predictions), EPS, 1 - EPS)",
           new="p = _data(predictions)",
           expect=r"log\(0\) is -inf: clip the predictions"),
    Mutant(name="BCE clips with a smaller epsilon", file="losses.py", test='test_losses_bce.py::test_bce_clips_near_0_and_1_at_exactly_1e_minus_7',
           old="p = np.clip(_data(predictions), EPS, 1 - EPS)",
           new="p = np.clip(_data(predictions), 1e-12, 1 - 1e-12)",
           expect=r"clip with exactly 1e-7"),
    Mutant(name="BCE sign flipped", file="losses.py", test='test_losses_bce.py::test_bce_clips_near_0_and_1_at_exactly_1e_minus_7',
           old="return Tensor(-per_element.mean())",
           new="return Tensor(per_element.mean())",
           expect=r"wrong sign: BCE is MINUS"),
    Mutant(name="BCE terms swapped", file="losses.py", test='test_losses_bce.py::test_bce_clips_near_0_and_1_at_exactly_1e_minus_7',
           old="per_element = t * np.log(p) + (1 - t) * np.log(1 - p)",
           new="per_element = t * np.log(1 - p) + (1 - t) * np.log(p)",
           expect=r"you swapped the terms"),
    Mutant(name="BCE leaks float64 from the targets", file="losses.py", test='test_losses_bce.py::test_bce_comes_from_your_kata',
           old="""        t = _data(targets).astype(p.dtype, copy=False)
        if p.shape != t.shape:
            raise ValueError(f"BinaryCrossEntropyLoss""",
           new="""        t = np.asarray(_data(targets), dtype=float)
        if p.shape != t.shape:
            raise ValueError(f"BinaryCrossEntropyLoss""",
           expect=r"BinaryCrossEntropyLoss\(\)\(predictions, targets\) has the wrong dtype"),
    Mutant(name="log_softmax shifts its input in place", file="losses.py", test='test_losses_api.py::test_log_softmax_does_not_change_its_input',
           old="shifted = data - data.max(axis=dim, keepdims=True)",
           new="data -= data.max(axis=dim, keepdims=True)\n    shifted = data",
           expect=r"log_softmax must not change its input"),
    Mutant(name="BCE clips the predictions in place", file="losses.py", test='test_losses_api.py::test_loss_does_not_change_its_inputs[BinaryCrossEntropyLoss]',
           old="p = np.clip(_data(predictions), EPS, 1 - EPS)",
           new="p = np.clip(_data(predictions), EPS, 1 - EPS, out=_data(predictions))",
           expect=r"BinaryCrossEntropyLoss must not change its predictions"),
    Mutant(name="MSE __call__ bypasses forward", file="losses.py", test='test_losses_api.py::test_loss_call_goes_through_forward[MSELoss]',
           old="""        return Tensor(np.mean(diff * diff))

    def __call__(self, *args):
        return self.forward(*args)""",
           new="""        return Tensor(np.mean(diff * diff))

    def __call__(self, predictions, targets):
        diff = predictions.data - np.asarray(getattr(targets, "data", targets))
        return Tensor(np.mean(diff * diff).astype(predictions.data.dtype))""",
           expect=r"__call__ did not use the \(replaced\) MSELoss.forward"),
    Mutant(name="MSE checks only the number of dimensions", file="losses.py", test='test_losses_mse.py::test_mse_rejects_different_shapes',
           old="""        if p.shape != t.shape:
            raise ValueError(f"MSELoss""",
           new="""        if p.ndim != t.ndim:
            raise ValueError(f"MSELoss""",
           expect=r"shapes \(3, 1\) and \(1, 3\) broadcast to \(3, 3\) and you averaged"),
    Mutant(name="MSE compares sizes, then flattens", file="losses.py", test='test_losses_mse.py::test_mse_rejects_different_shapes',
           old="""        if p.shape != t.shape:
            raise ValueError(f"MSELoss: predictions of shape {p.shape} and targets of shape "
                             f"{t.shape} must have the same shape")
        diff = p - t""",
           new="""        if p.size != t.size:
            raise ValueError(f"MSELoss: predictions of shape {p.shape} and targets of shape "
                             f"{t.shape} must have the same shape")
        diff = p.ravel() - t.ravel()""",
           expect=r"you flattened or reshaped the targets to fit"),
    Mutant(name="MSE casts the predictions to the targets' dtype", file="losses.py", test='test_losses_mse.py::test_mse_matches_numpy',
           old="""        t = _data(targets).astype(p.dtype, copy=False)
        if p.shape != t.shape:
            raise ValueError(f"MSELoss""",
           new="""        t = _data(targets)
        p = p.astype(t.dtype) if np.issubdtype(t.dtype, np.floating) else p
        if p.shape != t.shape:
            raise ValueError(f"MSELoss""",
           expect=r"float64 (leaked into the loss of float32|was lost)"),
    Mutant(name="MSE casts only float64 targets (integer targets promote)", file="losses.py", test='test_losses_mse.py::test_mse_matches_numpy',
           old="""        t = _data(targets).astype(p.dtype, copy=False)
        if p.shape != t.shape:
            raise ValueError(f"MSELoss""",
           new="""        t = _data(targets)
        t = t.astype(p.dtype) if t.dtype == np.float64 else t
        if p.shape != t.shape:
            raise ValueError(f"MSELoss""",
           expect=r"int64\)(.|\n)*float64 leaked into the loss of float32 predictions"),
    Mutant(name="MSE returns a Python float (float64 lost)", file="losses.py", test='test_losses_mse.py::test_mse_matches_numpy',
           old="return Tensor(np.mean(diff * diff))",
           new="return Tensor(float(np.mean(diff * diff)))",
           expect=r"float64 was lost"),
    Mutant(name="MSE rounds ndarray targets to float32", file="losses.py", test='test_losses_mse.py::test_mse_matches_numpy',
           old="""        t = _data(targets).astype(p.dtype, copy=False)
        if p.shape != t.shape:
            raise ValueError(f"MSELoss""",
           new="""        t = targets.data if isinstance(targets, Tensor) else np.asarray(targets, dtype=np.float32)
        t = t.astype(p.dtype, copy=False)
        if p.shape != t.shape:
            raise ValueError(f"MSELoss""",
           expect=r"you rounded the targets to float32"),
    Mutant(name="MSE casts only ndarray and Tensor targets (NumPy scalars promote)", file="losses.py", test='test_losses_api.py::test_a_single_prediction_with_a_numpy_scalar_target[MSELoss]',
           old="""        t = _data(targets).astype(p.dtype, copy=False)
        if p.shape != t.shape:
            raise ValueError(f"MSELoss""",
           new="""        t = _data(targets)
        if isinstance(targets, (np.ndarray, Tensor)):
            t = t.astype(p.dtype)
        if p.shape != t.shape:
            raise ValueError(f"MSELoss""",
           expect=r"np.float64 target\)(.|\n)*float64 leaked into the loss of float32 predictions"),
    Mutant(name="cross-entropy without a targets shape check", file="losses.py", test='test_losses_cross_entropy.py::test_cross_entropy_rejects_targets_of_the_wrong_shape',
           old="        if labels.shape != (n,):",
           new="        if False:",
           expect=r"broadcasts against arange\(N\)"),
    Mutant(name="cross-entropy checks only that targets are 1-D", file="losses.py", test='test_losses_cross_entropy.py::test_cross_entropy_rejects_targets_of_the_wrong_shape',
           old="        if labels.shape != (n,):",
           new="        if labels.ndim != 1:",
           expect=r"targets of shape \(1,\) with logits of shape \(3, 4\)(.|\n)*broadcasts against arange\(N\)"),
    Mutant(name="cross-entropy through a float64 one-hot matrix", file="losses.py", test='test_losses_cross_entropy.py::test_cross_entropy_matches_numpy',
           old="picked = logp[np.arange(n), labels]  # row n, column targets[n]",
           new="picked = (np.eye(c)[labels] * logp).sum(axis=1)",
           expect=r"float64 leaked into the loss of float32 logits(.|\n)*np.eye"),
    Mutant(name="cross-entropy returns shape (1,)", file="losses.py", test='test_losses_cross_entropy.py::test_cross_entropy_matches_numpy',
           old="return Tensor(-picked.mean())",
           new="return Tensor(-picked.mean(keepdims=True))",
           expect=r"has the wrong shape(.|\n)*got shape \(1,\), expected \(\)"),
    Mutant(name="log_softmax takes the log of the softmax", file="losses.py", test='test_losses_log_softmax.py::test_log_softmax_is_stable_at_huge_logits',
           old="""    log_sum_exp = np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
    return Tensor(shifted - log_sum_exp)""",
           new="""    e = np.exp(shifted)
    return Tensor(np.log(e / e.sum(axis=dim, keepdims=True)))""",
           expect=r"a probability underflowed to 0 and you took its log"),
    Mutant(name="log_softmax sums in float64 (float64 leak)", file="losses.py", test='test_losses_log_softmax.py::test_log_softmax_matches_numpy',
           old="log_sum_exp = np.log(np.exp(shifted).sum(axis=dim, keepdims=True))",
           new="log_sum_exp = np.log(np.exp(shifted).sum(axis=dim, keepdims=True, dtype=np.float64))",
           expect=r"log_softmax\(x, dim\) has the wrong dtype(.|\n)*got float64, expected float32"),
    Mutant(name="log_softmax off by one for negative dims", file="losses.py", test='test_losses_log_softmax.py::test_log_softmax_matches_numpy',
           old="""    data = _data(x)
    shifted""",
           new="""    data = _data(x)
    dim = dim + data.ndim - 1 if dim < 0 else dim
    shifted""",
           expect=r"this is log_softmax along axis 0, not along dim=-1"),
    Mutant(name="BCE broadcasts mismatched shapes", file="losses.py", test='test_losses_bce.py::test_bce_rejects_different_shapes',
           old="""        if p.shape != t.shape:
            raise ValueError(f"BinaryCrossEntropyLoss""",
           new="""        if False:
            raise ValueError(f"BinaryCrossEntropyLoss""",
           expect=r"broadcast to \(3, 3\) and you averaged 9 mismatched terms"),
    Mutant(name="BCE clips only the lower bound", file="losses.py", test='test_losses_bce.py::test_bce_is_finite_at_predictions_of_exactly_0_and_1',
           old="p = np.clip(_data(predictions), EPS, 1 - EPS)",
           new="p = np.maximum(_data(predictions), EPS)",
           expect=r"contains NaN or inf(.|\n)*log\(0\) is -inf: clip the predictions"),
    Mutant(name="BCE adds EPS inside the logs instead of clipping", file="losses.py", test='test_losses_bce.py::test_bce_clips_near_0_and_1_at_exactly_1e_minus_7',
           old="""        p = np.clip(_data(predictions), EPS, 1 - EPS)
        t = _data(targets).astype(p.dtype, copy=False)
        if p.shape != t.shape:
            raise ValueError(f"BinaryCrossEntropyLoss: predictions of shape {p.shape} and "
                             f"targets of shape {t.shape} must have the same shape")
        per_element = t * np.log(p) + (1 - t) * np.log(1 - p)""",
           new="""        p = _data(predictions)
        t = _data(targets).astype(p.dtype, copy=False)
        if p.shape != t.shape:
            raise ValueError(f"BinaryCrossEntropyLoss: predictions of shape {p.shape} and "
                             f"targets of shape {t.shape} must have the same shape")
        per_element = t * np.log(p + EPS) + (1 - t) * np.log(1 - p + EPS)""",
           expect=r"you added EPS inside the logs"),
    Mutant(name="BCE casts only floating targets (integer targets promote)", file="losses.py", test='test_losses_bce.py::test_bce_matches_numpy',
           old="""        t = _data(targets).astype(p.dtype, copy=False)
        if p.shape != t.shape:
            raise ValueError(f"BinaryCrossEntropyLoss""",
           new="""        t = _data(targets)
        t = t.astype(p.dtype) if np.issubdtype(t.dtype, np.floating) else t
        if p.shape != t.shape:
            raise ValueError(f"BinaryCrossEntropyLoss""",
           expect=r"int64\)(.|\n)*float64 leaked into the loss of float32 predictions"),
]
