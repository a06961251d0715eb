"""Kata 13: GPT, a decoder-only transformer (linked as tinytorch.models.transformer).

Write the class below (see README.md): embeddings with learned positions (kata 11),
blocks with a causal mask, a final LayerNorm and a linear head; then generation.
"""
from __future__ import annotations

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.embeddings import EmbeddingLayer
from tinytorch.core.layers import Layer, Linear
from tinytorch.core.tensor import Tensor
from tinytorch.core.transformers import LayerNorm, TransformerBlock, create_causal_mask


class GPT(Layer):
    """tokens -> embedding_layer -> blocks (causal mask) -> ln_f -> lm_head -> logits."""

    def __init__(self, vocab_size: int, embed_dim: int, num_layers: int, num_heads: int,
                 max_seq_len: int = 1024):
        """Store the five sizes; create embedding_layer = EmbeddingLayer(vocab_size,
        embed_dim, max_seq_len), blocks (a list of num_layers TransformerBlocks), ln_f =
        LayerNorm(embed_dim) and lm_head = Linear(embed_dim, vocab_size, bias=False), in
        this order."""
        raise NotImplementedError("kata 13_transformers: write GPT.__init__")

    def forward(self, tokens, start_pos: int = 0) -> Tensor:
        """ids (B, T) at positions start_pos.. -> logits (B, T, vocab_size)."""
        raise NotImplementedError("kata 13_transformers: write GPT.forward")

    def generate(self, prompt_tokens, max_new_tokens: int = 50, temperature: float = 1.0,
                 seed: int | None = None) -> Tensor:
        """(B, P) prompt -> Tensor (B, P + max_new_tokens): the prompt, then one new token
        per step from the last position's logits of self.forward(last max_seq_len tokens).
        temperature 0: argmax; > 0: sample softmax(logits / temperature), drawn from
        np.random.default_rng(seed), or from np.random when seed is None. No graph."""
        raise NotImplementedError("kata 13_transformers: write GPT.generate")
