"""Writes a tiny llama-architecture GGUF model (~0.5 MB, random float32 weights from a fixed
seed, so the same bytes on every run) that Ollama loads and serves: it answers every endpoint,
with garbage text. The tests' stand-in for a real model, which cannot be downloaded here.

    python hack/tiny-model.py OUT.gguf

The shape llama.cpp needs: every llama.* metadata key, a llama (SentencePiece) vocabulary with
the 256 byte tokens (a newline in a prompt needs them), tensors in ggml's order (numpy shapes
are ggml's reversed: attn_k is (kv_heads * head_dim, embedding)).
"""

from __future__ import annotations

import sys

import gguf
import numpy as np

EMBEDDING, FEED_FORWARD, BLOCKS, HEADS, KV_HEADS, CONTEXT = 64, 128, 2, 4, 2, 256
HEAD_DIM = EMBEDDING // HEADS
PIECES = ["▁", *"abcdefghijklmnopqrstuvwxyz", "▁the", "▁a", "▁is", "▁hello", "▁world", ".", ","]


def vocabulary() -> tuple[list[str], list[float], list[int]]:
    tokens = ["<unk>", "<s>", "</s>"]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [gguf.TokenType.BYTE] * 256
    tokens += PIECES
    types += [gguf.TokenType.NORMAL] * len(PIECES)
    scores = [0.0] * (3 + 256) + [-float(i) for i in range(len(PIECES))]
    return tokens, scores, [int(t) for t in types]


def write(path: str) -> None:
    rng = np.random.default_rng(20261201)
    tokens, scores, types = vocabulary()

    def weights(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    w = gguf.GGUFWriter(path, "llama")
    w.add_name("modelapi-tiny")
    w.add_context_length(CONTEXT)
    w.add_embedding_length(EMBEDDING)
    w.add_block_count(BLOCKS)
    w.add_feed_forward_length(FEED_FORWARD)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    vocab = len(tokens)
    w.add_tensor("token_embd.weight", weights(vocab, EMBEDDING))
    for i in range(BLOCKS):
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(EMBEDDING, dtype=np.float32))
        w.add_tensor(f"blk.{i}.attn_q.weight", weights(HEADS * HEAD_DIM, EMBEDDING))
        w.add_tensor(f"blk.{i}.attn_k.weight", weights(KV_HEADS * HEAD_DIM, EMBEDDING))
        w.add_tensor(f"blk.{i}.attn_v.weight", weights(KV_HEADS * HEAD_DIM, EMBEDDING))
        w.add_tensor(f"blk.{i}.attn_output.weight", weights(EMBEDDING, HEADS * HEAD_DIM))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(EMBEDDING, dtype=np.float32))
        w.add_tensor(f"blk.{i}.ffn_gate.weight", weights(FEED_FORWARD, EMBEDDING))
        w.add_tensor(f"blk.{i}.ffn_up.weight", weights(FEED_FORWARD, EMBEDDING))
        w.add_tensor(f"blk.{i}.ffn_down.weight", weights(EMBEDDING, FEED_FORWARD))
    w.add_tensor("output_norm.weight", np.ones(EMBEDDING, dtype=np.float32))
    w.add_tensor("output.weight", weights(vocab, EMBEDDING))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python hack/tiny-model.py OUT.gguf")
    write(sys.argv[1])
