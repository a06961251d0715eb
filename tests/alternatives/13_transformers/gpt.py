"""Kata 13's GPT, written apart from the reference: sampling one row at a time with
choice(), a Python loop over the context window."""
import math

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.embeddings import EmbeddingLayer
from tinytorch.core.layers import Layer, Linear
from tinytorch.core.tensor import Tensor
from tinytorch.core.transformers import LayerNorm, TransformerBlock, create_causal_mask


class GPT(Layer):
    def __init__(self, vocab_size, embed_dim, num_layers, num_heads, max_seq_len=1024):
        super().__init__()
        self.vocab_size, self.embed_dim = vocab_size, embed_dim
        self.num_layers, self.num_heads, self.max_seq_len = num_layers, num_heads, max_seq_len
        self.embedding_layer = EmbeddingLayer(vocab_size, embed_dim, max_seq_len=max_seq_len)
        self.blocks = []
        for _ in range(num_layers):
            self.blocks.append(TransformerBlock(embed_dim, num_heads))
        self.ln_f = LayerNorm(embed_dim)
        self.lm_head = Linear(embed_dim, vocab_size, bias=False)

    def forward(self, tokens, start_pos=0):
        h = self.embedding_layer.forward(tokens, start_pos=start_pos)
        causal = create_causal_mask(h.shape[1])
        for block in self.blocks:
            h = block.forward(h, causal)
        return self.lm_head.forward(self.ln_f.forward(h))

    def generate(self, prompt_tokens, max_new_tokens=50, temperature=1.0, seed=None):
        ids = prompt_tokens.data if isinstance(prompt_tokens, Tensor) else prompt_tokens
        ids = np.array(ids)
        if len(ids.shape) != 2 or ids.shape[1] < 1:
            raise ValueError("prompt_tokens must be (batch, length) with length >= 1")
        if type(max_new_tokens) is not int or max_new_tokens < 0:
            if not (isinstance(max_new_tokens, np.integer) and max_new_tokens >= 0):
                raise ValueError("max_new_tokens must be a non-negative integer")
        temperature = float(temperature)
        if math.isnan(temperature) or math.isinf(temperature) or temperature < 0:
            raise ValueError("temperature must be finite and >= 0")
        rng = np.random.default_rng(seed) if seed is not None else None
        seqs = [list(map(int, row)) for row in ids]
        with no_grad():
            for _ in range(int(max_new_tokens)):
                window = np.array([row[max(0, len(row) - self.max_seq_len):] for row in seqs])
                last = self(Tensor(window)).data[:, -1, :].astype(np.float64)
                for r, logits in enumerate(last):
                    if temperature == 0:
                        nxt = int(np.argmax(logits))
                    else:
                        z = (logits - logits.max()) / temperature
                        p = np.exp(z) / np.exp(z).sum()
                        nxt = int((rng if rng is not None else np.random).choice(len(p), p=p))
                    seqs[r].append(nxt)
        return Tensor(np.array(seqs, dtype=np.int64))
