#!/usr/bin/env python3
"""Export the benchmark models of make_models.py to ONNX in the transformers.js layout.

Runs in its own venv (optimum-onnx needs transformers < 4.58; scripts/bench/models.sh makes it):

    /work/venv-onnx/bin/python scripts/bench/export_onnx.py [--only NAME ...] [--force]

Reads bench-models/<name>/f32/ and writes:

  bench-models/smollm2-135m/onnx/   config.json, generation_config.json, tokenizer.json,
                                    tokenizer_config.json, onnx/model.onnx (fp32, task
                                    text-generation-with-past: inputs input_ids, attention_mask,
                                    position_ids, past_key_values.*; outputs logits, present.*)
  bench-models/smollm2-360m/onnx/   the same
  bench-models/minilm-l6/onnx/      the sentence-transformers files and onnx/model.onnx (task
                                    feature-extraction: output last_hidden_state)

Each export is checked against the PyTorch model with onnxruntime (the LM on a prompt and then one
more token through the KV cache). Existing exports are kept unless --force is given.
"""

import argparse
import json
import os
import shutil
import tempfile

import numpy as np
import onnxruntime as ort
import torch
from optimum.exporters.onnx import main_export
from transformers import AutoModel, AutoModelForCausalLM

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "bench-models")
TASKS = {
    "smollm2-135m": "text-generation-with-past",
    "smollm2-360m": "text-generation-with-past",
    "minilm-l6": "feature-extraction",
}
ATOL = 1e-3


def old_style_config(cfg):
    """A config.json written by transformers 5, readable by transformers 4.x: `rope_parameters`
    back to `rope_theta` (4.x ignores the new key and would silently use theta 10000)."""
    cfg = dict(cfg)
    rope = cfg.pop("rope_parameters", None)
    if rope is not None:
        assert rope.get("rope_type", "default") == "default", rope
        cfg["rope_theta"] = rope["rope_theta"]
    return cfg


def staged_source(src, dest):
    """`src` (a make_models.py folder) as `dest`: links to every file but config.json, which is
    rewritten by old_style_config."""
    for dp, _, fns in os.walk(src):
        rel = os.path.relpath(dp, src)
        os.makedirs(os.path.join(dest, rel), exist_ok=True)
        for fn in fns:
            if (rel, fn) != (".", "config.json"):
                os.symlink(os.path.join(dp, fn), os.path.join(dest, rel, fn))
    with open(os.path.join(src, "config.json")) as f:
        cfg = old_style_config(json.load(f))
    with open(os.path.join(dest, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


def transformers_js_layout(exported, src, dest):
    """optimum's output folder -> transformers.js's: the model files under onnx/, the json files
    (optimum's config and tokenizer files, plus the sentence-transformers files of `src`) at the top."""
    os.makedirs(os.path.join(dest, "onnx"))
    for fn in os.listdir(exported):
        if fn.startswith("model.onnx"):
            shutil.move(os.path.join(exported, fn), os.path.join(dest, "onnx", fn))
        elif fn.endswith((".json", ".txt")):
            shutil.copy(os.path.join(exported, fn), os.path.join(dest, fn))
    for rel in ["modules.json", "sentence_bert_config.json", "1_Pooling/config.json"]:
        if os.path.exists(os.path.join(src, rel)) and not os.path.exists(os.path.join(dest, rel)):
            os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
            shutil.copy(os.path.join(src, rel), os.path.join(dest, rel))


@torch.no_grad()
def check_lm(hf_dir, onnx_path):
    """Max |logit difference| between onnxruntime and PyTorch: 8 prompt tokens from an empty cache,
    then a 9th token through the KV cache (compared with a full 9-token PyTorch forward)."""
    model = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32, attn_implementation="eager").eval()
    cfg = model.config
    assert cfg.rope_theta == 100000.0, cfg.rope_theta
    ids = np.array([[(i * 7919 + 13) % cfg.vocab_size for i in range(9)]], dtype=np.int64)
    expected = model(input_ids=torch.from_numpy(ids)).logits[0].numpy()

    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    empty = np.zeros((1, cfg.num_key_value_heads, 0, head_dim), dtype=np.float32)
    past = {n: empty for n in names if n.startswith("past_key_values.")}
    assert len(past) == 2 * cfg.num_hidden_layers, names

    def run(step_ids, past, start):
        feed = {
            "input_ids": step_ids,
            "attention_mask": np.ones((1, start + step_ids.shape[1]), dtype=np.int64),
            "position_ids": np.arange(start, start + step_ids.shape[1], dtype=np.int64)[None],
            **past,
        }
        out = sess.run(None, feed)
        outs = dict(zip([o.name for o in sess.get_outputs()], out))
        present = {k.replace("present.", "past_key_values."): v for k, v in outs.items() if k.startswith("present.")}
        return outs["logits"][0], present

    logits8, present = run(ids[:, :8], past, 0)
    logits9, _ = run(ids[:, 8:], present, 8)
    got = np.concatenate([logits8, logits9])
    return float(np.abs(got - expected).max())


@torch.no_grad()
def check_encoder(hf_dir, onnx_path):
    """Max |last_hidden_state difference| between onnxruntime and PyTorch on 2 x 16 tokens."""
    model = AutoModel.from_pretrained(hf_dir, dtype=torch.float32, attn_implementation="eager").eval()
    ids = np.array([[101] + [(1000 + t * 131 + i * 7919) % model.config.vocab_size for i in range(14)] + [102]
                    for t in range(2)], dtype=np.int64)
    mask = np.ones_like(ids)
    expected = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).last_hidden_state.numpy()
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    feed = {k: v for k, v in feed.items() if k in {i.name for i in sess.get_inputs()}}
    got = sess.run(["last_hidden_state"], feed)[0]
    return float(np.abs(got - expected).max())


def export(name, force):
    src = os.path.join(OUT, name, "f32")
    dest = os.path.join(OUT, name, "onnx")
    if os.path.exists(dest) and not force:
        print(f"kept    {os.path.relpath(dest, ROOT)}")
        return
    if not os.path.exists(src):
        raise SystemExit(f"{src} is missing: run scripts/bench/make_models.py first")
    tmp_dest = dest + ".tmp"
    shutil.rmtree(tmp_dest, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        staged, exported = os.path.join(tmp, "src"), os.path.join(tmp, "out")
        staged_source(src, staged)
        main_export(staged, exported, task=TASKS[name], library_name="transformers", do_validation=False)
        transformers_js_layout(exported, src, tmp_dest)
        check = check_lm if TASKS[name] == "text-generation-with-past" else check_encoder
        err = check(staged, os.path.join(tmp_dest, "onnx", "model.onnx"))
    assert err < ATOL, f"{name}: onnxruntime and PyTorch differ by {err}"
    if os.path.exists(dest):
        shutil.rmtree(dest)
    os.replace(tmp_dest, dest)
    size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fns in os.walk(dest) for f in fns)
    print(f"wrote   {os.path.relpath(dest, ROOT)} ({size / 1e6:.1f} MB; onnxruntime vs PyTorch max |diff| {err:.2e})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", choices=list(TASKS), help="export only this model (repeatable)")
    ap.add_argument("--force", action="store_true", help="rewrite exports that exist")
    args = ap.parse_args()
    for name in args.only or TASKS:
        export(name, args.force)


if __name__ == "__main__":
    main()
