"""Plausible wrong KV caches (kata 18): each must be rejected with a message naming the bug."""
from tests.mutants import Mutant

M = "memoization.py"
C = "test_memoization_cache.py::"
A = "test_memoization_model.py::"
UPDATE = "keys, values = cache.update(self.layer_idx, split(att.k_proj(x)), split(att.v_proj(x)))"
SPLIT = "return t.data.reshape(batch, seq, heads, head_dim).transpose(0, 2, 1, 3)"
MERGE = "merged = (weights @ values).transpose(0, 2, 1, 3).reshape(batch, seq, dim)"
FUTURE = "future = np.arange(keys.shape[2])[None, :] > (start + np.arange(seq))[:, None]"
CAPACITY = "and length + max_new_tokens - 1 > model.max_seq_len:"
FWD = "step = type(model).forward(model, Tensor(ids[:, done:]), start_pos=done).data"
TAIL = ("        if logits is None:\n"
        "            logits = np.zeros((batch, model.max_seq_len, step.shape[-1]), step.dtype)\n"
        "        logits[:, done:end] = step\n        fed[:, done:end] = ids[:, done:]\n"
        "        cache.advance(end - done)\n")
GENERATE = "        return model.generate(prompt_tokens, max_new_tokens, temperature, seed)"
RESTORE = ("    try:\n" + GENERATE + "\n    finally:\n        del model.forward\n        if own:\n"
           "            disable_kv_cache(model)\n")

MUTANTS = [
    # ------------------------------------------------------------ the current token
    Mutant(name="attention drops the current token", file=M, test=A + "test_cached_attention_matches_full_attention",
           old=UPDATE, new=UPDATE + "\n            if cache.seq_pos:  # the history only\n"
                                    "                keys, values = cache.get(self.layer_idx)",
           expect=r"WITHOUT the current token"),
    Mutant(name="update returns the history without the new tokens", file=M,
           test=C + "test_update_returns_the_history_and_the_new_tokens",
           old="return Tensor(keys.data[:, :, :end]), Tensor(values.data[:, :, :end])",
           new="return Tensor(keys.data[:, :, :self.seq_pos]), Tensor(values.data[:, :, :self.seq_pos])",
           expect=r"history WITHOUT the new tokens"),
    Mutant(name="update returns the new tokens only", file=M,
           test=C + "test_update_returns_the_history_and_the_new_tokens",
           old="return Tensor(keys.data[:, :, :end]), Tensor(values.data[:, :, :end])",
           new="return Tensor(keys.data[:, :, self.seq_pos:end]), Tensor(values.data[:, :, self.seq_pos:end])",
           expect=r"the new tokens alone"),
    # ------------------------------------------------------------ the cursor
    Mutant(name="get one position too many (off-by-one seq_pos)", file=M,
           test=C + "test_update_returns_the_history_and_the_new_tokens",
           old="return Tensor(keys.data[:, :, :self.seq_pos]), Tensor(values.data[:, :, :self.seq_pos])",
           new="return Tensor(keys.data[:, :, :self.seq_pos + 1]), Tensor(values.data[:, :, :self.seq_pos + 1])",
           expect=r"get\(\d\) keys before advance[\s\S]*positions 0 \.\. seq_pos - 1"),
    Mutant(name="advance ignores num_tokens", file=M, test=C + "test_update_returns_the_history_and_the_new_tokens",
           old="        self.seq_pos += n\n", new="        self.seq_pos += 1\n",
           expect=r"advance\(num_tokens\) adds num_tokens"),
    Mutant(name="advance before update", file=M, test=A + "test_generate_cached_gives_the_tokens_of_generate",
           old="        " + FWD + "\n" + TAIL, new="        cache.advance(end - done)\n        " + FWD + "\n"
               + TAIL.replace("        cache.advance(end - done)\n", ""),
           expect=r"advance AFTER the forward"),
    # ------------------------------------------------------------ overflow
    Mutant(name="no overflow check in update", file=M, test=C + "test_update_overflow_raises_naming_the_limit[chunks0]",
           old="        if end > self.max_seq_len:\n", new="        if False:\n",
           expect=r"must raise ValueError[\s\S]*it raised nothing[\s\S]*silently dropped token"),
    Mutant(name="update overflow check off by one", file=M, test=C + "test_update_overflow_raises_naming_the_limit[chunks0]",
           old="        if end > self.max_seq_len:\n", new="        if end >= self.max_seq_len:\n",
           expect=r"it fits[\s\S]*seq_pos \+ T <= max_seq_len"),
    Mutant(name="no overflow check in advance", file=M, test=C + "test_advance_overflow_raises_naming_the_limit",
           old="        if self.seq_pos + n > self.max_seq_len:\n", new="        if False:\n",
           expect=r"advance\(\) at seq_pos=3 must raise ValueError"),
    Mutant(name="generate_cached capacity check off by one", file=M,
           test=A + "test_generate_cached_raises_past_max_seq_len[3-5]",
           old=CAPACITY, new="and length + max_new_tokens > model.max_seq_len:",
           expect=r"positions: it fits\) raised ValueError"),
    Mutant(name="generate_cached without a capacity check", file=M,
           test=A + "test_generate_cached_raises_past_max_seq_len[3-5]",
           old=CAPACITY, new="and False:", expect=r"must name the limit \(max_seq_len=6\)"),
    # ------------------------------------------------------------ reset
    Mutant(name="reset that keeps the data", file=M, test=C + "test_reset_really_resets",
           old="            keys.data[...] = 0\n            values.data[...] = 0\n", new="            pass\n",
           expect=r"reset must zero every buffer"),
    Mutant(name="reset that keeps seq_pos", file=M, test=C + "test_reset_really_resets",
           old="        self.seq_pos = 0\n        for keys", new="        for keys",
           expect=r"reset\(\) must set seq_pos back to 0"),
    # ------------------------------------------------------------ memory and storage
    Mutant(name="memory without the factor 2", file=M, test=C + "test_memory_usage_is_what_the_shapes_say",
           old="return 2 * self.num_layers", new="return self.num_layers", expect=r"ONE buffer per layer"),
    Mutant(name="memory in float64 bytes", file=M, test=C + "test_memory_usage_is_what_the_shapes_say",
           old="np.dtype(np.float32).itemsize", new="np.dtype(np.float64).itemsize", expect=r"8 bytes per number"),
    Mutant(name="cache shared across layers", file=M, test=C + "test_kvcache_sizes_and_buffers",
           old="        self.caches = [(Tensor(np.zeros(shape, np.float32)), Tensor(np.zeros(shape, np.float32)))\n"
               "                       for _ in range(self.num_layers)]",
           new="        self.caches = [(Tensor(np.zeros(shape, np.float32)), Tensor(np.zeros(shape, np.float32)))]"
               " * self.num_layers",
           expect=r"cache shared by the layers"),
    Mutant(name="buffers in float64", file=M, test=C + "test_kvcache_sizes_and_buffers",
           old="        self.caches = [(Tensor(np.zeros(shape, np.float32)), Tensor(np.zeros(shape, np.float32)))\n",
           new="        self.caches = [(Tensor(np.zeros(shape)), Tensor(np.zeros(shape)))\n",
           expect=r"wrong dtype[\s\S]*float64 leaked"),
    Mutant(name="cache results keep requires_grad", file=M, test=C + "test_the_cache_holds_values_not_graph",
           old="return Tensor(keys.data[:, :, :end]), Tensor(values.data[:, :, :end])",
           new="return (Tensor(keys.data[:, :, :end], requires_grad=getattr(key, 'requires_grad', False)),\n"
               "                Tensor(values.data[:, :, :end], requires_grad=getattr(value, 'requires_grad', False)))",
           expect=r"must not require grad \(the cache holds values"),
    # ------------------------------------------------------------ the attention
    Mutant(name="wrong head layout", file=M, test=A + "test_cached_attention_matches_full_attention",
           old=SPLIT, new="return t.data.reshape(batch, heads, seq, head_dim)",
           expect=r"reshape\(B, H, T, head_dim\)"),
    Mutant(name="no causal rule among the new tokens", file=M, test=A + "test_cached_attention_matches_full_attention",
           old=FUTURE, new="future = np.zeros((seq, keys.shape[2]), bool)", expect=r"without the causal rule"),
    Mutant(name="causal mask forgets seq_pos", file=M, test=A + "test_cached_attention_matches_full_attention",
           old=FUTURE, new="future = np.arange(keys.shape[2])[None, :] > np.arange(seq)[:, None]",
           expect=r"causal mask that forgets seq_pos"),
    Mutant(name="cached attention builds a graph", file=M, test=A + "test_cached_attention_builds_no_graph",
           old="        with no_grad():  # inference only: the cache holds values, never a graph\n",
           new="        if True:\n", expect=r"must build no graph[\s\S]*no_grad"),
    # ------------------------------------------------------------ enable / disable
    Mutant(name="enable ignores batch_size", file=M,
           test=A + "test_enable_kv_cache_wraps_every_block_of_that_model_only",
           old="cache = KVCache(batch_size, model.max_seq_len,", new="cache = KVCache(1, model.max_seq_len,",
           expect=r"cache of batch_size 3"),
    Mutant(name="enabling twice wraps the stand-in", file=M,
           test=A + "test_enable_kv_cache_wraps_every_block_of_that_model_only",
           old="        disable_kv_cache(model)  # enabling twice", new="        pass  # enabling twice",
           expect=r"no stand-in inside a stand-in"),
    Mutant(name="disable only drops the cache", file=M, test=A + "test_disable_kv_cache_restores_the_original_objects",
           old="        if isinstance(block.attention, CachedAttention):\n"
               "            block.attention = block.attention.attention\n    model._kv_cache = None",
           new="        pass\n    model._kv_cache = None", expect=r"original attention object"),
    # ------------------------------------------------------------ generate_cached
    Mutant(name="generate_cached without the cache", file=M, test=A + "test_generate_cached_feeds_every_token_once",
           old="    model.forward = cached_forward  # an instance attribute: this model only, this call only\n"
               "    try:\n" + GENERATE + "\n    finally:\n        del model.forward\n",
           new="    try:\n" + GENERATE + "\n    finally:\n",
           expect=r"recomputes the whole window"),
    Mutant(name="generate_cached restores the model outside finally", file=M,
           test=A + "test_generate_cached_leaves_the_model_as_found",
           old=RESTORE, new="    out = model.generate(prompt_tokens, max_new_tokens, temperature, seed)\n"
                            "    del model.forward\n    if own:\n        disable_kv_cache(model)\n    return out\n",
           expect=r"that raised must leave[\s\S]*try/finally"),
    Mutant(name="generate_cached does not reset an enabled cache", file=M,
           test=A + "test_generate_cached_keeps_an_enabled_cache",
           old="    else:\n        cache.reset()\n", new="    else:\n        pass\n", expect=r"reset the cache first"),
    Mutant(name="generate_cached loop with grad mode on", file=M, test=A + "test_generate_cached_builds_no_graph",
           old=GENERATE, new="        out = tokens.astype(np.int64)\n"
                             "        for _ in range(max_new_tokens):\n"
                             "            nxt = cached_forward(Tensor(out)).data[:, -1].argmax(-1)\n"
                             "            out = np.concatenate([out, nxt[:, None]], axis=1)\n"
                             "        return Tensor(out)",
           expect=r"must build no graph: every forward runs with grad mode off"),
    # ------------------------------------------------------------ argument checks
    Mutant(name="no size checks", file=M, test=C + "test_kvcache_rejects_sizes_that_are_not_positive_ints[0-0]",
           old='    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:\n'
               '        raise ValueError(f"{name} must be a positive int, got {value!r}")\n    return int(value)',
           new="    return value", expect=r"must raise ValueError[\s\S]*it raised nothing[\s\S]*positive ints"),
    Mutant(name="no layer index check", file=M, test=C + "test_update_and_get_reject_bad_arguments[layer -1]",
           old="                or not 0 <= layer_idx < self.num_layers:", new="                and False:",
           expect=r"update\(-1, [\s\S]*must raise ValueError[\s\S]*layer_idx in \[0, num_layers\)"),
    Mutant(name="no shape check in update", file=M, test=C + "test_update_and_get_reject_bad_arguments[batch]",
           old="            if a.ndim != 4 or a.shape[0] != b or a.shape[1] != h or a.shape[3] != d or a.shape[2] < 1:",
           new="            if False:",
           expect=r"key \(1, 3, 1, 2\)[\s\S]*must raise ValueError[\s\S]*\(batch_size, num_heads, T >= 1, head_dim\)"),
]
