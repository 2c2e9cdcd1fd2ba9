#!/usr/bin/env python3
"""Generate the SentencePiece GGUF tokenizer fixtures under tests/fixtures/gguf/.

Setup (once): pip install sentencepiece gguf transformers tokenizers protobuf
Run (from the repo root):  /work/venv/bin/python scripts/make_gguf_tokenizer_fixtures.py

Outputs:
  tests/fixtures/gguf/tokenizer-spm.gguf        a GGUF with no tensors: general.architecture and
                                                the tokenizer.ggml.* keys as llama.cpp's
                                                convert_hf_to_gguf.py writes them for a
                                                SentencePiece model
  tests/fixtures/gguf/tokenizer-spm.model       the SentencePiece model it was made from
  tests/fixtures/gguf/tokenizer-spm-cases.json  encodings/decodings from sentencepiece itself

A tiny SentencePiece BPE model (byte_fallback, Llama-2 settings: identity normalization, no
whitespace collapsing, dummy prefix, split digits) is trained on the corpus of
scripts/make_fixtures.py (read with `ast`, so torch is not imported). Deterministic for a given
sentencepiece version (single thread).

Expected ids follow llama.cpp's SPM tokenizer: text between control tokens is encoded on its
own, each fragment with the dummy-prefix space. For text without control tokens that is
exactly `sp.encode(text)`; for `control_cases` (text that contains control tokens, which
sentencepiece itself never matches in text) it is the concatenation of `sp.encode` over the
fragments. Both are cross-checked with the `tokenizers` pipeline transformers' LlamaConverter
builds (see `hf_tokenizers`): legacy=False for plain text; legacy=True for control cases, since
legacy=False drops the space after a control token, unlike llama.cpp. The JSON records any
disagreement under `disagreements`.
"""

import ast
import io
import json
import os
import sys

import gguf
import sentencepiece as spm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "gguf")
VOCAB_SIZE = 600
CONTROL_SYMBOLS = ["<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

TEXTS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "   leading spaces",
    "trailing spaces   ",
    "multiple   spaces  between\twords",
    "line one\nline two\n\n\tindented\r\nwindows",
    "Numbers: 0 12 345 2024-06-01 3.14159 -42",
    "Le café est naïve, très bien. Übermäßig große Straßen.",
    "日本語のテキストです。",
    "Emoji 🦀 and Ω and ก need bytes",
    "Русский текст: привет, мир!",
    "",
    " ",
    "\n",
    "Zebras xylophone quizzically",
    "def add(a, b):\n    return a + b",
]

CONTROL_TEXTS = [
    "<|im_start|>user\nhi<|im_end|>",
    "<s>already has a bos</s> and an eos",
    "<|im_start|><|im_end|>",
    "text then <|im_end|>",
]


def corpus():
    """CORPUS from scripts/make_fixtures.py, without importing it (it imports torch)."""
    path = os.path.join(ROOT, "scripts", "make_fixtures.py")
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "CORPUS" for t in node.targets):
            return ast.literal_eval(node.value)
    sys.exit("scripts/make_fixtures.py has no CORPUS")


def train():
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus() * 4),
        model_writer=model,
        model_type="bpe",
        vocab_size=VOCAB_SIZE,
        byte_fallback=True,
        character_coverage=1.0,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        add_dummy_prefix=True,
        split_digits=True,
        allow_whitespace_only_pieces=True,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        control_symbols=CONTROL_SYMBOLS,
        num_threads=1,
        minloglevel=2,
    )
    return model.getvalue()


def vocab_arrays(sp):
    """tokens, scores, token types as convert_hf_to_gguf.py's _create_vocab_sentencepiece."""
    tokens, scores, types = [], [], []
    for i in range(sp.vocab_size()):
        tokens.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        if sp.is_unknown(i):
            kind = gguf.TokenType.UNKNOWN
        elif sp.is_control(i):
            kind = gguf.TokenType.CONTROL
        elif sp.is_unused(i):
            kind = gguf.TokenType.UNUSED
        elif sp.is_byte(i):
            kind = gguf.TokenType.BYTE
        else:
            kind = gguf.TokenType.NORMAL
        types.append(int(kind))
    return tokens, scores, types


def write_gguf(path, sp):
    tokens, scores, types = vocab_arrays(sp)
    writer = gguf.GGUFWriter(path, "llama")
    # The order of _set_vocab_sentencepiece + SpecialVocab.add_to_gguf.
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(sp.bos_id())
    writer.add_eos_token_id(sp.eos_id())
    writer.add_unk_token_id(sp.unk_id())
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_add_space_prefix(True)
    writer.add_chat_template(CHAT_TEMPLATE)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    return tokens, types


def split_control(text):
    """Fragments of `text`: control token strings and the text between them."""
    parts, rest = [], text
    while rest:
        hits = [(rest.find(t), -len(t), t) for t in ["<s>", "</s>", *CONTROL_SYMBOLS] if t in rest]
        if not hits:
            parts.append(rest)
            break
        at, _, token = min(hits)
        if at:
            parts.append(rest[:at])
        parts.append(token)
        rest = rest[at + len(token):]
    return parts


def llama_cpp_ids(sp, text):
    ids = []
    for part in split_control(text):
        if part in ["<s>", "</s>", *CONTROL_SYMBOLS]:
            ids.append(sp.piece_to_id(part))
        else:
            ids.extend(sp.encode(part))
    return ids


def hf_tokenizers(sp):
    """The `tokenizers` pipeline transformers' LlamaConverter builds from a SentencePiece BPE model
    (merges from transformers' own `generate_merges` ranked by piece score, byte fallback, fused
    unk, added control tokens), for legacy=False (Metaspace, prepend "first") and legacy=True
    (Prepend + Replace normalizer). transformers 5.23 itself cannot convert a .model
    (`SentencePieceExtractor.extract` fails), so its recipe is rebuilt here from its parts."""
    from tokenizers import AddedToken, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import BPE
    from transformers.convert_slow_tokenizer import generate_merges

    pieces = [sp.id_to_piece(i) for i in range(sp.vocab_size())]
    vocab = {p: i for i, p in enumerate(pieces)}
    merges = generate_merges(vocab, [(p, sp.get_score(i)) for i, p in enumerate(pieces)])
    out = {}
    for legacy in (False, True):
        tok = Tokenizer(BPE(vocab, merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
        if legacy:
            tok.normalizer = normalizers.Sequence(
                [normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")]
            )
        else:
            tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=False)
        tok.decoder = decoders.Sequence(
            [decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
        )
        special = [p for i, p in enumerate(pieces) if sp.is_control(i) or sp.is_unknown(i)]
        tok.add_special_tokens([AddedToken(p, normalized=False, special=True) for p in special])
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", sp.bos_id())]
        )
        out[legacy] = tok
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    proto = train()
    model_path = os.path.join(OUT, "tokenizer-spm.model")
    with open(model_path, "wb") as f:
        f.write(proto)
    sp = spm.SentencePieceProcessor(model_proto=proto)
    tokens, types = write_gguf(os.path.join(OUT, "tokenizer-spm.gguf"), sp)
    hf = hf_tokenizers(sp)
    bos = sp.bos_id()

    cases, notes = [], []
    for text in TEXTS:
        ids = sp.encode(text)
        assert ids == llama_cpp_ids(sp, text), text
        case = {
            "text": text,
            "ids": [bos] + ids,
            "ids_no_special": ids,
            "pieces": [sp.id_to_piece(i) for i in ids],
            "decoded": sp.decode(ids),
        }
        assert sp.decode([bos] + ids) == case["decoded"], text
        if hf is not None:
            hf_ids = hf[False].encode(text, add_special_tokens=True).ids
            if hf_ids != case["ids"]:
                notes.append({"text": text, "transformers_legacy_false_ids": hf_ids})
            hf_text = hf[False].decode(case["ids"], skip_special_tokens=True)
            if hf_text != case["decoded"]:
                notes.append({"text": text, "transformers_decoded": hf_text})
            case["decoded_with_special"] = hf[False].decode(case["ids"], skip_special_tokens=False)
        cases.append(case)

    control_cases = []
    for text in CONTROL_TEXTS:
        ids = llama_cpp_ids(sp, text)
        case = {
            "text": text,
            "ids": [bos] + ids,
            "ids_no_special": ids,
            "sentencepiece_ids": sp.encode(text),
            "decoded": sp.decode(ids),
        }
        if hf is not None:
            legacy_ids = hf[True].encode(text, add_special_tokens=False).ids
            if legacy_ids != ids:
                notes.append({"text": text, "transformers_legacy_true_ids": legacy_ids})
            case["transformers_legacy_false_ids"] = hf[False].encode(text, add_special_tokens=False).ids
            case["decoded_with_special"] = hf[True].decode([bos] + ids, skip_special_tokens=False)
        control_cases.append(case)

    import tokenizers  # noqa: E402 - only for the version stamps
    import transformers  # noqa: E402

    doc = {
        "generator": "scripts/make_gguf_tokenizer_fixtures.py",
        "versions": {
            "sentencepiece": spm.__version__,
            "gguf": getattr(gguf, "__version__", None) or _dist_version("gguf"),
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
        },
        "vocab_size": len(tokens),
        "bos_id": bos,
        "eos_id": sp.eos_id(),
        "unk_id": sp.unk_id(),
        "control_ids": {t: sp.piece_to_id(t) for t in CONTROL_SYMBOLS},
        "byte_tokens": sum(1 for t in types if t == int(gguf.TokenType.BYTE)),
        "chat_template": CHAT_TEMPLATE,
        "cases": cases,
        "control_cases": control_cases,
        "disagreements": notes,
    }
    with open(os.path.join(OUT, "tokenizer-spm-cases.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{len(tokens)} tokens, {len(cases)} cases, {len(control_cases)} control cases, "
          f"{len(notes)} disagreements with transformers")
    for note in notes:
        print("  ", note)


def _dist_version(name):
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    main()
