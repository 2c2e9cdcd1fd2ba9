//! Tokenizers built from GGUF `tokenizer.ggml.*` metadata: a byte-level BPE (`gpt2`) against the
//! `tokenizers` library's cases, and a SentencePiece BPE (`llama`) against sentencepiece itself
//! (fixtures from scripts/make_gguf_tokenizer_fixtures.py).

mod common;

use hearth::formats::gguf::Gguf;
use hearth::formats::weights::{Folder, MemoryFiles};
use hearth::text::gguf_tokenizer::{
    tokenizer_from_gguf, vocab_from_gguf, GgufVocab, PRE_TOKENIZERS,
};
use hearth::text::tokenizer::Tokenizer;
use serde_json::Value;

use common::{fixture_json as json, ids};

fn open_gguf(name: &str) -> Gguf {
    let folder = Folder::new(common::fixtures().join("gguf")).unwrap();
    Gguf::open(&folder, name).unwrap()
}

/// The GGUF vocabulary llama.cpp's converter would write for tests/fixtures/tokenizer/tokenizer.json.
fn vocab_of_tokenizer_json() -> GgufVocab {
    let tokenizer = json("tokenizer/tokenizer.json");
    let vocab = tokenizer["model"]["vocab"].as_object().unwrap();
    let mut tokens = vec![String::new(); vocab.len()];
    for (text, id) in vocab {
        tokens[id.as_u64().unwrap() as usize] = text.clone();
    }
    let mut token_types = vec![1; tokens.len()];
    for added in tokenizer["added_tokens"].as_array().unwrap() {
        token_types[added["id"].as_u64().unwrap() as usize] = 3;
    }
    let merges = tokenizer["model"]["merges"].as_array().unwrap();
    let merges = merges
        .iter()
        .map(|pair| {
            format!(
                "{} {}",
                pair[0].as_str().unwrap(),
                pair[1].as_str().unwrap()
            )
        })
        .collect();
    GgufVocab {
        model: "gpt2".into(),
        pre: Some("default".into()),
        tokens,
        token_types: Some(token_types),
        merges: Some(merges),
        bos_id: Some(3),
        eos_id: Some(4),
        add_bos: Some(true),
        add_eos: Some(false),
        chat_template: Some("{{ messages }}".into()),
        ..Default::default()
    }
}

fn check_byte_level_cases(tokenizer: &Tokenizer, source: &str) {
    let cases = json("tokenizer/cases.json");
    for case in cases.as_array().unwrap() {
        common::check_tokenizer_case(tokenizer, case, "decoded", "decoded_skip", source);
    }
}

#[test]
fn gpt2_vocabulary_matches_tokenizers() {
    let tokenizer = tokenizer_from_gguf(&vocab_of_tokenizer_json()).unwrap();
    check_byte_level_cases(&tokenizer, "tokenizer.json as GGUF metadata");
    assert_eq!(tokenizer.bos_token.as_deref(), Some("<s>"));
    assert_eq!(tokenizer.eos_token.as_deref(), Some("</s>"));
    assert_eq!(tokenizer.chat_template.as_deref(), Some("{{ messages }}"));
    assert_eq!(tokenizer.vocab_size(), 448);
}

#[test]
fn gpt2_vocabulary_of_a_model_gguf_matches_tokenizers() {
    let gguf = open_gguf("llama-f32.gguf");
    let vocab = vocab_from_gguf(&gguf).unwrap();
    assert_eq!(vocab.model, "gpt2");
    assert_eq!(vocab.pre.as_deref(), Some("default"));
    let tokenizer = tokenizer_from_gguf(&vocab).unwrap();
    check_byte_level_cases(&tokenizer, "llama-f32.gguf");
    assert!(tokenizer
        .chat_template
        .as_deref()
        .unwrap()
        .contains("<|im_start|>"));
}

fn spm() -> (GgufVocab, Tokenizer, Value) {
    let vocab = vocab_from_gguf(&open_gguf("tokenizer-spm.gguf")).unwrap();
    let tokenizer = tokenizer_from_gguf(&vocab).unwrap();
    (vocab, tokenizer, json("gguf/tokenizer-spm-cases.json"))
}

#[test]
fn sentencepiece_metadata_is_read() {
    let (vocab, tokenizer, expected) = spm();
    assert_eq!(vocab.model, "llama");
    assert_eq!(
        vocab.tokens.len(),
        expected["vocab_size"].as_u64().unwrap() as usize
    );
    let types = vocab.token_types.as_ref().unwrap();
    let bytes = types.iter().filter(|&&t| t == 6).count();
    assert_eq!(bytes as u64, expected["byte_tokens"].as_u64().unwrap());
    assert_eq!(vocab.scores.as_ref().unwrap().len(), vocab.tokens.len());
    assert_eq!(
        vocab.bos_id,
        Some(expected["bos_id"].as_u64().unwrap() as u32)
    );
    assert_eq!(
        vocab.eos_id,
        Some(expected["eos_id"].as_u64().unwrap() as u32)
    );
    assert_eq!(
        vocab.unk_id,
        Some(expected["unk_id"].as_u64().unwrap() as u32)
    );
    assert_eq!(
        (vocab.add_bos, vocab.add_eos, vocab.add_space_prefix),
        (Some(true), Some(false), Some(true))
    );
    assert_eq!(tokenizer.bos_token.as_deref(), Some("<s>"));
    assert_eq!(tokenizer.eos_token.as_deref(), Some("</s>"));
    assert_eq!(
        tokenizer.chat_template.as_deref(),
        expected["chat_template"].as_str()
    );
    for (text, id) in expected["control_ids"].as_object().unwrap() {
        assert_eq!(
            tokenizer.token_to_id(text),
            Some(id.as_u64().unwrap() as u32)
        );
    }
}

#[test]
fn sentencepiece_encodings_match_sentencepiece() {
    let (_, tokenizer, expected) = spm();
    for case in expected["cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let with_bos = ids(&case["ids"]);
        let plain = ids(&case["ids_no_special"]);
        assert_eq!(
            tokenizer.encode(text, true).unwrap(),
            with_bos,
            "encode {text:?}"
        );
        assert_eq!(
            tokenizer.encode(text, false).unwrap(),
            plain,
            "encode {text:?} without BOS"
        );
        let decoded = case["decoded"].as_str().unwrap();
        assert_eq!(
            tokenizer.decode(&with_bos, true).unwrap(),
            decoded,
            "decode {text:?}"
        );
        assert_eq!(
            tokenizer.decode(&plain, true).unwrap(),
            decoded,
            "decode {text:?}"
        );
        assert_eq!(
            tokenizer.decode(&with_bos, false).unwrap(),
            case["decoded_with_special"].as_str().unwrap(),
            "decode {text:?} keeping <s>"
        );
    }
}

/// Text between control tokens is encoded on its own, each piece with the dummy-prefix space
/// (llama.cpp's rule; sentencepiece itself never matches control tokens in text).
#[test]
fn sentencepiece_control_tokens_split_text_as_llama_cpp() {
    let (_, tokenizer, expected) = spm();
    for case in expected["control_cases"].as_array().unwrap() {
        common::check_tokenizer_case(
            &tokenizer,
            case,
            "decoded_with_special",
            "decoded",
            "control tokens",
        );
    }
}

#[test]
fn sentencepiece_streaming_decode_never_splits_a_character() {
    let (_, tokenizer, expected) = spm();
    for case in expected["cases"].as_array().unwrap() {
        let ids = ids(&case["ids"]);
        let text = common::decode_streamed(&tokenizer, &ids);
        assert_eq!(
            text,
            case["decoded"].as_str().unwrap(),
            "{:?}",
            case["text"]
        );
    }
}

/// 256 single-byte tokens plus "12", "34" and "1234", with merges "1 2", "3 4", "12 34": how the
/// digits of "1234" come out shows how a pre-tokenizer split them.
fn digit_vocab(pre: &str) -> GgufVocab {
    // GPT-2's byte-to-character table: printable bytes stand for themselves, the others for
    // U+0100 onwards in byte order.
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut next = 0x100;
    let mut tokens: Vec<String> = (0..=255u8)
        .map(|b| {
            if printable(b) {
                char::from(b).to_string()
            } else {
                next += 1;
                char::from_u32(next - 1).unwrap().to_string()
            }
        })
        .collect();
    tokens.extend(["12", "34", "1234"].map(String::from));
    GgufVocab {
        model: "gpt2".into(),
        pre: Some(pre.into()),
        tokens,
        merges: Some(vec!["1 2".into(), "3 4".into(), "12 34".into()]),
        ..Default::default()
    }
}

fn pieces(tokenizer: &Tokenizer, text: &str) -> Vec<String> {
    let ids = tokenizer.encode(text, false).unwrap();
    ids.iter()
        .map(|&id| tokenizer.decode(&[id], false).unwrap())
        .collect()
}

#[test]
fn pre_tokenizers_split_digits_as_llama_cpp() {
    let split = |pre: &str| pieces(&tokenizer_from_gguf(&digit_vocab(pre)).unwrap(), "1234");
    assert_eq!(split("gpt-2"), ["1234"], "GPT-2: \\p{{N}}+");
    assert_eq!(split("default"), ["1234"]);
    assert_eq!(split("some-future-model"), ["1234"], "unknown: GPT-2");
    assert_eq!(
        split("llama-bpe"),
        ["12", "3", "4"],
        "llama3: \\p{{N}}{{1,3}}"
    );
    assert_eq!(split("qwen2"), ["1", "2", "3", "4"], "qwen2: \\p{{N}}");
    assert_eq!(
        split("smollm"),
        ["1", "2", "3", "4"],
        "smollm: \\p{{N}} first"
    );
}

#[test]
fn every_pre_tokenizer_builds_and_round_trips() {
    let text = "Hello World's 12345 日本語 ΩΣ  \n\ttabs!? (x) 'LL";
    for family in PRE_TOKENIZERS {
        for name in family.names {
            let tokenizer = tokenizer_from_gguf(&digit_vocab(name))
                .unwrap_or_else(|e| panic!("pre `{name}`: {e}"));
            let ids = tokenizer.encode(text, false).unwrap();
            assert_eq!(tokenizer.decode(&ids, false).unwrap(), text, "pre `{name}`");
        }
    }
}

#[test]
fn add_bos_defaults_follow_llama_cpp() {
    let mut vocab = digit_vocab("llama-bpe");
    vocab.bos_id = Some(0);
    let tokenizer = tokenizer_from_gguf(&vocab).unwrap();
    assert_eq!(
        tokenizer.encode("1", true).unwrap()[0],
        0,
        "llama3 adds BOS by default"
    );
    vocab.pre = Some("gpt-2".into());
    let tokenizer = tokenizer_from_gguf(&vocab).unwrap();
    assert_eq!(
        tokenizer.encode("1", true).unwrap().len(),
        1,
        "GPT-2 does not"
    );
    vocab.add_eos = Some(true);
    vocab.eos_id = Some(1);
    let tokenizer = tokenizer_from_gguf(&vocab).unwrap();
    assert_eq!(tokenizer.encode("12", true).unwrap(), [256, 1]);
}

#[test]
fn user_defined_tokens_are_matched_but_not_special() {
    let mut vocab = digit_vocab("gpt-2");
    vocab.tokens.extend(["<tool>".into(), "<|end|>".into()]);
    let mut types = vec![1; vocab.tokens.len()];
    types[259] = 4;
    types[260] = 3;
    vocab.token_types = Some(types);
    let tokenizer = tokenizer_from_gguf(&vocab).unwrap();
    let ids = tokenizer.encode("a<tool>b<|end|>", false).unwrap();
    assert_eq!(ids, [b'a' as u32, 259, b'b' as u32, 260]);
    assert_eq!(tokenizer.decode(&ids, true).unwrap(), "a<tool>b");
    assert_eq!(tokenizer.decode(&ids, false).unwrap(), "a<tool>b<|end|>");
}

fn assert_tokenizer_error(vocab: &GgufVocab, expected: &str) {
    match tokenizer_from_gguf(vocab) {
        Ok(_) => panic!("expected an error saying {expected:?}"),
        Err(error) => {
            assert_eq!(error.name(), "TokenizerError", "{error}");
            assert!(
                error.to_string().contains(expected),
                "{error} should say {expected:?}"
            );
        }
    }
}

#[test]
fn malformed_vocabularies_are_errors() {
    let good = digit_vocab("gpt-2");
    let with = |change: &dyn Fn(&mut GgufVocab)| {
        let mut vocab = good.clone();
        change(&mut vocab);
        vocab
    };
    let cases: Vec<(GgufVocab, &str)> = vec![
        (
            with(&|v| v.model = "bert".into()),
            "unsupported tokenizer.ggml.model `bert`",
        ),
        (
            with(&|v| v.model = "rwkv".into()),
            "unsupported tokenizer.ggml.model `rwkv`",
        ),
        (
            with(&|v| v.tokens.clear()),
            "tokenizer.ggml.tokens is empty",
        ),
        (
            with(&|v| v.token_types = Some(vec![1; 3])),
            "token_type has 3 entries for 259 tokens",
        ),
        (
            with(&|v| v.token_types = Some(vec![9; v.tokens.len()])),
            "token type 9",
        ),
        (
            with(&|v| v.merges = Some(vec!["12".into()])),
            "merge 0 \"12\" is not two tokens",
        ),
        (
            with(&|v| v.merges = Some(vec!["1 2".into(), "1 x y".into()])),
            "merge 1 \"1 x y\": \"x y\" is not a token",
        ),
        (
            with(&|v| v.merges = Some(vec!["3 5".into()])),
            "merge 0 \"3 5\": \"35\" is not a token",
        ),
        (with(&|v| v.merges = None), "needs tokenizer.ggml.merges"),
        (
            with(&|v| v.bos_id = Some(259)),
            "bos_token_id 259 is outside the vocabulary of 259",
        ),
        (
            with(&|v| v.eos_id = Some(u32::MAX)),
            "eos_token_id 4294967295 is outside",
        ),
        (
            with(&|v| v.add_bos = Some(true)),
            "add_bos_token is set but there is no bos_token_id",
        ),
        (
            with(&|v| v.add_eos = Some(true)),
            "add_eos_token is set but there is no eos_token_id",
        ),
        (
            with(&|v| v.model = "llama".into()),
            "needs tokenizer.ggml.scores",
        ),
        (
            with(&|v| {
                v.model = "llama".into();
                v.scores = Some(vec![0.0; 2]);
            }),
            "scores has 2 entries for 259 tokens",
        ),
    ];
    for (vocab, expected) in &cases {
        assert_tokenizer_error(vocab, expected);
    }
}

/// A GGUF file with metadata only: (key, type id, value bytes).
fn gguf_bytes(kvs: &[(&str, u32, Vec<u8>)]) -> Vec<u8> {
    let mut out = b"GGUF".to_vec();
    out.extend(3u32.to_le_bytes());
    out.extend(0u64.to_le_bytes());
    out.extend((kvs.len() as u64).to_le_bytes());
    for (key, kind, value) in kvs {
        out.extend((key.len() as u64).to_le_bytes());
        out.extend(key.as_bytes());
        out.extend(kind.to_le_bytes());
        out.extend(value);
    }
    out
}

fn gguf_string(s: &str) -> Vec<u8> {
    let mut out = (s.len() as u64).to_le_bytes().to_vec();
    out.extend(s.as_bytes());
    out
}

const GGUF_U32: u32 = 4;
const GGUF_STRING: u32 = 8;
const GGUF_ARRAY: u32 = 9;

fn vocab_error(kvs: &[(&str, u32, Vec<u8>)]) -> String {
    let mut files = MemoryFiles::new();
    files.insert("m.gguf", gguf_bytes(kvs));
    let gguf = Gguf::open(&files, "m.gguf").unwrap();
    let error = vocab_from_gguf(&gguf).expect_err("an error");
    assert_eq!(error.name(), "TokenizerError", "{error}");
    error.to_string()
}

#[test]
fn malformed_metadata_is_an_error_naming_the_key() {
    let model = ("tokenizer.ggml.model", GGUF_STRING, gguf_string("gpt2"));
    let tokens = {
        let mut v = GGUF_STRING.to_le_bytes().to_vec();
        v.extend(1u64.to_le_bytes());
        v.extend(gguf_string("a"));
        ("tokenizer.ggml.tokens", GGUF_ARRAY, v)
    };
    let message = vocab_error(&[]);
    assert!(
        message.contains("m.gguf has no `tokenizer.ggml.model`"),
        "{message}"
    );
    let message = vocab_error(std::slice::from_ref(&model));
    assert!(message.contains("no `tokenizer.ggml.tokens`"), "{message}");
    let numbers = {
        let mut v = GGUF_U32.to_le_bytes().to_vec();
        v.extend(1u64.to_le_bytes());
        v.extend(7u32.to_le_bytes());
        ("tokenizer.ggml.tokens", GGUF_ARRAY, v)
    };
    let message = vocab_error(&[model.clone(), numbers]);
    assert!(
        message.contains("`tokenizer.ggml.tokens` is not an array of strings"),
        "{message}"
    );
    let bos = ("tokenizer.ggml.bos_token_id", GGUF_STRING, gguf_string("1"));
    let message = vocab_error(&[model.clone(), tokens.clone(), bos]);
    assert!(
        message.contains("`tokenizer.ggml.bos_token_id` is not a token id"),
        "{message}"
    );
    let add_bos = (
        "tokenizer.ggml.add_bos_token",
        GGUF_U32,
        1u32.to_le_bytes().to_vec(),
    );
    let message = vocab_error(&[model, tokens, add_bos]);
    assert!(
        message.contains("`tokenizer.ggml.add_bos_token` is not a bool"),
        "{message}"
    );
}
