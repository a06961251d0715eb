"""Plausible wrong optimizers for kata 07, each rejected with a message naming its bug."""
from tests.mutants import Mutant

F = "optimizers.py"

# Adam.step from allocating its state to the update, for mutants that change both ends.
ADAM_BLOCK = (
    '                self.m[i] = np.zeros_like(p.data)\n'
    '                self.v[i] = np.zeros_like(p.data)\n'
    '            self.t[i] += 1\n'
    '            t = self.t[i]\n'
    '            self.m[i] = beta1 * self.m[i] + (1 - beta1) * g\n'
    '            self.v[i] = beta2 * self.v[i] + (1 - beta2) * g * g\n'
    '            m_hat = self.m[i] / (1 - beta1 ** t)\n'
    '            v_hat = self.v[i] / (1 - beta2 ** t)\n'
    '            p.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)')

MUTANTS = [
    Mutant(name="Adam without bias correction", file=F, test='test_optimizers_adam.py::test_adam_and_adamw_come_from_your_kata',
           old="m_hat = self.m[i] / (1 - beta1 ** t)\n            v_hat = self.v[i] / (1 - beta2 ** t)",
           new="m_hat = self.m[i]\n            v_hat = self.v[i]",
           expect=r"matches Adam without bias correction"),
    Mutant(name="Adam eps inside the sqrt", file=F, test='test_optimizers_adam.py::test_adam_matches_the_bias_corrected_recurrence',
           old="(np.sqrt(v_hat) + self.eps)",
           new="np.sqrt(v_hat + self.eps)",
           expect=r"matches eps inside the square root"),
    Mutant(name="Adam global step counter", file=F, test='test_optimizers_common.py::test_parameters_without_grad_are_skipped_and_keep_their_state[AdamW]',
           old="        beta1, beta2 = self.betas\n",
           new="        beta1, beta2 = self.betas\n"
               "        self.t = [max(self.t)] * len(self.t)  # one shared step counter\n",
           expect=r"own step count t, not the number of step\(\) calls"),
    Mutant(name="Adam ignores weight_decay", file=F, test='test_optimizers_adam.py::test_adam_weight_decay_is_l2_added_to_the_gradient',
           old="                else:\n                    g = g + self.weight_decay * p.data",
           new="                else:\n                    g = g",
           expect=r"matches an update that ignores weight_decay"),
    Mutant(name="AdamW couples the decay into the gradient", file=F, test='test_optimizers_adam.py::test_adam_and_adamw_come_from_your_kata',
           old="    decoupled = True\n",
           new="    decoupled = False\n",
           expect=r"AdamW with the decay coupled into the gradient"),
    Mutant(name="AdamW decay without lr", file=F, test='test_optimizers_adam.py::test_adam_and_adamw_come_from_your_kata',
           old="p.data -= self.lr * self.weight_decay * p.data",
           new="p.data -= self.weight_decay * p.data",
           expect=r"matches decoupled decay without lr"),
    Mutant(name="SGD momentum with the wrong sign", file=F, test='test_optimizers_sgd.py::test_sgd_lr_change_between_steps_takes_effect',
           old="self.velocity[i] = self.momentum * self.velocity[i] + g",
           new="self.velocity[i] = self.momentum * self.velocity[i] - g",
           expect=r"moved uphill \(along \+grad\)"),
    Mutant(name="SGD adds lr * v", file=F, test='test_optimizers_sgd.py::test_one_sgd_step_is_p_minus_lr_times_grad',
           old="p.data -= self.lr * g",
           new="p.data += self.lr * g",
           expect=r"moved uphill \(along \+grad\)"),
    Mutant(name="SGD ignores lr", file=F, test='test_optimizers_sgd.py::test_one_sgd_step_is_p_minus_lr_times_grad',
           old="p.data -= self.lr * g",
           new="p.data -= g",
           expect=r"matches an update that ignores lr"),
    Mutant(name="SGD ignores momentum", file=F, test='test_optimizers_sgd.py::test_sgd_lr_change_between_steps_takes_effect',
           old="if self.momentum != 0:",
           new="if False:",
           expect=r"matches plain SGD: the momentum term is missing"),
    Mutant(name="SGD dampened momentum", file=F, test='test_optimizers_sgd.py::test_sgd_lr_change_between_steps_takes_effect',
           old="self.velocity[i] = self.momentum * self.velocity[i] + g",
           new="self.velocity[i] = self.momentum * self.velocity[i] + (1 - self.momentum) * g",
           expect=r"matches an averaged velocity"),
    Mutant(name="SGD weight decay applied twice", file=F, test='test_optimizers_sgd.py::test_sgd_weight_decay_matches_the_recurrence',
           old="                g = g + self.weight_decay * p.data\n            if self.momentum",
           new="                g = g + 2 * self.weight_decay * p.data\n            if self.momentum",
           expect=r"matches weight decay applied twice"),
    Mutant(name="SGD lr folded into the velocity", file=F, test='test_optimizers_sgd.py::test_sgd_lr_change_between_steps_takes_effect',
           old="self.velocity[i] = self.momentum * self.velocity[i] + g\n"
               "                g = self.velocity[i]",
           new="self.velocity[i] = self.momentum * self.velocity[i] + self.lr * g\n"
               "                g = self.velocity[i] / self.lr",
           expect=r"matches lr folded into the velocity"),
    Mutant(name="SGD reads lr only once", file=F, test='test_optimizers_sgd.py::test_sgd_lr_change_between_steps_takes_effect',
           old="p.data -= self.lr * g",
           new="p.data -= self.__dict__.setdefault('first_lr', self.lr) * g",
           expect=r"a change of opt\.lr between steps was ignored"),
    Mutant(name="grad None treated as a zero gradient", file=F, test='test_optimizers_common.py::test_parameters_without_grad_are_skipped_and_keep_their_state[SGD]',
           old="            if p.grad is None:\n                continue\n            g = p.grad\n"
               "            if self.weight_decay != 0:\n                g = g +",
           new="            g = p.grad if p.grad is not None else np.zeros_like(p.data)\n"
               "            if self.weight_decay != 0:\n                g = g +",
           expect=r"treating None as a zero gradient still moves"),
    Mutant(name="zero_grad fills zeros", file=F, test='test_optimizers_common.py::test_zero_grad_sets_every_grad_to_none[AdamW]',
           old="            p.grad = None",
           new="            p.grad = np.zeros_like(p.data)",
           expect=r"None \(not zeros\) means 'no gradient'"),
    Mutant(name="SGD update not in place", file=F, test='test_optimizers_common.py::test_step_updates_parameters_in_place[SGD]',
           old="p.data -= self.lr * g",
           new="p.data = p.data - self.lr * g",
           expect=r"must update p\.data in place"),
    Mutant(name="Adam float64 state leaks into float32 parameters", file=F, test='test_optimizers_common.py::test_step_keeps_float32_parameters_float32[AdamW]',
           old=ADAM_BLOCK,
           new=ADAM_BLOCK.replace("np.zeros_like(p.data)", "np.zeros(p.shape)")
                         .replace("p.data -= self.lr", "p.data = p.data - self.lr"),
           expect=r"must keep a float32 parameter float32"),
]
