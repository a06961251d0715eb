"""Plausible wrong autograds for kata 06, each rejected with a message naming the bug."""
from tests.mutants import Mutant

F = "autograd.py"

MUTANTS = [
    Mutant(name="fan-in: gradient assigned instead of accumulated", file=F, test='test_autograd_graph.py::test_shared_intermediate_sums_both_paths',
           old="grads[key] = grads[key] + inp_grad if key in grads else inp_grad",
           new="grads[key] = inp_grad",
           expect=r"contribution was lost|use of y was lost"),
    Mutant(name="bias gradient averaged over the batch", file=F, test='test_autograd_units.py::test_linear_layer_and_mse_end_to_end',
           old="grad = grad.sum(axis=tuple(range(extra)))",
           new="grad = grad.mean(axis=tuple(range(extra)))",
           expect=r"AVERAGED over the batch"),
    Mutant(name="unbroadcast returns the gradient unchanged", file=F, test='test_autograd_ops.py::test_broadcast_gradient_is_summed_to_each_input_shape[a * b-sa0-sb0]',
           old="    grad = np.asarray(grad)\n    shape = tuple(shape)\n",
           new="    return np.asarray(grad)\n",
           expect=r"not reduced at all"),
    Mutant(name="unbroadcast sums only the leading axes", file=F, test='test_autograd_ops.py::test_broadcast_gradient_is_summed_to_each_input_shape[a * b-sa3-sb3]',
           old=("    if stretched:  # (2) axes of size 1 that broadcasting stretched\n"
                "        grad = grad.sum(axis=stretched, keepdims=True)\n"
                "    return grad.reshape(shape)\n"),
           new="    return grad\n",
           expect=r"only the leading \(prepended\) axes were summed"),
    Mutant(name="matmul gradient of a uses b untransposed", file=F, test='test_autograd_ops.py::test_matmul_gradient_values[2-2-2]',
           old="ga = g2 @ np.swapaxes(b2, -1, -2)",
           new="ga = g2 @ b2",
           expect=r"b NOT transposed"),
    Mutant(name="zero_grad does nothing", file=F, test='test_autograd_graph.py::test_gradients_accumulate_across_backward_calls_until_zero_grad',
           old='    """Tensor.zero_grad: forget the accumulated gradient (.grad = None)."""\n'
               "    self.grad = None\n",
           new='    """Tensor.zero_grad: forget the accumulated gradient (.grad = None)."""\n',
           expect=r"zero_grad\(\) must reset \.grad to None"),
    Mutant(name="Tensor.mean left untracked", file=F, test='test_autograd_ops.py::test_reductions',
           old='(("sum", Sum), ("mean", Mean), ("max", Max))',
           new='(("sum", Sum), ("max", Max))',
           expect=r"is Tensor\.mean wrapped by enable_autograd"),
    Mutant(name="Tensor.max left untracked", file=F, test='test_autograd_ops.py::test_max_ties_share_the_gradient_equally[x0-None-expected0]',
           old='(("sum", Sum), ("mean", Mean), ("max", Max))',
           new='(("sum", Sum), ("mean", Mean))',
           expect=r"is Tensor\.max wrapped by enable_autograd"),
    Mutant(name="mean backward not divided by n", file=F, test='test_autograd_ops.py::test_reductions',
           old="return (_expand(grad, a.shape, self.axis, self.keepdims) / n,)",
           new="return (_expand(grad, a.shape, self.axis, self.keepdims),)",
           expect=r"Mean\.backward must divide the gradient by the number of averaged elements"),
    Mutant(name="ReLU gradient passes through negative inputs", file=F, test='test_autograd_units.py::test_relu_gradient_is_zero_for_negative_and_zero_inputs',
           old="return (grad * (x.data > 0),)",
           new="return (grad * (x.data != 0),)",
           expect=r"ReLU passed the gradient through negative inputs"),
    Mutant(name="ReLU gradient 1 at zero", file=F, test='test_autograd_units.py::test_relu_gradient_is_zero_for_negative_and_zero_inputs',
           old="return (grad * (x.data > 0),)",
           new="return (grad * (x.data >= 0),)",
           expect=r"relu'\(0\) = 0"),
    Mutant(name="recursive topological sort without a visited set", file=F, test='test_autograd_graph.py::test_deep_chain_of_2000_ops_has_no_recursion_limit',
           old="    order, visited = [], set()\n    stack = [(root, False)]\n",
           new=("    order = []\n\n"
                "    def visit(node):\n"
                "        fn = getattr(node, '_grad_fn', None)\n"
                "        for inp in (fn.inputs if fn is not None else ()):\n"
                "            if inp.requires_grad:\n"
                "                visit(inp)\n"
                "        order.append(node)\n\n"
                "    visit(root)\n"
                "    return order\n"
                "    visited, stack = set(), []\n"),
           expect=r"recursion limit"),
    Mutant(name="graph recorded under no_grad", file=F, test='test_autograd_graph.py::test_no_grad_nests_and_survives_exceptions',
           old="    if not is_grad_enabled():\n        return result\n",
           new="",
           expect=r"computed inside `with no_grad\(\):` was recorded"),
    Mutant(name="no_grad exit always re-enables recording", file=F, test='test_autograd_graph.py::test_no_grad_nests_and_survives_exceptions',
           old="        _grad_enabled = self._previous\n",
           new="        _grad_enabled = True\n",
           expect=r"__exit__ must restore the PREVIOUS mode"),
    Mutant(name="leaf gradient overwritten across backward calls", file=F, test='test_autograd_graph.py::test_gradients_accumulate_across_backward_calls_until_zero_grad',
           old="node.grad = g if node.grad is None else node.grad + g",
           new="node.grad = g",
           expect=r"the second backward\(\) replaced \.grad"),
    Mutant(name="indexing gradient assigned (repeated indices lost)", file=F, test='test_autograd_ops.py::test_getitem_repeated_indices_accumulate',
           old="np.add.at(full, self.key, grad)",
           new="full[self.key] = grad",
           expect=r"its three gradients must be ADDED"),
    Mutant(name="reverse ops record the operands in the wrong order", file=F, test='test_autograd_ops.py::test_scalar_operands_and_reverse_ops',
           old="inputs = (other, self) if reverse else (self, other)",
           new="inputs = (self, other)",
           expect=r"the constant is the FIRST operand"),
    Mutant(name="max ties each get the full gradient", file=F, test='test_autograd_ops.py::test_max_ties_share_the_gradient_equally[x0-None-expected0]',
           old="share = winners / winners.sum(axis=_axes(self.axis, a.ndim), keepdims=True)",
           new="share = winners",
           expect=r"splits it equally among the ties"),
    Mutant(name="backward without grad on a non-scalar starts from ones", file=F, test='test_autograd_graph.py::test_backward_of_a_non_scalar_without_grad_raises',
           old="        if self.size != 1:\n",
           new="        if False:\n",
           expect=r"must raise RuntimeError"),
    Mutant(name="softmax backward always along the last axis", file=F, test='test_autograd_units.py::test_softmax_gradient',
           old="return (s * (grad - (grad * s).sum(axis=self.dim, keepdims=True)),)",
           new="return (s * (grad - (grad * s).sum(axis=-1, keepdims=True)),)",
           expect=r"use the layer's own dim"),
    Mutant(name="cross-entropy gradient not divided by the batch size", file=F, test='test_autograd_units.py::test_cross_entropy_gradient_wrt_logits',
           old="return grad * dz / n, None",
           new="return grad * dz, None",
           expect=r"the loss is a mean over the batch"),
    Mutant(name="wrapper recomputes the forward in float64", file=F, test='test_autograd_graph.py::test_forward_values_are_unchanged_by_enable_autograd',
           old="            out = original(*args, **kwargs)\n",
           new=("            out = original(*args, **kwargs)\n"
                "            if isinstance(out, Tensor):\n"
                "                out = Tensor(out.data.astype(np.float64))\n"),
           expect=r"must equal the same op before enable_autograd\(\)"),
]
