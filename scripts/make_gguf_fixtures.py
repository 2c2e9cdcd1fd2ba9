#!/usr/bin/env python3
"""Generate the GGUF / ggml-quantization test fixtures under tests/fixtures/gguf/.

Deterministic (fixed seeds, single-threaded torch). Needs the venv of make_fixtures.py plus
gguf-py from PyPI (`pip install gguf`). Run from anywhere:

    .venv/bin/python scripts/make_gguf_fixtures.py

It reads the tiny models made by scripts/make_fixtures.py (tests/fixtures/models/) and the
fixture tokenizer, and writes (see tests/fixtures/README.md, section "GGUF fixtures"):

  gguf/quants/<type>.blocks|.f32 + manifest.json   random valid ggml blocks + gguf-py dequantization
  gguf/quantize/q8_0|q4_0.input.f32|.blocks          gguf-py quantize() of edge-case inputs
  gguf/<model>.gguf                                  the tiny safetensors models converted like
                                                     llama.cpp's convert_hf_to_gguf.py
  gguf/quant-legacy.gguf|.json, quant-k.gguf|.json   quantized random Llama models + references
  gguf/llama-f32.q8_0.json, llama-f32.q4_0.json      quantize-on-load references for llama-f32
"""

import json
import math
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402  (sets torch single-threaded + deterministic)

import gguf  # noqa: E402
from gguf import GGMLQuantizationType as QT  # noqa: E402
from importlib.metadata import version as pkg_version  # noqa: E402
from safetensors.numpy import load_file as np_load_file  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM  # noqa: E402

ROOT = mf.ROOT
FIX = mf.OUT
OUT = os.path.join(FIX, "gguf")
MODELS = os.path.join(FIX, "models")
TOKENIZER_JSON = os.path.join(FIX, "tokenizer", "tokenizer.json")

VERSIONS = dict(mf.VERSIONS, gguf=pkg_version("gguf"), numpy=np.__version__)

QUANT_TYPES = [
    "q8_0", "q4_0", "q4_1", "q5_0", "q5_1",
    "q2_k", "q3_k", "q4_k", "q5_k", "q6_k",
    "iq4_nl", "iq4_xs",
]
# Byte offsets of the f16 fields (d, and dmin/m where present) inside one block.
F16_FIELDS = {
    "q8_0": [0], "q4_0": [0], "q4_1": [0, 2], "q5_0": [0], "q5_1": [0, 2],
    "q2_k": [80, 82], "q3_k": [108], "q4_k": [0, 2], "q5_k": [0, 2], "q6_k": [208],
    "iq4_nl": [0], "iq4_xs": [0],
}
ROWS, COLS = 4, 512


def qt(name):
    return QT[name.upper()]


def write_f32(path, arr):
    np.ascontiguousarray(arr, dtype="<f4").tofile(path)


def write_bytes(path, arr):
    np.ascontiguousarray(arr, dtype=np.uint8).tofile(path)


# ---------------------------------------------------------------------------
# 1. random valid blocks + gguf-py dequantization
# ---------------------------------------------------------------------------


def random_f16(rng, n, signed=True):
    """Finite f16 values with magnitudes log-uniform in [2^-10, 2^0]."""
    mag = 2.0 ** rng.uniform(-10, 0, size=n)
    sign = rng.choice([-1.0, 1.0], size=n) if signed else 1.0
    return (mag * sign).astype(np.float16)


def make_quants():
    qdir = os.path.join(OUT, "quants")
    os.makedirs(qdir, exist_ok=True)
    manifest = {}
    for i, name in enumerate(QUANT_TYPES):
        t = qt(name)
        block_size, type_size = gguf.GGML_QUANT_SIZES[t]
        rng = np.random.default_rng(1000 + i)
        n_blocks = ROWS * COLS // block_size
        blocks = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
        for off in F16_FIELDS[name]:
            vals = random_f16(rng, n_blocks)
            blocks[:, off:off + 2] = vals.view(np.uint8).reshape(n_blocks, 2)
        # One subnormal f16 scale (first f16 field of block 1): 0x0123 = 291 * 2^-24.
        sub = np.array([0x0123], dtype=np.uint16).view(np.float16)
        blocks[1, F16_FIELDS[name][0]:F16_FIELDS[name][0] + 2] = sub.view(np.uint8)
        assert np.all(np.isfinite(blocks[:, F16_FIELDS[name][0]:F16_FIELDS[name][0] + 2].copy().view(np.float16)))
        data = blocks.reshape(ROWS, COLS // block_size * type_size)
        deq = gguf.quants.dequantize(data, t)
        assert deq.shape == (ROWS, COLS) and deq.dtype == np.float32, (name, deq.shape, deq.dtype)
        assert np.all(np.isfinite(deq)), name
        write_bytes(os.path.join(qdir, f"{name}.blocks"), data)
        write_f32(os.path.join(qdir, f"{name}.f32"), deq)
        manifest[name] = {
            "ggml_type": int(t),
            "rows": ROWS,
            "cols": COLS,
            "block_size": block_size,
            "type_size": type_size,
        }
        print(f"quants/{name}: {data.nbytes} bytes, |max| {np.abs(deq).max():.4g}")
    mf.write_json(os.path.join(qdir, "manifest.json"), manifest)


# ---------------------------------------------------------------------------
# 2. gguf-py quantize() on edge-case inputs
# ---------------------------------------------------------------------------


def quantize_input(name, seed):
    """4 x 512 float32; blocks of 32. Mostly N(0,1); edge blocks in the first row(s)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((ROWS, COLS)).astype(np.float32)
    b = x.reshape(-1, 32)  # view: 64 blocks
    k = 0

    def put(v):
        nonlocal k
        b[k] = np.asarray(v, dtype=np.float32)
        k += 1

    put(np.zeros(32))  # all zeros
    put(np.full(32, 3.0))  # max repeated (every value equal)
    v = rng.standard_normal(32) * 0.5
    v[[3, 9, 20]] = 2.75
    v[[5, 17]] = -2.75  # +max first, -max equal magnitude later
    put(v)
    v = rng.standard_normal(32) * 0.5
    v[[2, 30]] = -2.75
    v[[7, 11]] = 2.75  # -max first (q4_0: +max then hits the 15 clip)
    put(v)
    if name == "q8_0":
        # amax 127 -> d = 1 exactly, id = 1: k + 0.5 values are exact ties (round away from 0).
        v = np.arange(-15.5, 16.5, 1.0)
        v[0] = -127.0
        put(v)
        # amax 63.5 -> d = 0.5, id = 2: x * id hits k + 0.5 for x = k/2 + 0.25.
        v = np.arange(32) * 0.5 - 7.75
        v[31] = 63.5
        put(v)
    else:
        # max -8 -> d = 1, id = 1: x + 8.5 hits integers for x = k + 0.5 (ties round up).
        v = np.concatenate([np.arange(-7.5, 8.0, 1.0), np.arange(-7.5, 8.0, 1.0)])
        v[0] = -8.0
        put(v)
        # max +8 -> d = -1 (negative scale), id = -1.
        v = -np.concatenate([np.arange(-7.5, 8.0, 1.0), np.arange(-7.5, 8.0, 1.0)])
        v[0] = 8.0
        put(v)
        # max -4 -> d = 0.5, id = 2: x = k/2 + 0.25 ties.
        v = np.arange(32) * 0.25 - 3.875
        v[0] = -4.0
        put(v)
    put(rng.standard_normal(32) * 1e-4)  # subnormal f16 scale (q8_0 ~2e-6, q4_0 ~3e-5)
    put(rng.standard_normal(32) * 1e-10)  # scale underflows to f16 zero
    put(rng.standard_normal(32) * 4e4)  # huge values (scale still finite in f16)
    v = rng.standard_normal(32)
    v[13] = -9.0  # negative max-abs element
    put(v)
    v = -np.abs(rng.standard_normal(32))  # all negative
    put(v)
    v = rng.standard_normal(32).astype(np.float32)
    v[6] = np.float32(2 ** -20)  # a single tiny value among normal ones
    put(v)
    return x


def make_quantize():
    qdir = os.path.join(OUT, "quantize")
    os.makedirs(qdir, exist_ok=True)
    for name, seed in [("q8_0", 2000), ("q4_0", 2001)]:
        x = quantize_input(name, seed)
        q = gguf.quants.quantize(x, qt(name))
        assert q.dtype == np.uint8 and q.shape == (ROWS, COLS // 32 * gguf.GGML_QUANT_SIZES[qt(name)][1]), q.shape
        write_f32(os.path.join(qdir, f"{name}.input.f32"), x)
        write_bytes(os.path.join(qdir, f"{name}.blocks"), q)
        d = q.reshape(-1, gguf.GGML_QUANT_SIZES[qt(name)][1])[:, :2].copy().view(np.float16).ravel()
        print(f"quantize/{name}: {q.nbytes} bytes; scales of the edge blocks {d[:12].tolist()}")


# ---------------------------------------------------------------------------
# 3. safetensors -> GGUF (as llama.cpp's convert_hf_to_gguf.py)
# ---------------------------------------------------------------------------

ARCH_OF = {
    "LlamaForCausalLM": "llama",
    "MistralForCausalLM": "llama",
    "Qwen2ForCausalLM": "qwen2",
    "Qwen3ForCausalLM": "qwen3",
}


def permute(w, n_head):
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute (rows of q/k weights and biases)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute(w, n_head):
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def hf_to_gguf_name(name):
    if name == "model.embed_tokens.weight":
        return "token_embd.weight"
    if name == "model.norm.weight":
        return "output_norm.weight"
    if name == "lm_head.weight":
        return "output.weight"
    parts = name.split(".")
    assert parts[0] == "model" and parts[1] == "layers", name
    n, rest = parts[2], ".".join(parts[3:])
    m = {
        "input_layernorm": "attn_norm",
        "post_attention_layernorm": "ffn_norm",
        "self_attn.q_proj": "attn_q",
        "self_attn.k_proj": "attn_k",
        "self_attn.v_proj": "attn_v",
        "self_attn.o_proj": "attn_output",
        "self_attn.q_norm": "attn_q_norm",
        "self_attn.k_norm": "attn_k_norm",
        "mlp.gate_proj": "ffn_gate",
        "mlp.up_proj": "ffn_up",
        "mlp.down_proj": "ffn_down",
    }
    mod, suffix = rest.rsplit(".", 1)
    return f"blk.{n}.{m[mod]}.{suffix}"


def load_safetensors(mdir):
    """name -> numpy array (float32 / float16 / bfloat16-as-uint16 kept as stored)."""
    import safetensors.torch as st

    out = {}
    for f in sorted(os.listdir(mdir)):
        if f.endswith(".safetensors"):
            for k, v in st.load_file(os.path.join(mdir, f)).items():
                out[k] = v
    return out


def rope_freqs_llama3(cfg):
    """convert_hf_to_gguf.py LlamaModel.generate_extra_tensors for rope_type llama3."""
    rp = cfg["rope_parameters"]
    base = rp.get("rope_theta", 10000.0)
    dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    freqs = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    factor = rp.get("factor", 8.0)
    low_freq_factor = rp.get("low_freq_factor", 1.0)
    high_freq_factor = rp.get("high_freq_factor", 4.0)
    old_context_len = rp.get("original_max_position_embeddings", 8192)
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    rope_factors = []
    for freq in freqs:
        wavelen = 2 * math.pi / freq
        if wavelen < high_freq_wavelen:
            rope_factors.append(1)
        elif wavelen > low_freq_wavelen:
            rope_factors.append(factor)
        else:
            smooth = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
            rope_factors.append(1 / ((1 - smooth) / factor + smooth))
    return torch.tensor(rope_factors, dtype=torch.float32).numpy()


def tokenizer_vocab(tok_json_path, vocab_size):
    """convert_hf_to_gguf.py get_vocab_base(): tokens in id order, NORMAL / CONTROL types."""
    with open(tok_json_path, encoding="utf-8") as f:
        tj = json.load(f)
    rev = {i: t for t, i in tj["model"]["vocab"].items()}
    added = {a["id"]: a for a in tj["added_tokens"]}
    tokens, types = [], []
    for i in range(vocab_size):
        if i in added:
            tokens.append(added[i]["content"])
            assert added[i]["special"]
            types.append(int(gguf.TokenType.CONTROL))
        elif i in rev:
            tokens.append(rev[i])
            types.append(int(gguf.TokenType.NORMAL))
        else:
            tokens.append(f"[PAD{i}]")
            types.append(int(gguf.TokenType.UNUSED))
    return tokens, types


def write_model_kv(w, name, cfg, file_type):
    """Model metadata as convert_hf_to_gguf.py writes it (minus the general.* provenance keys)."""
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    rp = cfg.get("rope_parameters") or {}
    w.add_type("model")
    w.add_name(name)
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg["num_key_value_heads"])
    w.add_rope_freq_base(rp.get("rope_theta", cfg.get("rope_theta", 10000.0)))
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    w.add_file_type(int(file_type))
    w.add_vocab_size(cfg["vocab_size"])
    w.add_rope_dimension_count(head_dim)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)


def write_gpt2_tokenizer_kv(w, tokenizer_dir, vocab_size, pre):
    """The byte-level BPE tokenizer of `tokenizer_dir`; returns its SpecialVocab for checks."""
    tokens, types = tokenizer_vocab(os.path.join(tokenizer_dir, "tokenizer.json"), vocab_size)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    sv = gguf.SpecialVocab(tokenizer_dir, load_merges=True, n_vocab=len(tokens))
    sv.add_to_gguf(w, quiet=True)
    return sv


def write_header_kv(w, name, cfg, file_type, tokenizer_dir):
    """Metadata and the fixtures' tokenizer (bos 3, eos 4, pad 0)."""
    write_model_kv(w, name, cfg, file_type)
    sv = write_gpt2_tokenizer_kv(w, tokenizer_dir, cfg["vocab_size"], "default")
    assert sv.special_token_ids == {"bos": 3, "eos": 4, "pad": 0}, sv.special_token_ids
    assert sv.chat_template and len(sv.merges) > 0


def convert_model(name, dtype):
    """tests/fixtures/models/<name> -> gguf/<name>.gguf. dtype: f32 | f16 | bf16 (2-D tensors)."""
    mdir = os.path.join(MODELS, name)
    with open(os.path.join(mdir, "config.json")) as f:
        cfg = json.load(f)
    arch = ARCH_OF[cfg["architectures"][0]]
    tensors = load_safetensors(mdir)
    n_head, n_kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    file_type = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
                 "bf16": gguf.LlamaFileType.MOSTLY_BF16}[dtype]
    path = os.path.join(OUT, f"{name}.gguf")
    w = gguf.GGUFWriter(path, arch)
    write_header_kv(w, name, cfg, file_type, mdir)
    types = {}

    def add(gname, arr, is_2d_weight):
        arr = np.ascontiguousarray(arr)
        if not is_2d_weight or dtype == "f32":
            w.add_tensor(gname, arr.astype(np.float32))
            types[gname] = "F32"
        elif dtype == "f16":
            w.add_tensor(gname, arr.astype(np.float16))
            types[gname] = "F16"
        else:
            q = gguf.quants.quantize(arr.astype(np.float32), QT.BF16)
            w.add_tensor(gname, q, raw_shape=q.shape, raw_dtype=QT.BF16)
            types[gname] = "BF16"

    rp = cfg.get("rope_parameters") or {}
    if rp.get("rope_type") == "llama3":
        add("rope_freqs.weight", rope_freqs_llama3(cfg), False)
    for hf_name, t in tensors.items():
        arr = t.float().numpy()
        gname = hf_to_gguf_name(hf_name)
        if arch == "llama":
            if hf_name.endswith(("q_proj.weight", "q_proj.bias")):
                arr = permute(arr, n_head)
            if hf_name.endswith(("k_proj.weight", "k_proj.bias")):
                arr = permute(arr, n_kv)
        is_2d_weight = arr.ndim == 2 and not gname.endswith("_norm.weight")
        add(gname, arr, is_2d_weight)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    verify_gguf(path, arch, cfg, {hf_to_gguf_name(k): v.float().numpy() for k, v in tensors.items()}, types)
    print(f"{name}.gguf: arch {arch}, {len(types)} tensors, {os.path.getsize(path)} bytes")
    return types


def read_gguf_tensors(path):
    r = gguf.GGUFReader(path)
    out = {}
    for t in r.tensors:
        shape = tuple(int(x) for x in reversed(t.shape.tolist()))
        arr = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type)
        out[t.name] = (arr.reshape(shape), t.tensor_type.name)
    return r, out


def verify_gguf(path, arch, cfg, expected, types, exact=True):
    """Read back with GGUFReader, undo the q/k permutation, compare with `expected` (gguf names)."""
    r, got = read_gguf_tensors(path)
    n_head, n_kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    extra = {"rope_freqs.weight"}
    assert set(got) - extra == set(expected), (set(got) ^ set(expected))
    for gname, exp in expected.items():
        arr, tname = got[gname]
        assert tname == types[gname], (gname, tname, types[gname])
        if arch == "llama" and (".attn_q." in gname or ".attn_k." in gname):
            arr = unpermute(arr, n_head if ".attn_q." in gname else n_kv)
        assert arr.shape == exp.shape, (gname, arr.shape, exp.shape)
        if exact:
            assert np.array_equal(arr.astype(np.float32), exp.astype(np.float32)), gname
        else:
            assert np.allclose(arr, exp, atol=1e-6), gname
    f = r.fields
    assert bytes(f["general.architecture"].parts[-1]).decode() == arch
    assert int(f[f"{arch}.block_count"].parts[-1][0]) == cfg["num_hidden_layers"]
    toks = f["tokenizer.ggml.tokens"]
    assert len(toks.data) == cfg["vocab_size"]


CONVERSIONS = [
    ("llama-f32", "f32"), ("llama-f16", "f16"), ("llama-bf16", "bf16"),
    ("llama-untied-mqa-f32", "f32"), ("llama3-scaled-f32", "f32"), ("mistral-f32", "f32"),
    ("qwen2-f32", "f32"), ("qwen3-f32", "f32"),
]


def make_conversions():
    results = {}
    for name, dtype in CONVERSIONS:
        results[name] = convert_model(name, dtype)
    return results


# ---------------------------------------------------------------------------
# numpy quantizers for k-quants and IQ4 (simple, valid blocks; not llama.cpp's search)
# ---------------------------------------------------------------------------

KVALUES = np.array(gguf.quants.IQ4_NL.kvalues, dtype=np.float32)


def f16(x):
    return np.asarray(x, dtype=np.float32).astype(np.float16)


def f16b(x):
    """float array [n] -> bytes [n, 2] (f16 little-endian)."""
    return f16(x).reshape(-1, 1).view(np.uint8).reshape(-1, 2)


def signed_absmax(x, axis=-1):
    i = np.abs(x).argmax(axis=axis)
    return np.take_along_axis(x, np.expand_dims(i, axis), axis=axis).squeeze(axis)


def safe_div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))


def nearest_kvalue(xs):
    """xs (already divided by the scale) -> index of the nearest IQ4_NL k-value."""
    return np.abs(xs[..., None] - KVALUES).argmin(-1).astype(np.uint8)


def pack_nibbles_32(q):
    """[..., 32] values 0..15 -> [..., 16]: byte j = q[j] | q[j + 16] << 4 (ggml 32-value layout)."""
    return (q[..., :16] | (q[..., 16:] << 4)).astype(np.uint8)


def quant_iq4_nl(x):
    b = x.reshape(-1, 32).astype(np.float32)
    d = signed_absmax(b) / -127.0
    d16 = f16(d).astype(np.float32)
    idx = nearest_kvalue(safe_div(b, d16[:, None]))
    # One least-squares refinement of the scale, then re-assign.
    kv = KVALUES[idx]
    num, den = (kv * b).sum(-1), (kv * kv).sum(-1)
    d2 = f16(safe_div(num, den)).astype(np.float32)
    idx = nearest_kvalue(safe_div(b, d2[:, None]))
    return np.concatenate([f16b(d2), pack_nibbles_32(idx)], axis=1)


def quant_iq4_xs(x):
    sb = x.reshape(-1, 8, 32).astype(np.float32)
    s = signed_absmax(sb) / -127.0  # ideal per-sub-block scale [n, 8]
    d = np.abs(s).max(-1) / 31.0
    d16 = f16(d).astype(np.float32)
    ls = np.clip(np.rint(safe_div(s, d16[:, None])), -32, 31).astype(np.int32)
    dl = d16[:, None] * ls
    idx = nearest_kvalue(safe_div(sb, dl[..., None]))  # [n, 8, 32]
    lsu = (ls + 32).astype(np.uint32)  # 6 bits
    scales_h = np.zeros(len(sb), dtype=np.uint16)
    for i in range(8):
        scales_h |= ((lsu[:, i] >> 4) & 3).astype(np.uint16) << np.uint16(2 * i)
    low = (lsu & 0xF).astype(np.uint8)
    scales_l = low[:, 0::2] | (low[:, 1::2] << 4)
    qs = pack_nibbles_32(idx).reshape(len(sb), 128)
    out = np.concatenate([f16b(d16), scales_h.reshape(-1, 1).view(np.uint8), scales_l, qs], axis=1)
    return out


def affine_subblocks(sb, nmax, smax):
    """sb [n, S, L] -> d, dmin (f16-rounded f32 [n]), sc, m ([n, S] ints 0..smax), q ([n,S,L] 0..nmax)
    for y = d*sc*q - dmin*m."""
    lo = np.minimum(sb.min(-1), 0.0)
    hi = sb.max(-1)
    scale = (hi - lo) / nmax
    mins = -lo
    d = f16(scale.max(-1) / smax).astype(np.float32)
    dmin = f16(mins.max(-1) / smax).astype(np.float32)
    sc = np.clip(np.rint(safe_div(scale, d[:, None])), 0, smax).astype(np.int32)
    m = np.clip(np.ceil(safe_div(mins, dmin[:, None]) - 1e-6), 0, smax).astype(np.int32)
    step = d[:, None] * sc
    off = dmin[:, None] * m
    q = np.clip(np.rint(safe_div(sb + off[..., None], step[..., None])), 0, nmax).astype(np.uint8)
    return d, dmin, sc, m, q


def quant_q2_k(x):
    sb = x.reshape(-1, 16, 16).astype(np.float32)
    n = len(sb)
    d, dmin, sc, m, q = affine_subblocks(sb, 3, 15)
    scales = (sc | (m << 4)).astype(np.uint8)
    qf = q.reshape(n, 2, 4, 32)  # element p = c*128 + s*32 + l
    qs = np.zeros((n, 2, 32), dtype=np.uint8)
    for s in range(4):
        qs |= qf[:, :, s, :] << (2 * s)
    return np.concatenate([scales, qs.reshape(n, 64), f16b(d), f16b(dmin)], axis=1)


def pack_k_scales(sc, m):
    """Q4_K/Q5_K 12-byte packing of 8 6-bit scales and 8 6-bit mins."""
    sc = sc.astype(np.uint8)
    m = m.astype(np.uint8)
    out = np.zeros((len(sc), 12), dtype=np.uint8)
    for j in range(4):
        out[:, j] = (sc[:, j] & 63) | ((sc[:, j + 4] >> 4) << 6)
        out[:, 4 + j] = (m[:, j] & 63) | ((m[:, j + 4] >> 4) << 6)
        out[:, 8 + j] = (sc[:, j + 4] & 0xF) | ((m[:, j + 4] & 0xF) << 4)
    return out


def quant_q4_k(x):
    sb = x.reshape(-1, 8, 32).astype(np.float32)
    n = len(sb)
    d, dmin, sc, m, q = affine_subblocks(sb, 15, 63)
    qf = q.reshape(n, 4, 2, 32)  # chunk c: low nibble sub-block 2c, high 2c+1
    qs = (qf[:, :, 0, :] | (qf[:, :, 1, :] << 4)).reshape(n, 128)
    return np.concatenate([f16b(d), f16b(dmin), pack_k_scales(sc, m), qs], axis=1)


def quant_q5_k(x):
    sb = x.reshape(-1, 8, 32).astype(np.float32)
    n = len(sb)
    d, dmin, sc, m, q = affine_subblocks(sb, 31, 63)
    ql = q & 0xF
    qf = ql.reshape(n, 4, 2, 32)
    qs = (qf[:, :, 0, :] | (qf[:, :, 1, :] << 4)).reshape(n, 128)
    qh = np.zeros((n, 32), dtype=np.uint8)
    for b in range(8):
        qh |= ((q[:, b, :] >> 4) & 1) << b
    return np.concatenate([f16b(d), f16b(dmin), pack_k_scales(sc, m), qh, qs], axis=1)


def quant_q3_k(x):
    sb = x.reshape(-1, 16, 16).astype(np.float32)
    n = len(sb)
    s = signed_absmax(sb) / -4.0
    d = f16(np.abs(s).max(-1) / 31.0).astype(np.float32)
    ls = np.clip(np.rint(safe_div(s, d[:, None])), -32, 31).astype(np.int32)
    dl = d[:, None] * ls
    q = np.clip(np.rint(safe_div(sb, dl[..., None])), -4, 3).astype(np.int32).reshape(n, 256)
    ql = ((q + 4) & 3).astype(np.uint8)  # q = ql - (hbit ? 0 : 4)
    hb = (q >= 0).astype(np.uint8)
    hmask = np.zeros((n, 32), dtype=np.uint8)
    for b in range(8):
        hmask |= hb[:, b * 32:(b + 1) * 32] << b
    qf = ql.reshape(n, 2, 4, 32)
    qs = np.zeros((n, 2, 32), dtype=np.uint8)
    for sh in range(4):
        qs |= qf[:, :, sh, :] << (2 * sh)
    u = (ls + 32).astype(np.uint8)  # 6 bits, 16 of them
    scales = np.zeros((n, 12), dtype=np.uint8)
    for i in range(16):
        if i < 8:
            scales[:, i] |= u[:, i] & 0xF
        else:
            scales[:, i - 8] |= (u[:, i] & 0xF) << 4
        scales[:, 8 + i % 4] |= ((u[:, i] >> 4) & 3) << (2 * (i // 4))
    return np.concatenate([hmask, qs.reshape(n, 64), scales, f16b(d)], axis=1)


def quant_q6_k(x):
    sb = x.reshape(-1, 16, 16).astype(np.float32)
    n = len(sb)
    s = signed_absmax(sb) / -32.0
    d = f16(np.abs(s).max(-1) / 127.0).astype(np.float32)
    sc = np.clip(np.rint(safe_div(s, d[:, None])), -128, 127).astype(np.int32)
    dl = d[:, None] * sc
    q = (np.clip(np.rint(safe_div(sb, dl[..., None])), -32, 31).astype(np.int32) + 32).astype(np.uint8)
    q = q.reshape(n, 2, 128)  # halves h
    ql = np.zeros((n, 2, 64), dtype=np.uint8)
    qh = np.zeros((n, 2, 32), dtype=np.uint8)
    for k in range(2):  # p = h*128 + k*64 + l -> ql[h*64 + l] nibble k
        ql |= (q[:, :, k * 64:(k + 1) * 64] & 0xF) << (4 * k)
    for s2 in range(4):  # p = h*128 + s*32 + l -> qh[h*32 + l] bits 2s
        qh |= ((q[:, :, s2 * 32:(s2 + 1) * 32] >> 4) & 3) << (2 * s2)
    return np.concatenate([ql.reshape(n, 128), qh.reshape(n, 64), sc.astype(np.int8).view(np.uint8), f16b(d)], axis=1)


OWN_QUANTIZERS = {
    QT.IQ4_NL: quant_iq4_nl, QT.IQ4_XS: quant_iq4_xs, QT.Q2_K: quant_q2_k, QT.Q3_K: quant_q3_k,
    QT.Q4_K: quant_q4_k, QT.Q5_K: quant_q5_k, QT.Q6_K: quant_q6_k,
}


def quantize_tensor(w, t):
    """w [rows, cols] float32 -> packed uint8 [rows, bytes_per_row] (gguf-py or own quantizer)."""
    w = np.ascontiguousarray(w, dtype=np.float32)
    block_size, type_size = gguf.GGML_QUANT_SIZES[t]
    if t in OWN_QUANTIZERS:
        q = OWN_QUANTIZERS[t](w).reshape(w.shape[0], w.shape[1] // block_size * type_size)
    else:
        q = gguf.quants.quantize(w, t)
    assert q.dtype == np.uint8 and q.shape == (w.shape[0], w.shape[1] // block_size * type_size), (t, q.shape)
    deq = gguf.quants.dequantize(q, t)
    assert deq.shape == w.shape and np.all(np.isfinite(deq))
    rel = np.sqrt(((deq - w) ** 2).mean() / (w ** 2).mean())
    return q, deq, rel


def self_test_quantizers():
    """The packers must round-trip with gguf-py's dequantizers: rel. RMS error small."""
    rng = np.random.default_rng(7)
    w = rng.standard_normal((8, 512)).astype(np.float32)
    w[0, :256] = np.abs(w[0, :256])  # all-positive super-block
    w[1, :256] = -np.abs(w[1, :256])  # all-negative super-block
    w[2, :32] = 0.0
    limits = {QT.Q2_K: 0.45, QT.Q3_K: 0.25, QT.Q4_K: 0.12, QT.Q5_K: 0.06, QT.Q6_K: 0.04,
              QT.IQ4_NL: 0.12, QT.IQ4_XS: 0.12}
    errs = {}
    for t, lim in limits.items():
        _, _, rel = quantize_tensor(w, t)
        errs[t.name] = round(float(rel), 4)
        assert rel < lim, (t.name, rel)
    print(f"own quantizers, relative RMS error on N(0,1): {errs}")
    return errs


# ---------------------------------------------------------------------------
# 4. quantized random Llama models
# ---------------------------------------------------------------------------

QMODEL_CFG = dict(
    hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, head_dim=64, max_position_embeddings=256, rms_norm_eps=1e-5,
    hidden_act="silu", attention_dropout=0.0, pad_token_id=None, rope_theta=10000.0,
)
HF_OF = {
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
QMIN_MARGIN = 0.1


def type_plan(kind):
    """gguf tensor name -> type. Big ffn tensors get the low-bit types (keeps the files small)."""
    L = QT
    if kind == "quant-legacy":
        plan = {
            "token_embd.weight": L.Q5_0, "output.weight": L.Q4_1,
            "blk.0.attn_q.weight": L.Q5_0, "blk.0.attn_k.weight": L.Q8_0, "blk.0.attn_v.weight": L.Q5_1,
            "blk.0.attn_output.weight": L.Q4_0, "blk.0.ffn_gate.weight": L.Q4_0,
            "blk.0.ffn_up.weight": L.IQ4_NL, "blk.0.ffn_down.weight": L.IQ4_NL,
            "blk.1.attn_q.weight": L.Q4_1, "blk.1.attn_k.weight": L.Q5_1, "blk.1.attn_v.weight": L.Q8_0,
            "blk.1.attn_output.weight": L.IQ4_NL, "blk.1.ffn_gate.weight": L.IQ4_NL,
            "blk.1.ffn_up.weight": L.Q4_0, "blk.1.ffn_down.weight": L.Q4_0,
        }
        want = {L.Q8_0, L.Q4_0, L.Q4_1, L.Q5_0, L.Q5_1, L.IQ4_NL}
    else:
        plan = {
            "token_embd.weight": L.Q6_K,
            "blk.0.attn_q.weight": L.Q4_K, "blk.0.attn_k.weight": L.Q5_K, "blk.0.attn_v.weight": L.Q6_K,
            "blk.0.attn_output.weight": L.IQ4_XS, "blk.0.ffn_gate.weight": L.Q3_K,
            "blk.0.ffn_up.weight": L.Q2_K, "blk.0.ffn_down.weight": L.IQ4_XS,
            "blk.1.attn_q.weight": L.Q4_K, "blk.1.attn_k.weight": L.Q6_K, "blk.1.attn_v.weight": L.Q5_K,
            "blk.1.attn_output.weight": L.Q4_K, "blk.1.ffn_gate.weight": L.Q2_K,
            "blk.1.ffn_up.weight": L.Q3_K, "blk.1.ffn_down.weight": L.Q3_K,
        }
        want = {L.Q2_K, L.Q3_K, L.Q4_K, L.Q5_K, L.Q6_K, L.IQ4_XS}
    counts = {}
    for t in plan.values():
        counts[t] = counts.get(t, 0) + 1
    assert set(counts) == want and min(counts.values()) >= 2, counts
    return plan


def gguf_to_hf_name(gname):
    if gname == "token_embd.weight":
        return "model.embed_tokens.weight"
    if gname == "output.weight":
        return "lm_head.weight"
    _, layer, t, suffix = gname.split(".")
    return f"model.layers.{layer}.{HF_OF[t]}.{suffix}"


@torch.no_grad()
def quantize_model(model, plan):
    """Replace weights by their dequantized quantization; returns {gguf name: packed (HF rows)}."""
    sd = model.state_dict()
    packed, errs = {}, {}
    for gname, t in plan.items():
        hf = gguf_to_hf_name(gname)
        w = sd[hf].float().numpy()
        q, deq, rel = quantize_tensor(w, t)
        packed[gname] = q
        errs[gname] = float(rel)
        dict(model.named_parameters())[hf].copy_(torch.from_numpy(deq))
    return packed, errs


def reference_record(model, prompt_text, prompt_ids, seed, gain, dtype, extra=None):
    gen, margin = mf.greedy(model, prompt_ids, mf.N_GEN)
    logits = mf.forward_logits(model, prompt_ids)
    # Cross-check with generate() as make_fixtures.py does.
    model.generation_config = GenerationConfig(do_sample=False, eos_token_id=None, bos_token_id=3, pad_token_id=0)
    with torch.no_grad():
        out = model.generate(torch.tensor([prompt_ids]), attention_mask=torch.ones(1, len(prompt_ids), dtype=torch.long),
                             max_new_tokens=mf.N_GEN, do_sample=False)
    assert out[0, len(prompt_ids):].tolist() == gen
    ref = mf.reference_json(dtype, seed, gain, prompt_text, prompt_ids, gen, margin, logits.std().item(), logits,
                            versions={"gguf_version": VERSIONS["gguf"]})
    if extra:
        ref.update(extra)
    return ref, gen, margin


def make_quant_model(kind, tok):
    tied = kind == "quant-k"
    gain = 3.0 if tied else 1.0
    prompt_ids = tok.encode(mf.PROMPT_TEXT, add_special_tokens=True).ids
    cfg_kwargs = dict(QMODEL_CFG, tie_word_embeddings=tied)
    plan = type_plan(kind)
    assert ("output.weight" in plan) != tied
    special = {0, 1, 2, 3, 4}  # no special token (llama.cpp would treat several as end-of-generation)
    chosen = None
    for seed in mf.SEED_RANGE:
        model = mf.build_model(LlamaForCausalLM, LlamaConfig, cfg_kwargs, 448, {"<s>": 3, "</s>": 4},
                               seed, "f32", prompt_ids, gain)
        packed, errs = quantize_model(model, plan)
        gen, margin = mf.greedy(model, prompt_ids, mf.N_GEN)
        ok = len(set(gen)) >= mf.MIN_DISTINCT and margin >= QMIN_MARGIN and not (set(gen) & special)
        print(f"  {kind} seed {seed}: distinct {len(set(gen))} margin {margin:.4f}")
        if ok:
            chosen = (seed, model, packed, errs)
            break
    assert chosen, kind
    seed, model, packed, errs = chosen
    tensor_types = {g: t.name for g, t in sorted(plan.items())}
    ref, gen, margin = reference_record(
        model, mf.PROMPT_TEXT, prompt_ids, seed, gain, kind,
        {"tensor_types": tensor_types, "quantization_rel_rms_error": {k: mf.r6(v) for k, v in sorted(errs.items())}},
    )
    mf.write_json(os.path.join(OUT, f"{kind}.json"), ref, compact=True)

    # GGUF: quantized tensors (q/k rows permuted), norms F32.
    cfg = model.config.to_dict()
    cfg.setdefault("rope_parameters", {"rope_theta": 10000.0, "rope_type": "default"})
    n_head, n_kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    path = os.path.join(OUT, f"{kind}.gguf")
    w = gguf.GGUFWriter(path, "llama")
    ftype = gguf.LlamaFileType.MOSTLY_Q4_0 if kind == "quant-legacy" else gguf.LlamaFileType.MOSTLY_Q4_K_M
    write_header_kv(w, kind, cfg, ftype, os.path.join(MODELS, "llama-f32"))
    sd = model.state_dict()
    expected, types = {}, {}
    for hf_name, p in sd.items():
        if tied and hf_name == "lm_head.weight":
            continue
        gname = hf_to_gguf_name(hf_name)
        arr = p.float().numpy()
        expected[gname] = arr
        if gname in packed:
            q = packed[gname]
            if ".attn_q." in gname:
                q = permute(q, n_head)
            elif ".attn_k." in gname:
                q = permute(q, n_kv)
            w.add_tensor(gname, np.ascontiguousarray(q), raw_shape=q.shape, raw_dtype=plan[gname])
            types[gname] = plan[gname].name
        else:
            assert arr.ndim == 1, gname
            w.add_tensor(gname, arr.astype(np.float32))
            types[gname] = "F32"
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    verify_gguf(path, "llama", cfg, expected, types)
    print(f"{kind}: seed {seed} greedy {gen} min_margin {margin:.4f} logits_std {ref['logits_std']} "
          f"{os.path.getsize(path)} bytes; types {tensor_types}")
    return {"seed": seed, "min_margin": margin, "logits_std": ref["logits_std"], "tensor_types": tensor_types,
            "bytes": os.path.getsize(path)}


# ---------------------------------------------------------------------------
# 5. quantize-on-load references for llama-f32
# ---------------------------------------------------------------------------


@torch.no_grad()
def make_quantize_on_load_refs():
    mdir = os.path.join(MODELS, "llama-f32")
    with open(os.path.join(mdir, "reference.json")) as f:
        base = json.load(f)
    res = {}
    for qname in ["q8_0", "q4_0"]:
        model = LlamaForCausalLM.from_pretrained(mdir, dtype=torch.float32, attn_implementation="eager").eval()
        assert model.lm_head.weight is model.model.embed_tokens.weight
        done = []
        for name, p in model.named_parameters():  # the tied lm_head appears once (embed_tokens)
            if name.endswith(".weight") and p.ndim == 2 and p.shape[-1] % 32 == 0:
                q = gguf.quants.quantize(p.numpy(), qt(qname))
                p.copy_(torch.from_numpy(gguf.quants.dequantize(q, qt(qname))))
                done.append(name)
        prompt_ids = base["prompt_ids"]
        ref, gen, margin = reference_record(
            model, base["prompt_text"], prompt_ids, base["seed"], base["residual_gain"], qname,
            {"quantized_tensors": done},
        )
        mf.write_json(os.path.join(OUT, f"llama-f32.{qname}.json"), ref, compact=True)
        same = sum(a == b for a, b in zip(gen, base["greedy_ids"]))
        print(f"llama-f32.{qname}: {len(done)} tensors, greedy {gen} ({same}/16 same as f32), "
              f"min_margin {margin:.4f}")
        res[qname] = {"min_margin": margin, "greedy_same_as_f32": same}
    return res


README_BEGIN = "<!-- BEGIN GGUF FIXTURES (written by scripts/make_gguf_fixtures.py) -->"
README_END = "<!-- END GGUF FIXTURES -->"

README_SECTION = """## GGUF fixtures (`gguf/`)

Generated by `scripts/make_gguf_fixtures.py` (deterministic; needs gguf-py: `pip install gguf`),
which `make_fixtures.py` runs last (it reads the models and tokenizer made before it); on its
own it re-creates just this section's files. Versions: {versions}.
All binary files are little-endian; tensors are row-major (ggml `ne[0]` = the contiguous row).

- `quants/<type>.blocks` + `.f32` for {types}: a 4 x 512 tensor as raw ggml blocks, rows
  contiguous (`512 / block_size * type_size` bytes per row). Every byte random except the f16
  `d` / `dmin` / `m` fields: random finite values, sign mixed, magnitude log-uniform in
  [2^-10, 1]; block 1's first f16 field is the subnormal 0x0123. `.f32` = gguf-py's
  `gguf.quants.dequantize` (float32, 4 x 512). `quants/manifest.json`: ggml type id, rows,
  cols, block_size, type_size per type.
- `quantize/q8_0|q4_0.input.f32` (4 x 512 float32) and `.blocks` = gguf-py
  `gguf.quants.quantize(x, type)` (bit-exact port of ggml's reference quantizers). The first
  blocks (of 32) are edge cases, the rest N(0,1): all zeros; one value repeated; +max and -max
  of equal magnitude (either first); exact .5 ties after scaling (q8_0: amax 127 -> d = 1 and
  amax 63.5 -> d = 0.5; q4_0: max -8 -> d = 1, max +8 -> d = -1, max -4 -> d = 0.5); 1e-4 values
  (subnormal f16 d); 1e-10 values (d underflows to f16 0 while the quants are NOT zero: ggml
  computes them with the f32 scale); values ~4e4 (large, finite d); a negative max-abs element;
  all negative; one 2^-20 value. Behaviour to match: q8_0 rounds half away from zero
  (`roundf`), d = amax/127, id = 1/d in f32; q4_0 is `min(15, trunc(x*id + 8.5))` with
  d = max/-8 where max is the signed value of largest magnitude (first one on ties), so d is
  negative when that value is positive, ties go up (toward +inf in quant space), +max against a
  negative-first max clips at 15, and an all-zero block stores d = -0.0 (0x8000), quants 8.
- `<model>.gguf` for {conv}: the safetensors fixtures in `models/` converted as llama.cpp's
  `convert_hf_to_gguf.py` does (gguf-py `GGUFWriter`, default alignment 32): arch `llama` for
  Llama/Mistral (q/k weight rows permuted:
  `w.reshape(n_head, 2, rows // n_head // 2, *rest).swapaxes(1, 2).reshape(w.shape)`, n_head =
  kv heads for k), `qwen2` (biases, not permuted), `qwen3` (attn_q_norm/attn_k_norm, not
  permuted). 2-D weights F32 / F16 (`llama-f16`) / BF16 (`llama-bf16`), 1-D tensors F32.
  `llama3-scaled-f32` has `rope_freqs.weight` (F32 [head_dim/2], divisors of the frequencies,
  here [1, 8, 8, 8, 8, 8, 8, 8]) and no rope-scaling metadata. Tied models have no `output`.
  The tests reuse `models/<name>/reference.json`. Keys: general.architecture, general.type,
  general.name, general.file_type, general.quantization_version, `{{arch}}.`context_length,
  embedding_length, block_count, feed_forward_length, attention.head_count,
  attention.head_count_kv, rope.freq_base, attention.layer_norm_rms_epsilon (f32),
  attention.key_length, attention.value_length, vocab_size, rope.dimension_count;
  tokenizer.ggml.model `gpt2`, tokenizer.ggml.pre `default`, tokens, token_type (1 normal,
  3 control for ids 0-4), merges, bos_token_id 3, eos_token_id 4, padding_token_id 0,
  add_bos_token true, add_sep_token false, add_eos_token false, tokenizer.chat_template (ChatML).
  Every file is read back with `GGUFReader`, un-permuted and compared exactly with the safetensors.
- `quant-legacy.gguf` / `quant-k.gguf` + `.json`: random Llama models (hidden 256,
  intermediate 512, 2 layers, 4 heads, 2 KV heads, head_dim 64, vocab 448, 256 positions,
  theta 1e4, eps 1e-5), weights redrawn as in `make_fixtures.py`; quant-legacy untied
  (residual_gain 1), quant-k tied (gain 3). Weights quantized (gguf-py for Q8_0/Q4_x/Q5_x;
  this script's simple numpy quantizers for the k-quants and IQ4_NL/IQ4_XS, checked with
  gguf-py's dequantizers), the reference computed from the gguf-py-DEquantized weights
  exactly as `reference.json` (same prompt, 6 significant digits, plain argmax loop cross-checked
  with `generate`); seed = first with >= 8 distinct greedy tokens, margin >= 0.1 and no special
  token (ids 0-4) in the greedy path. The `.json` adds `tensor_types` (gguf name -> type) and
  `quantization_rel_rms_error`. Quantized q/k rows are permuted in the file like F32 ones.
{qtable}
- `llama-f32.q8_0.json` / `llama-f32.q4_0.json`: quantize-on-load references for
  `models/llama-f32`: every `.weight` tensor with 2 dims and a last dim multiple of 32 (all 15,
  incl. the tied embedding, which the output uses too) replaced by gguf-py quantize ->
  dequantize; `reference.json` format plus `quantized_tensors`.
{ltable}
"""


def write_readme_section(qres, lres):
    path = os.path.join(FIX, "README.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    before, after = text, ""
    if README_BEGIN in text:
        before = text[: text.index(README_BEGIN)]
        after = text[text.index(README_END) + len(README_END):].lstrip("\n") if README_END in text else ""
    before = before.rstrip("\n") + "\n"
    qtable = "\n  | model | seed | min_margin | logits_std | bytes | tensor types |\n  |---|---|---|---|---|---|\n" + "\n".join(
        f"  | {k} | {v['seed']} | {v['min_margin']:.4f} | {v['logits_std']:.3f} | {v['bytes']} | "
        + ", ".join(f"{g.replace('.weight', '')} {t}" for g, t in v["tensor_types"].items()) + " |"
        for k, v in qres.items()
    )
    ltable = "\n  | reference | min_margin | greedy ids equal to f32 |\n  |---|---|---|\n" + "\n".join(
        f"  | llama-f32.{k} | {v['min_margin']:.4f} | {v['greedy_same_as_f32']}/16 |" for k, v in lres.items()
    )
    section = README_SECTION.format(
        versions=", ".join(f"{k} {v}" for k, v in VERSIONS.items()),
        types=", ".join(QUANT_TYPES),
        conv=", ".join(n for n, _ in CONVERSIONS),
        qtable=qtable,
        ltable=ltable,
    )
    with open(path, "w", encoding="utf-8") as f:
        f.write(before + "\n" + README_BEGIN + "\n" + section + README_END + "\n" + ("\n" + after if after else ""))


def main():
    # Only this script's own outputs are replaced: other scripts (make_gguf_tokenizer_fixtures.py)
    # write into the same folder.
    for sub in ["quants", "quantize"]:
        if os.path.isdir(os.path.join(OUT, sub)):
            shutil.rmtree(os.path.join(OUT, sub))
    os.makedirs(OUT, exist_ok=True)
    print("versions:", VERSIONS)
    make_quants()
    make_quantize()
    make_conversions()
    self_test_quantizers()
    tok = Tokenizer.from_file(TOKENIZER_JSON)
    qres = {kind: make_quant_model(kind, tok) for kind in ["quant-legacy", "quant-k"]}
    lres = make_quantize_on_load_refs()
    mf.write_json(os.path.join(OUT, "VERSION.json"), {
        "generator": "scripts/make_gguf_fixtures.py",
        "versions": VERSIONS,
        "quant_models": {k: {kk: (mf.r6(vv) if isinstance(vv, float) else vv) for kk, vv in v.items()}
                         for k, v in qres.items()},
        "quantize_on_load": {k: {kk: (mf.r6(vv) if isinstance(vv, float) else vv) for kk, vv in v.items()}
                             for k, v in lres.items()},
    })
    write_readme_section(qres, lres)
    size = mf.dir_size(OUT)
    print(f"tests/fixtures/gguf total: {size / 1e6:.2f} MB ({size} bytes)")


if __name__ == "__main__":
    main()
