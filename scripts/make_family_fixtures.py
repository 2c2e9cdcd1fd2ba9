#!/usr/bin/env python3
"""Tiny random-weight fixtures for more model families (Gemma 1/2/3, OLMo 2, SmolLM3, Granite,
Phi-3 / Phi-4-mini longrope, GPT-2, Mistral with a sliding window) and their GGUF conversions.

Builds on scripts/make_fixtures.py (imported as a module, not edited): same fixture tokenizer,
prompt, seed search, logits scaling, reference.json format. Only the redraw is extended to the
new module types. Output (see tests/fixtures/families.md):

  tests/fixtures/models/<name>/   config.json, model.safetensors, tokenizer files,
                                  generation_config.json, reference.json (+ "architecture",
                                  "window", "context" keys)
  tests/fixtures/gguf/<name>.gguf written by llama.cpp's own convert_hf_to_gguf.py (--outtype f32)

Run from the repo root (the venv of make_fixtures.py plus `gguf` and `sentencepiece`, which the
converter's LlamaModel.set_vocab imports before falling back to the BPE vocab):

    .venv/bin/pip download --no-deps --no-binary llama-cpp-python llama-cpp-python -d /tmp/lcp
    tar xzf /tmp/lcp/llama_cpp_python-*.tar.gz -C /tmp/lcp
    .venv/bin/python scripts/make_family_fixtures.py --llama-cpp /tmp/lcp/llama_cpp_python-0.3.36/vendor/llama.cpp

Options: --only NAME[,NAME] (subset), --no-gguf, --gguf-only (convert existing folders).
The converter runs in a child process (`--convert`) with the vendored gguf-py first on sys.path.
The one workaround applied to it: the fixture tokenizer's pre-tokenizer hash is unknown to
llama.cpp, so get_vocab_base_pre() returns "gpt-2" (the fixture tokenizer IS GPT-2's byte-level
regex); and the Gemma 1/2 and Phi-3 converters insist on a SentencePiece tokenizer.model, so their
set_vocab() is replaced by the generic _set_vocab_gpt2() (what Gemma 3 / Phi-4 do without one).
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------------------
# GGUF conversion child process (must import the vendored gguf-py before anything else)
# ---------------------------------------------------------------------------


def convert_child(llama_cpp, model_dir, outfile, outtype):
    sys.path.insert(0, os.path.join(llama_cpp, "gguf-py"))
    sys.path.insert(0, llama_cpp)
    os.environ.pop("NO_LOCAL_GGUF", None)
    import convert_hf_to_gguf as cv  # noqa: E402
    import conversion.base as cb  # noqa: E402
    import conversion.gemma as cg  # noqa: E402
    import conversion.phi as cp  # noqa: E402
    import gguf  # noqa: E402

    assert os.path.abspath(gguf.__file__).startswith(os.path.abspath(llama_cpp)), gguf.__file__

    # Workaround 1: unknown BPE pre-tokenizer hash -> GPT-2's regex (which the fixture uses).
    cb.TextModel.get_vocab_base_pre = lambda self, tokenizer: "gpt-2"

    # Workaround 2: no tokenizer.model (SentencePiece) in the fixtures.
    def gpt2_vocab(self):
        self._set_vocab_gpt2()

    cg.GemmaModel.set_vocab = gpt2_vocab
    cg.Gemma2Model.set_vocab = gpt2_vocab
    cp.Phi3MiniModel.set_vocab = gpt2_vocab

    sys.argv = ["convert_hf_to_gguf.py", model_dir, "--outfile", outfile, "--outtype", outtype]
    cv.main()


def describe_child(llama_cpp, models_dir, gguf_dir, names):
    """Open each GGUF with the vendored gguf-py; print its metadata (minus the token lists) and
    each tensor with the HF tensor it came from and the transform (checked numerically)."""
    sys.path.insert(0, os.path.join(llama_cpp, "gguf-py"))
    import numpy as np
    import gguf
    from safetensors.numpy import load_file

    def permute(w, n_head):  # convert_hf_to_gguf LlamaModel.permute
        return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

    for fname in names.split(","):
        model = fname.split(".")[0]
        hf = {k: v.astype(np.float32) for k, v in load_file(os.path.join(models_dir, model, "model.safetensors")).items()}
        cfg = json.load(open(os.path.join(models_dir, model, "config.json")))
        nh = cfg.get("num_attention_heads", cfg.get("n_head"))
        nkv = cfg.get("num_key_value_heads", nh)
        r = gguf.GGUFReader(os.path.join(gguf_dir, fname))
        print(f"### {fname}")
        for k, f in r.fields.items():
            if k.startswith("GGUF.") or k in ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges"):
                continue
            v = f.contents()
            if isinstance(v, str) and len(v) > 60:
                v = v[:57] + "..."
            print(f"  kv {k} = {v!r}")
        print(f"  kv tokenizer.ggml.tokens: {len(r.fields['tokenizer.ggml.tokens'].data)} entries; merges: "
              f"{len(r.fields['tokenizer.ggml.merges'].data) if 'tokenizer.ggml.merges' in r.fields else 0}")
        for t in r.tensors:
            shape = tuple(int(x) for x in reversed(t.shape.tolist()))  # numpy (row-major) order
            arr = np.asarray(gguf.quants.dequantize(np.asarray(t.data), t.tensor_type), dtype=np.float32).reshape(shape)
            how = "?"
            for hn, hv in hf.items():
                cands = [("", hv), ("+1", hv + 1.0)]
                if hv.ndim == 2:
                    cands.append(("transposed", hv.T))
                if hv.ndim >= 1 and hv.shape[0] % 2 == 0:
                    for n in {nh, nkv}:
                        if hv.shape[0] % (2 * n) == 0:
                            cands.append((f"permuted(n_head={n})", permute(hv, n)))
                if hn.endswith("embed_tokens.weight") or hn.endswith("wte.weight"):
                    cands.append(("", hv))
                for tag, c in cands:
                    if c.shape == arr.shape and np.allclose(c, arr, atol=1e-3 if t.tensor_type.name == "F16" else 0, rtol=1e-3 if t.tensor_type.name == "F16" else 0):
                        how = f"{hn}" + (f" [{tag}]" if tag else "")
                        break
                if how != "?":
                    break
            if how == "?" and t.name.startswith("rope_factors"):
                how = "generated (rope_parameters factors)"
            print(f"  t {t.name} {t.tensor_type.name} {list(shape)} <- {how}")


if __name__ == "__main__" and sys.argv[1:2] == ["--convert"]:
    convert_child(*sys.argv[2:6])
    sys.exit(0)
if __name__ == "__main__" and sys.argv[1:2] == ["--describe"]:
    describe_child(*sys.argv[2:6])
    sys.exit(0)


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------

sys.path.insert(0, HERE)
import make_fixtures as mf  # noqa: E402  (single-threaded, deterministic torch)

import torch  # noqa: E402
import transformers  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402
from transformers import (  # noqa: E402
    AutoConfig,
    AutoModelForCausalLM,
    Gemma2Config,
    Gemma2ForCausalLM,
    Gemma3ForCausalLM,
    Gemma3TextConfig,
    GemmaConfig,
    GemmaForCausalLM,
    GPT2Config,
    GPT2LMHeadModel,
    GraniteConfig,
    GraniteForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    Olmo2Config,
    Olmo2ForCausalLM,
    Phi3Config,
    Phi3ForCausalLM,
    SmolLM3Config,
    SmolLM3ForCausalLM,
)
from transformers.pytorch_utils import Conv1D  # noqa: E402

FIX = mf.OUT
MODELS = os.path.join(FIX, "models")
GGUF_DIR = os.path.join(FIX, "gguf")
TOKENIZER_JSON = os.path.join(FIX, "tokenizer", "tokenizer.json")

# Smaller than make_fixtures.COMMON (hidden 64) to keep each fixture folder < 400 KB.
BASE = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=256,
    rms_norm_eps=1e-6,
    attention_dropout=0.0,
    pad_token_id=None,
)
WINDOW = 8


def longrope_factors(seed, n):
    g = torch.Generator().manual_seed(seed)
    long = (1.0 + 3.0 * torch.rand(n, generator=g)).tolist()  # U(1, 4)
    short = (1.0 + 0.5 * torch.rand(n, generator=g)).tolist()  # U(1, 1.5)
    return [mf.r6(x) for x in short], [mf.r6(x) for x in long]


PHI3_SHORT, PHI3_LONG = longrope_factors(7, 8)  # head_dim 16 -> 8 factors
PHI4_SHORT, PHI4_LONG = longrope_factors(8, 6)  # 12 rotary dims -> 6 factors

GEMMA3_KW = dict(
    BASE,
    num_hidden_layers=6,
    num_attention_heads=2,
    num_key_value_heads=1,
    head_dim=16,
    intermediate_size=48,
    hidden_activation="gelu_pytorch_tanh",
    sliding_window=WINDOW,
    sliding_window_pattern=6,
    layer_types=["sliding_attention"] * 5 + ["full_attention"],
    query_pre_attn_scalar=16,
    rope_parameters={
        "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
        "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
    },
    tie_word_embeddings=True,
)


def specs():
    """name -> dict(cls, cfg, kw, dtype, gain, window, context, note)."""
    P = mf.PROMPT_TEXT
    return {
        "gemma-f32": dict(
            cls=GemmaForCausalLM, cfg=GemmaConfig, dtype="f32", gain=20.0,
            kw=dict(BASE, head_dim=16, hidden_act="gelu_pytorch_tanh", hidden_activation="gelu_pytorch_tanh",
                    tie_word_embeddings=True, rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
            note="Gemma 1: (1+w) norms, sqrt(hidden) embedding scale, gelu_tanh, head_dim 16, GQA 4/2, tied"),
        "gemma2-f32": dict(
            cls=Gemma2ForCausalLM, cfg=Gemma2Config, dtype="f32", gain=10.0, window=WINDOW,
            kw=dict(BASE, head_dim=16, hidden_activation="gelu_pytorch_tanh", sliding_window=WINDOW,
                    layer_types=["sliding_attention", "full_attention"],
                    attn_logit_softcapping=50.0, final_logit_softcapping=30.0, query_pre_attn_scalar=24,
                    tie_word_embeddings=True, rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
            note="Gemma 2: sliding/global alternating (window 8), softcaps 50/30, query_pre_attn_scalar 24, sandwich norms"),
        "gemma3-f32": dict(
            cls=Gemma3ForCausalLM, cfg=Gemma3TextConfig, dtype="f32", gain=10.0, window=WINDOW, kw=GEMMA3_KW,
            note="Gemma 3 text: 5 local + 1 global, window 8, q/k norms, local theta 1e4, global 1e6 + linear x8"),
        "olmo2-f32": dict(
            cls=Olmo2ForCausalLM, cfg=Olmo2Config, dtype="f32", gain=1.0,
            kw=dict(BASE, tie_word_embeddings=False, rope_parameters={"rope_type": "default", "rope_theta": 500000.0}),
            note="OLMo 2: post-attn/post-ffn norms only, q/k RMSNorm over the whole projection, untied"),
        "smollm3-f32": dict(
            cls=SmolLM3ForCausalLM, cfg=SmolLM3Config, dtype="f32", gain=3.0,
            kw=dict(BASE, num_hidden_layers=4, no_rope_layers=[1, 1, 1, 0], tie_word_embeddings=True,
                    rope_parameters={"rope_type": "default", "rope_theta": 5000000.0}),
            note="SmolLM3: layer 3 skips RoPE (no_rope_layers [1,1,1,0]), tied"),
        "granite-f32": dict(
            cls=GraniteForCausalLM, cfg=GraniteConfig, dtype="f32", gain=1000.0,
            kw=dict(BASE, embedding_multiplier=12.0, attention_multiplier=0.1, residual_multiplier=0.22,
                    logits_scaling=8.0, tie_word_embeddings=True,
                    rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
            note="Granite: embedding x12, attention scale 0.1, residual x0.22, logits / 8, tied"),
        "phi3-f32": dict(
            cls=Phi3ForCausalLM, cfg=Phi3Config, dtype="f32", gain=1.0, context=256,
            kw=dict(BASE, num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=False,
                    original_max_position_embeddings=16,
                    rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0,
                                     "short_factor": PHI3_SHORT, "long_factor": PHI3_LONG,
                                     "original_max_position_embeddings": 16}),
            note="Phi-3: fused qkv/gate_up, longrope orig 16 / max 256 -> LONG factors, attn factor, untied"),
        "phi4-f32": dict(
            cls=Phi3ForCausalLM, cfg=Phi3Config, dtype="f32", gain=3.0, context=256,
            kw=dict(BASE, num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=True,
                    max_position_embeddings=8192, original_max_position_embeddings=4096,
                    rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0, "partial_rotary_factor": 0.75,
                                     "short_factor": PHI4_SHORT, "long_factor": PHI4_LONG,
                                     "original_max_position_embeddings": 4096}),
            note="Phi-4-mini: partial rotary 0.75 (12 of 16 dims), longrope orig 4096 / max 8192 -> SHORT, tied"),
        "gpt2-f32": dict(
            cls=GPT2LMHeadModel, cfg=GPT2Config, dtype="f32", gain=40.0,
            kw=dict(n_embd=32, n_layer=2, n_head=4, n_positions=256, n_ctx=256, activation_function="gelu_new",
                    resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, layer_norm_epsilon=1e-5,
                    tie_word_embeddings=True),
            note="GPT-2: learned positions, LayerNorm with bias, Conv1D [in,out] weights, fused c_attn, tied"),
        "mistral-sliding-f32": dict(
            cls=MistralForCausalLM, cfg=MistralConfig, dtype="f32", gain=1.0, window=WINDOW,
            kw=dict(BASE, head_dim=16, hidden_act="silu", sliding_window=WINDOW, tie_word_embeddings=False,
                    rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
            note="Mistral: head_dim 16 != hidden/heads 8, GQA, untied, sliding window 8 on every layer"),
        "gemma3-bf16": dict(
            cls=Gemma3ForCausalLM, cfg=Gemma3TextConfig, dtype="bf16", gain=10.0, window=WINDOW, kw=GEMMA3_KW,
            note="as gemma3-f32, stored bfloat16"),
    }


GGUF_CONVERSIONS = [
    # (fixture, output file, outtype)
    ("gemma-f32", "gemma-f32.gguf", "f32"),
    ("gemma2-f32", "gemma2-f32.gguf", "f32"),
    ("gemma3-f32", "gemma3-f32.gguf", "f32"),
    ("olmo2-f32", "olmo2-f32.gguf", "f32"),
    ("smollm3-f32", "smollm3-f32.gguf", "f32"),
    ("granite-f32", "granite-f32.gguf", "f32"),
    ("phi3-f32", "phi3-f32.gguf", "f32"),
    ("phi4-f32", "phi4-f32.gguf", "f32"),
    ("gpt2-f32", "gpt2-f32.gguf", "f32"),
    ("mistral-sliding-f32", "mistral-sliding-f32.gguf", "f32"),
]


# ---------------------------------------------------------------------------
# redraw, extended to the new module types
# ---------------------------------------------------------------------------


def is_gemma_norm(module):
    n = type(module).__name__
    return n.startswith("Gemma") and n.endswith("RMSNorm")


SANDWICH_MODELS = ("gemma2", "gemma3_text", "olmo2")
POST_NORMS = ("post_attention_layernorm", "post_feedforward_layernorm")


@torch.no_grad()
def family_redraw(model, seed, residual_gain=1.0):
    """make_fixtures.redraw plus: Gemma (1+w) RMSNorms U(-0.5, 0.5); other RMSNorms U(0.5, 1.5);
    LayerNorm weight U(0.5, 1.5), bias N(0, 0.5^2); GPT-2 Conv1D weights [in, out] N(0, 1/fan_in)
    (times residual_gain for c_proj), biases N(0, 0.5^2); position embeddings N(0, 1) * 0.5.
    In Gemma 2/3 and OLMo 2 the residual gain also scales the post-attention/post-feedforward
    norms' effective weight ((1 + w) for Gemma, w for OLMo 2)."""
    g = torch.Generator().manual_seed(seed)
    done = set()
    # Post-norm ("sandwich") models normalize the o_proj/down_proj output, so there the residual
    # gain multiplies the effective scale of the post-attention/post-feedforward norms instead.
    sandwich = model.config.model_type in SANDWICH_MODELS
    for mname, module in model.named_modules():
        for pname, p in module.named_parameters(recurse=False):
            if id(p) in done:
                continue  # tied lm_head
            if isinstance(module, torch.nn.Embedding):
                scale = 0.5 if mname.endswith("wpe") else 1.0
                p.copy_(torch.randn(p.shape, generator=g) * scale)
            elif isinstance(module, torch.nn.Linear) and pname == "weight":
                gain = residual_gain if mname.endswith(("o_proj", "down_proj")) else 1.0
                p.copy_(torch.randn(p.shape, generator=g) * (gain * p.shape[1] ** -0.5))
            elif isinstance(module, Conv1D) and pname == "weight":
                gain = residual_gain if mname.endswith("c_proj") else 1.0
                p.copy_(torch.randn(p.shape, generator=g) * (gain * p.shape[0] ** -0.5))
            elif isinstance(module, (torch.nn.Linear, Conv1D, torch.nn.LayerNorm)) and pname == "bias":
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            elif is_gemma_norm(module) and pname == "weight":
                u = torch.rand(p.shape, generator=g) - 0.5
                if sandwich and mname.endswith(POST_NORMS):
                    u = residual_gain * (1.0 + u) - 1.0  # effective scale (1 + w) times the gain
                p.copy_(u)
            elif (mf.is_norm(module) or isinstance(module, torch.nn.LayerNorm)) and pname == "weight":
                u = torch.rand(p.shape, generator=g) + 0.5
                if sandwich and mname.endswith(POST_NORMS):
                    u = u * residual_gain
                p.copy_(u)
            else:
                raise RuntimeError(f"unhandled parameter {mname}.{pname} in {type(module).__name__}")
            done.add(id(p))
    assert {id(p) for p in model.parameters()} == done, "some parameters were not redrawn"


mf.redraw = family_redraw  # mf.build_model looks it up at call time


# ---------------------------------------------------------------------------
# checks that the feature under test changes the output
# ---------------------------------------------------------------------------


def load(mdir, **overrides):
    cfg = AutoConfig.from_pretrained(mdir)
    for k, v in overrides.items():
        setattr(cfg, k, v)
    m = AutoModelForCausalLM.from_pretrained(mdir, config=cfg, dtype=torch.float32, attn_implementation="eager")
    return m.eval()


def max_diff(a, b):
    return (a - b).abs().max().item()


def check_feature(name, mdir, prompt_ids, logits):
    """Reload with the feature off; returns {check: max |logit diff|} (asserted > 1e-3)."""
    out = {}
    if name in ("gemma2-f32", "gemma3-f32", "gemma3-bf16", "mistral-sliding-f32"):
        off = load(mdir, sliding_window=None if name.startswith("mistral") else 4096)
        out["window_off"] = max_diff(mf.forward_logits(off, prompt_ids), logits)
        # only positions >= window can differ
        early = max_diff(mf.forward_logits(off, prompt_ids)[:WINDOW], logits[:WINDOW])
        assert early < 1e-4, (name, early)
    if name == "gemma2-f32":
        out["query_pre_attn_scalar_16"] = max_diff(mf.forward_logits(load(mdir, query_pre_attn_scalar=16), prompt_ids), logits)
        out["attn_softcap_off"] = max_diff(mf.forward_logits(load(mdir, attn_logit_softcapping=None), prompt_ids), logits)
        out["final_softcap_off"] = max_diff(mf.forward_logits(load(mdir, final_logit_softcapping=None), prompt_ids), logits)
    if name == "smollm3-f32":
        out["all_rope"] = max_diff(mf.forward_logits(load(mdir, no_rope_layers=[1, 1, 1, 1]), prompt_ids), logits)
    if name == "phi3-f32":
        cfg = AutoConfig.from_pretrained(mdir)
        rp = dict(cfg.rope_parameters, long_factor=list(cfg.rope_parameters["short_factor"]))
        out["long_as_short"] = max_diff(mf.forward_logits(load(mdir, rope_parameters=rp), prompt_ids), logits)
    if name == "phi4-f32":
        cfg = AutoConfig.from_pretrained(mdir)
        rp = dict(cfg.rope_parameters, long_factor=[1.0] * len(cfg.rope_parameters["long_factor"]))
        d = max_diff(mf.forward_logits(load(mdir, rope_parameters=rp), prompt_ids), logits)
        assert d < 1e-5, f"phi4: long factors must be unused, diff {d}"
        rp = dict(cfg.rope_parameters, short_factor=[1.0] * len(cfg.rope_parameters["short_factor"]))
        out["short_as_ones"] = max_diff(mf.forward_logits(load(mdir, rope_parameters=rp), prompt_ids), logits)
    if name == "gemma3-f32":
        cfg = AutoConfig.from_pretrained(mdir)
        rp = json.loads(json.dumps(cfg.rope_parameters))
        rp["full_attention"] = {"rope_type": "default", "rope_theta": rp["full_attention"]["rope_theta"]}
        out["global_linear_off"] = max_diff(mf.forward_logits(load(mdir, rope_parameters=rp), prompt_ids), logits)
    for k, v in out.items():
        assert v > 1e-3, f"{name}: {k} does not change the logits ({v})"
    return {k: mf.r6(v) for k, v in out.items()}


# ---------------------------------------------------------------------------


def make_fixture(name, spec, tok, vocab_size, special_ids):
    # Residual gain: tried in order until make_fixtures' seed search succeeds (tiny tied models
    # otherwise greedily repeat one token).
    gains = [spec["gain"]] + [g for g in (3.0, 10.0, 20.0, 40.0) if g > spec["gain"]]
    for gain in gains:
        mspec = (name, spec["cls"], spec["cfg"], spec["kw"], spec["dtype"], mf.PROMPT_TEXT, {}, gain)
        try:
            res = mf.make_model_fixture(mspec, TOKENIZER_JSON, tok, vocab_size, special_ids)
            break
        except RuntimeError as e:
            if "no seed" not in str(e):
                raise
            print(f"  {name}: {e} with residual gain {gain}")
    else:
        raise RuntimeError(f"{name}: no residual gain in {gains} works")
    mdir = os.path.join(MODELS, name)
    with open(os.path.join(mdir, "config.json")) as f:
        cfg = json.load(f)
    ref_path = os.path.join(mdir, "reference.json")
    with open(ref_path) as f:
        ref = json.load(f)
    prompt_ids = ref["prompt_ids"]
    logits = torch.tensor(ref["logits"])
    model = load(mdir)
    exact = mf.forward_logits(model, prompt_ids)
    checks = check_feature(name, mdir, prompt_ids, exact)
    ref["architecture"] = cfg["architectures"][0]
    if spec.get("window"):
        ref["window"] = spec["window"]
    if spec.get("context"):
        ref["context"] = spec["context"]
    ref["generator"] = "scripts/make_family_fixtures.py"
    mf.write_json(ref_path, ref, compact=True)
    if name in GGUF_REFERENCES:
        make_gguf_reference(name, mdir, ref)
    res.update(name=name, checks=checks, size=mf.dir_size(mdir), architecture=ref["architecture"])
    print(f"  {name}: checks {checks} size {res['size']}")
    return res


# What llama.cpp computes from the GGUF where the converter drops a setting (see families.md).
GGUF_REFERENCES = {
    "gemma2-f32": (dict(query_pre_attn_scalar=16),
                   "as reference.json but query_pre_attn_scalar = head_dim (16): llama.cpp scales gemma2 "
                   "attention by 1/sqrt(head_dim) (1/sqrt(n_embd/n_head) for the 27B); the GGUF has no "
                   "key for query_pre_attn_scalar 24"),
    "mistral-sliding-f32": (dict(sliding_window=None),
                            "as reference.json but without the sliding window: the converter writes no "
                            "llama.attention.sliding_window for MistralForCausalLM, so llama.cpp attends "
                            "to the whole context"),
}


def make_gguf_reference(name, mdir, ref):
    """models/<name>/reference.gguf.json: same weights, reference.json format, with the setting the
    GGUF cannot carry replaced by what llama.cpp uses."""
    overrides, note = GGUF_REFERENCES[name]
    m = load(mdir, **overrides)
    prompt_ids = ref["prompt_ids"]
    logits = mf.forward_logits(m, prompt_ids)
    gen, margin = mf.greedy(m, prompt_ids, mf.N_GEN)
    r = mf.reference_json(ref["dtype"], ref["seed"], ref["residual_gain"], ref["prompt_text"], prompt_ids, gen,
                          margin, logits.std().item(), logits)
    r.update(architecture=ref["architecture"], generator="scripts/make_family_fixtures.py", note=note)
    mf.write_json(os.path.join(mdir, "reference.gguf.json"), r, compact=True)
    print(f"  {name} reference.gguf.json: greedy {gen} margin {margin:.4f}")


# ---------------------------------------------------------------------------
# GGUF
# ---------------------------------------------------------------------------


def run_conversions(llama_cpp, only):
    out = []
    for name, fname, outtype in GGUF_CONVERSIONS:
        if only and name not in only:
            continue
        path = os.path.join(GGUF_DIR, fname)
        cmd = [sys.executable, os.path.abspath(__file__), "--convert", llama_cpp, os.path.join(MODELS, name), path, outtype]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stdout[-3000:], r.stderr[-6000:])
            raise RuntimeError(f"conversion of {name} failed")
        out.append((name, fname, outtype, os.path.getsize(path)))
        print(f"  {fname}: {os.path.getsize(path)} bytes")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-cpp", help="llama.cpp source dir (vendor/llama.cpp of the llama-cpp-python sdist)")
    ap.add_argument("--only", default="")
    ap.add_argument("--no-gguf", action="store_true")
    ap.add_argument("--gguf-only", action="store_true")
    args = ap.parse_args()
    only = [s for s in args.only.split(",") if s]
    all_specs = specs()
    for n in only:
        assert n in all_specs, n

    with open(os.path.join(FIX, "VERSION.json")) as f:
        special_ids = json.load(f)["special_token_ids"]
    tok = Tokenizer.from_file(TOKENIZER_JSON)
    vocab_size = tok.get_vocab_size(with_added_tokens=True)
    assert vocab_size == mf.VOCAB_SIZE_TARGET and all(tok.token_to_id(t) == i for t, i in special_ids.items())

    results = []
    if not args.gguf_only:
        for name, spec in all_specs.items():
            if only and name not in only:
                continue
            results.append(make_fixture(name, spec, tok, vocab_size, special_ids))
        summary = {r["name"]: {k: (mf.r6(v) if isinstance(v, float) else v) for k, v in r.items() if k != "name"}
                   for r in results}
        print(json.dumps(summary, indent=1))
    if args.llama_cpp and not args.no_gguf:
        run_conversions(os.path.abspath(args.llama_cpp), only)
    print("versions:", {"torch": torch.__version__, "transformers": transformers.__version__})


if __name__ == "__main__":
    main()
