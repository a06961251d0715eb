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
           expect=r"broadcast to \(N, N\)"),
    Mutant(name="MSE leaks float64 from the targets", file="losses.py", test='test_losses_mse.py::test_mse_matches_numpy',
           old="""        t = _data(targets).astype(p.dtype, copy=False)
        if p.shape != t.shape:
            raise ValueError(f"MSELoss""",
           new="""        t = _data(targets)
        if p.shape != t.shape:
            raise ValueError(f"MSELoss""",
           expect=r"a float64 target promotes float32 predictions"),
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
]
