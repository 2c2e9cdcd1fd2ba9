//! A tokenizer from a GGUF file's `tokenizer.ggml.*` metadata, for models that come as a single
//! `.gguf` without `tokenizer.json`. The keys are what llama.cpp's `convert_hf_to_gguf.py` writes;
//! the tokenizer is assembled in memory from the `tokenizers` crate's parts so that it encodes and
//! decodes as llama.cpp does:
//!
//! - `gpt2`: byte-level BPE over `tokens` with `merges`; the pre-tokenizer regexes follow
//!   `tokenizer.ggml.pre` (see [`PRE_TOKENIZERS`]).
//! - `llama`: SentencePiece BPE. The merges are implied by the scores (the pair whose merged
//!   piece scores highest merges first, as in sentencepiece and llama.cpp), generated the way
//!   transformers' converter does; spaces become `▁`, one `▁` is prepended to each stretch of text
//!   between special tokens when `add_space_prefix` is set (llama.cpp's rule), unknown characters
//!   fall back to `<0xXX>` byte tokens.
//!
//! Control (3) and unknown (2) tokens become special added tokens: matched whole in text and
//! skipped when decoding with `skip_special_tokens`. User-defined (4) tokens are matched whole
//! too but are not special.

use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::normalizers::{Prepend, Replace, Sequence as NormalizerSequence};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence as PreTokenizerSequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::processors::template::{SpecialToken, TemplateProcessing};
use tokenizers::{
    AddedToken, DecoderWrapper, NormalizerWrapper, PreTokenizerWrapper, SplitDelimiterBehavior,
};

use crate::error::{Error, Result};
use crate::formats::gguf::{Gguf, MetaValue};
use crate::text::tokenizer::Tokenizer;

/// What llama.cpp's converter stores under `tokenizer.ggml.*` (and `tokenizer.chat_template`).
#[derive(Debug, Clone, Default)]
pub struct GgufVocab {
    /// `tokenizer.ggml.model`: "gpt2" (byte-level BPE) or "llama" (SentencePiece).
    pub model: String,
    /// `tokenizer.ggml.pre`: names the pre-tokenizer of a `gpt2` vocabulary.
    pub pre: Option<String>,
    /// `tokenizer.ggml.tokens`: the text of every token, by id.
    pub tokens: Vec<String>,
    /// `tokenizer.ggml.scores`: SentencePiece piece scores.
    pub scores: Option<Vec<f32>>,
    /// `tokenizer.ggml.token_type`: 1 normal, 2 unknown, 3 control, 4 user defined, 5 unused,
    /// 6 byte (0 undefined, read as normal).
    pub token_types: Option<Vec<i32>>,
    /// `tokenizer.ggml.merges`: "left right", highest priority first.
    pub merges: Option<Vec<String>>,
    pub bos_id: Option<u32>,
    pub eos_id: Option<u32>,
    pub unk_id: Option<u32>,
    pub pad_id: Option<u32>,
    /// `tokenizer.ggml.add_bos_token` / `add_eos_token`: what encoding with special tokens adds.
    pub add_bos: Option<bool>,
    pub add_eos: Option<bool>,
    /// `tokenizer.ggml.add_space_prefix` (SentencePiece; default true).
    pub add_space_prefix: Option<bool>,
    /// `tokenizer.chat_template`.
    pub chat_template: Option<String>,
}

const TYPE_UNDEFINED: i32 = 0;
const TYPE_NORMAL: i32 = 1;
const TYPE_UNKNOWN: i32 = 2;
const TYPE_CONTROL: i32 = 3;
const TYPE_USER_DEFINED: i32 = 4;
const TYPE_UNUSED: i32 = 5;
const TYPE_BYTE: i32 = 6;

/// A `tokenizer.ggml.pre` family: the regexes llama.cpp splits text with before byte-level BPE,
/// applied one after the other (each splits the pieces of the previous one, keeping matches and
/// the text between them). No regexes: the GPT-2 regex of the byte-level pre-tokenizer itself.
pub struct PreTokenizer {
    pub names: &'static [&'static str],
    pub regexes: &'static [&'static str],
    /// A word that is a whole token is taken as is, without merging (llama.cpp `ignore_merges`).
    pub ignore_merges: bool,
    /// llama.cpp's `add_bos` default for this family when `add_bos_token` is absent.
    pub add_bos: bool,
}

const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
const LLAMA3: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN2: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const TEKKEN: &str = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const GPT4O: &str = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const PORO: &str = r" ?[^(\s|.,!?\x{2026}\x{3002}\x{FF0C}\x{3001}\x{964}\x{6D4}\x{60C})]+";
const CJK: &str = r"[\x{4E00}-\x{9FA5}\x{800}-\x{4E00}\x{AC00}-\x{D7FF}]+";

/// The `tokenizer.ggml.pre` values understood, from llama.cpp's `llama-vocab.cpp`. Where llama.cpp
/// rewrote a regex for its own engine (`(?i:...)` spelled out, letter classes by lookahead), the
/// original regex of the model's `tokenizer.json` is used: `fancy-regex` runs it as is.
///
/// An absent, `default` or unknown value gets the GPT-2 regex. (llama.cpp's own `default` is a
/// chain of four regexes that no current converter writes; an unknown value is an error in older
/// llama.cpp and `default` in newer.)
pub const PRE_TOKENIZERS: &[PreTokenizer] = &[
    PreTokenizer {
        names: &[
            "default", "gpt-2", "phi-2", "mpt", "olmo", "jais", "jina-es", "jina-de",
            "jina-v1-en", "jina-v2-es", "jina-v2-de", "jina-v2-code", "roberta-bpe", "gigachat",
            "a.x-4.0", "mellum", "exaone4", "trillion", "granite-docling",
        ],
        regexes: &[],
        ignore_merges: false,
        add_bos: false,
    },
    PreTokenizer {
        names: &[
            "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0",
            "lfm2",
        ],
        regexes: &[LLAMA3],
        ignore_merges: true,
        add_bos: true,
    },
    PreTokenizer {
        names: &["dbrx", "smaug-bpe", "chatglm-bpe", "glm4"],
        regexes: &[LLAMA3],
        ignore_merges: false,
        add_bos: false,
    },
    PreTokenizer {
        names: &["qwen2", "deepseek-r1-qwen", "megrez", "kormo", "stablelm2", "hunyuan"],
        regexes: &[QWEN2],
        ignore_merges: false,
        add_bos: false,
    },
    PreTokenizer {
        names: &[
            "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b",
        ],
        regexes: &[r"\p{N}", GPT2],
        ignore_merges: false,
        add_bos: false,
    },
    PreTokenizer {
        names: &["deepseek-llm"],
        regexes: &[
            "[\r\n]",
            r"\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293}\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A}\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D}\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4}\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F}\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+",
            r"\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+",
            r"\s+$",
            CJK,
            r"\p{N}+",
        ],
        ignore_merges: false,
        add_bos: false,
    },
    PreTokenizer {
        names: &["deepseek-coder"],
        regexes: &["[\r\n]", r"\s?\p{L}+", r"\s?\p{P}+", CJK, r"\p{N}"],
        ignore_merges: false,
        add_bos: false,
    },
    PreTokenizer {
        names: &["deepseek-v3"],
        regexes: &[
            r"\p{N}{1,3}",
            r"[\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+",
            "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
        ],
        ignore_merges: false,
        add_bos: false,
    },
    PreTokenizer {
        names: &["falcon"],
        regexes: &[
            r"[\p{P}\$\+<=>\^~\|`]+",
            r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)",
            "[0-9][0-9][0-9]",
        ],
        ignore_merges: false,
        add_bos: false,
    },
    PreTokenizer {
        names: &["poro-chat", "bloom", "gpt3-finnish"],
        regexes: &[PORO],
        ignore_merges: false,
        add_bos: false,
    },
    PreTokenizer {
        names: &["viking"],
        regexes: &[PORO, r"\p{N}"],
        ignore_merges: false,
        add_bos: false,
    },
    PreTokenizer {
        names: &["tekken"],
        regexes: &[TEKKEN],
        ignore_merges: true,
        add_bos: true,
    },
    PreTokenizer {
        names: &["gpt-4o", "llama4", "minimax-m2"],
        regexes: &[GPT4O],
        ignore_merges: false,
        add_bos: false,
    },
];

/// The pre-tokenizer family of a `tokenizer.ggml.pre` value (GPT-2's when absent or unknown).
pub fn pre_tokenizer(pre: Option<&str>) -> &'static PreTokenizer {
    let gpt2 = &PRE_TOKENIZERS[0];
    pre.and_then(|name| PRE_TOKENIZERS.iter().find(|p| p.names.contains(&name)))
        .unwrap_or(gpt2)
}

fn error(message: impl Into<String>) -> Error {
    Error::Tokenizer(message.into())
}

/// Reads the `tokenizer.ggml.*` keys of a GGUF file. Only their presence and types are checked
/// here; [`tokenizer_from_gguf`] checks that they fit together.
pub fn vocab_from_gguf(gguf: &Gguf) -> Result<GgufVocab> {
    let file = gguf.file();
    let bad = |key: &str, what: &str| error(format!("{file}: `{key}` is not {what}"));
    let string = |key: &str| -> Result<Option<String>> {
        match gguf.meta(key) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(|s| Some(s.to_string()))
                .ok_or_else(|| bad(key, "a string")),
        }
    };
    let array = |key: &str| -> Result<Option<&[MetaValue]>> {
        match gguf.meta(key) {
            None => Ok(None),
            Some(v) => v.as_array().map(Some).ok_or_else(|| bad(key, "an array")),
        }
    };
    let strings = |key: &str| -> Result<Option<Vec<String>>> {
        let Some(items) = array(key)? else {
            return Ok(None);
        };
        let items: Option<Vec<String>> = items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect();
        items
            .map(Some)
            .ok_or_else(|| bad(key, "an array of strings"))
    };
    let id = |key: &str| -> Result<Option<u32>> {
        match gguf.meta(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| bad(key, "a token id")),
        }
    };
    let flag = |key: &str| -> Result<Option<bool>> {
        match gguf.meta(key) {
            None => Ok(None),
            Some(v) => v.as_bool().map(Some).ok_or_else(|| bad(key, "a bool")),
        }
    };

    let model = string("tokenizer.ggml.model")?.ok_or_else(|| {
        error(format!(
            "{file} has no `tokenizer.ggml.model`, so no tokenizer (supply tokenizer.json)"
        ))
    })?;
    let tokens = strings("tokenizer.ggml.tokens")?
        .ok_or_else(|| error(format!("{file} has no `tokenizer.ggml.tokens`")))?;
    let scores = match array("tokenizer.ggml.scores")? {
        None => None,
        Some(items) => {
            let items: Option<Vec<f32>> = items.iter().map(MetaValue::as_f32).collect();
            Some(items.ok_or_else(|| bad("tokenizer.ggml.scores", "an array of numbers"))?)
        }
    };
    let token_types = match array("tokenizer.ggml.token_type")? {
        None => None,
        Some(items) => {
            let items: Option<Vec<i32>> = items
                .iter()
                .map(|v| v.as_i64().and_then(|n| i32::try_from(n).ok()))
                .collect();
            let items = items.ok_or_else(|| bad("tokenizer.ggml.token_type", "integers"))?;
            Some(items)
        }
    };
    Ok(GgufVocab {
        model,
        pre: string("tokenizer.ggml.pre")?,
        tokens,
        scores,
        token_types,
        merges: strings("tokenizer.ggml.merges")?,
        bos_id: id("tokenizer.ggml.bos_token_id")?,
        eos_id: id("tokenizer.ggml.eos_token_id")?,
        unk_id: id("tokenizer.ggml.unknown_token_id")?,
        pad_id: id("tokenizer.ggml.padding_token_id")?,
        add_bos: flag("tokenizer.ggml.add_bos_token")?,
        add_eos: flag("tokenizer.ggml.add_eos_token")?,
        add_space_prefix: flag("tokenizer.ggml.add_space_prefix")?,
        chat_template: string("tokenizer.chat_template")?,
    })
}

/// Builds the tokenizer a GGUF vocabulary describes (see the module documentation).
pub fn tokenizer_from_gguf(vocab: &GgufVocab) -> Result<Tokenizer> {
    let n = vocab.tokens.len();
    if n == 0 {
        return Err(error("tokenizer.ggml.tokens is empty"));
    }
    let types = token_types(vocab)?;
    for (key, id) in [
        ("bos_token_id", vocab.bos_id),
        ("eos_token_id", vocab.eos_id),
        ("unknown_token_id", vocab.unk_id),
        ("padding_token_id", vocab.pad_id),
    ] {
        if let Some(id) = id.filter(|&id| id as usize >= n) {
            return Err(error(format!(
                "tokenizer.ggml.{key} {id} is outside the vocabulary of {n} tokens"
            )));
        }
    }
    // llama.cpp looks tokens up by text; a repeated text resolves to its last id, as there.
    let ids: Vocab = (0u32..)
        .zip(&vocab.tokens)
        .map(|(i, t)| (t.clone(), i))
        .collect();

    let (mut inner, add_bos_default) = match vocab.model.as_str() {
        "gpt2" => byte_level_bpe(vocab, ids)?,
        "llama" => (sentencepiece_bpe(vocab, &types, ids)?, true),
        other => {
            return Err(error(format!(
                "unsupported tokenizer.ggml.model `{other}` (supported: gpt2, llama)"
            )))
        }
    };

    // Control and unknown tokens are special; user-defined ones are matched whole but kept
    // when decoding. All are matched in the raw text, before any normalization.
    let added: Vec<AddedToken> = vocab
        .tokens
        .iter()
        .zip(&types)
        .filter(|(text, _)| !text.is_empty())
        .filter_map(|(text, &kind)| {
            let special = match kind {
                TYPE_CONTROL | TYPE_UNKNOWN => true,
                TYPE_USER_DEFINED => false,
                _ => return None,
            };
            Some(AddedToken::from(text.clone(), special).normalized(false))
        })
        .collect();
    inner.add_special_tokens(&added);

    let token = |id: Option<u32>| id.map(|id| vocab.tokens[id as usize].clone());
    let add_bos = vocab
        .add_bos
        .unwrap_or(add_bos_default && vocab.bos_id.is_some());
    let add_eos = vocab.add_eos.unwrap_or(false);
    if add_bos || add_eos {
        inner.with_post_processor(Some(template(vocab, add_bos, add_eos)?));
    }
    Ok(Tokenizer::from_parts(
        inner,
        token(vocab.bos_id),
        token(vocab.eos_id),
        vocab.chat_template.clone(),
    ))
}

/// Token types, checked; without `token_type`, the bos/eos/unk/pad tokens count as control.
fn token_types(vocab: &GgufVocab) -> Result<Vec<i32>> {
    let n = vocab.tokens.len();
    let Some(types) = &vocab.token_types else {
        let mut types = vec![TYPE_NORMAL; n];
        for id in [vocab.bos_id, vocab.eos_id, vocab.unk_id, vocab.pad_id]
            .into_iter()
            .flatten()
        {
            if let Some(kind) = types.get_mut(id as usize) {
                *kind = TYPE_CONTROL;
            }
        }
        return Ok(types);
    };
    if types.len() != n {
        return Err(error(format!(
            "tokenizer.ggml.token_type has {} entries for {n} tokens",
            types.len()
        )));
    }
    if let Some((id, kind)) = types
        .iter()
        .enumerate()
        .find(|(_, &k)| !(TYPE_UNDEFINED..=TYPE_BYTE).contains(&k))
    {
        return Err(error(format!(
            "token {id} ({:?}) has token type {kind} (llama.cpp's types are 0 to 6)",
            vocab.tokens[id]
        )));
    }
    Ok(types.clone())
}

/// `gpt2`: byte-level BPE with the stored merges. Returns the tokenizer and the `add_bos`
/// default of its pre-tokenizer family.
fn byte_level_bpe(vocab: &GgufVocab, ids: Vocab) -> Result<(tokenizers::Tokenizer, bool)> {
    let merges = vocab
        .merges
        .as_ref()
        .ok_or_else(|| error("a gpt2 vocabulary needs tokenizer.ggml.merges"))?;
    let merges = merges
        .iter()
        .enumerate()
        .map(|(rank, merge)| parse_merge(rank, merge, &ids))
        .collect::<Result<Vec<_>>>()?;
    let family = pre_tokenizer(vocab.pre.as_deref());
    let model = BPE::builder()
        .vocab_and_merges(ids, merges)
        .ignore_merges(family.ignore_merges)
        .build()
        .map_err(|e| error(format!("byte-level BPE: {e}")))?;
    let pre_tokenizer = if family.regexes.is_empty() {
        PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, true, true))
    } else {
        let mut steps = Vec::with_capacity(family.regexes.len() + 1);
        for regex in family.regexes {
            let split = Split::new(
                SplitPattern::Regex(regex.to_string()),
                SplitDelimiterBehavior::Isolated,
                false,
            )
            .map_err(|e| error(format!("pre-tokenizer regex {regex:?}: {e}")))?;
            steps.push(PreTokenizerWrapper::Split(split));
        }
        steps.push(PreTokenizerWrapper::ByteLevel(ByteLevel::new(
            false, true, false,
        )));
        PreTokenizerWrapper::Sequence(PreTokenizerSequence::new(steps))
    };
    let mut tokenizer = tokenizers::Tokenizer::new(model);
    tokenizer
        .with_pre_tokenizer(Some(pre_tokenizer))
        .with_decoder(Some(DecoderWrapper::ByteLevel(ByteLevel::default())));
    Ok((tokenizer, family.add_bos))
}

/// "left right" (split at the first space after the first character, as llama.cpp does, so a
/// left part may itself be a space); both parts and their concatenation must be tokens.
fn parse_merge(rank: usize, merge: &str, ids: &Vocab) -> Result<(String, String)> {
    let split = merge.char_indices().skip(1).find(|&(_, c)| c == ' ');
    let Some((at, _)) = split else {
        return Err(error(format!(
            "merge {rank} {merge:?} is not two tokens separated by a space"
        )));
    };
    let (left, right) = (&merge[..at], &merge[at + 1..]);
    for part in [left, right, &format!("{left}{right}")] {
        if !ids.contains_key(part) {
            return Err(error(format!(
                "merge {rank} {merge:?}: {part:?} is not a token"
            )));
        }
    }
    Ok((left.to_string(), right.to_string()))
}

/// `llama`: SentencePiece BPE as llama.cpp runs it.
fn sentencepiece_bpe(
    vocab: &GgufVocab,
    types: &[i32],
    ids: Vocab,
) -> Result<tokenizers::Tokenizer> {
    let n = vocab.tokens.len();
    let scores = vocab.scores.as_ref().ok_or_else(|| {
        error("a llama (SentencePiece) vocabulary needs tokenizer.ggml.scores to rank its merges")
    })?;
    if scores.len() != n {
        return Err(error(format!(
            "tokenizer.ggml.scores has {} entries for {n} tokens",
            scores.len()
        )));
    }
    let merges = merges_from_scores(&vocab.tokens, scores, types, &ids);
    let unk = vocab
        .unk_id
        .map(|id| id as usize)
        .or_else(|| types.iter().position(|&t| t == TYPE_UNKNOWN))
        .map(|id| vocab.tokens[id].clone());
    let mut builder = BPE::builder()
        .vocab_and_merges(ids, merges)
        .byte_fallback(true)
        .fuse_unk(true);
    if let Some(unk) = unk {
        builder = builder.unk_token(unk);
    }
    let model = builder
        .build()
        .map_err(|e| error(format!("SentencePiece BPE: {e}")))?;

    let space_prefix = vocab.add_space_prefix.unwrap_or(true);
    let to_metaspace = Replace::new(" ", "\u{2581}").map_err(|e| error(e.to_string()))?;
    let from_metaspace = Replace::new("\u{2581}", " ").map_err(|e| error(e.to_string()))?;
    let normalizer = if space_prefix {
        NormalizerWrapper::Sequence(NormalizerSequence::new(vec![
            NormalizerWrapper::Prepend(Prepend::new("\u{2581}".into())),
            NormalizerWrapper::Replace(to_metaspace),
        ]))
    } else {
        NormalizerWrapper::Replace(to_metaspace)
    };
    let mut decoders = vec![
        DecoderWrapper::Replace(from_metaspace),
        DecoderWrapper::ByteFallback(ByteFallback::new()),
        DecoderWrapper::Fuse(Fuse::new()),
    ];
    if space_prefix {
        decoders.push(DecoderWrapper::Strip(Strip::new(' ', 1, 0)));
    }
    let mut tokenizer = tokenizers::Tokenizer::new(model);
    tokenizer
        .with_normalizer(Some(normalizer))
        .with_decoder(Some(DecoderWrapper::Sequence(DecoderSequence::new(
            decoders,
        ))));
    Ok(tokenizer)
}

/// BPE merges implied by SentencePiece scores, as transformers' converter makes them: every split
/// of a piece into two pieces that are both tokens, ranked by the merged piece's score (highest
/// first; ties by the merged piece's id). Pieces sentencepiece never forms by merging (control,
/// unknown, unused, byte) are left out.
fn merges_from_scores(
    tokens: &[String],
    scores: &[f32],
    types: &[i32],
    ids: &Vocab,
) -> Vec<(String, String)> {
    let mut ranked = Vec::new();
    for (id, piece) in tokens.iter().enumerate() {
        if matches!(
            types[id],
            TYPE_CONTROL | TYPE_UNKNOWN | TYPE_UNUSED | TYPE_BYTE
        ) {
            continue;
        }
        let mut splits: Vec<(u32, u32, usize)> = piece
            .char_indices()
            .skip(1)
            .filter_map(|(at, _)| {
                let left = *ids.get(&piece[..at])?;
                let right = *ids.get(&piece[at..])?;
                Some((left, right, at))
            })
            .collect();
        splits.sort_unstable();
        ranked.extend(splits.into_iter().map(|(_, _, at)| (scores[id], id, at)));
    }
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked
        .into_iter()
        .map(|(_, id, at)| (tokens[id][..at].to_string(), tokens[id][at..].to_string()))
        .collect()
}

/// `bos $A eos` with whichever of bos/eos the vocabulary adds.
fn template(vocab: &GgufVocab, add_bos: bool, add_eos: bool) -> Result<TemplateProcessing> {
    let mut special = Vec::new();
    let mut single = Vec::new();
    let mut pair = Vec::new();
    if add_bos {
        let id = vocab.bos_id.ok_or_else(|| {
            error("tokenizer.ggml.add_bos_token is set but there is no bos_token_id")
        })?;
        special.push(special_token("bos", id, vocab)?);
        single.push("bos");
        pair.push("bos");
    }
    single.push("$A");
    pair.push("$A");
    if add_eos {
        let id = vocab.eos_id.ok_or_else(|| {
            error("tokenizer.ggml.add_eos_token is set but there is no eos_token_id")
        })?;
        special.push(special_token("eos", id, vocab)?);
        single.push("eos");
        pair.push("eos");
    }
    let second: Vec<&str> = pair
        .iter()
        .map(|&p| if p == "$A" { "$B:1" } else { p })
        .collect();
    pair.extend(second);
    let bad = |e: String| error(format!("post-processor: {e}"));
    let mut builder = TemplateProcessing::builder();
    builder.try_single(single).map_err(bad)?;
    builder.try_pair(pair).map_err(bad)?;
    builder.special_tokens(special);
    builder.build().map_err(|e| bad(e.to_string()))
}

fn special_token(key: &str, id: u32, vocab: &GgufVocab) -> Result<SpecialToken> {
    let text = vocab.tokens[id as usize].clone();
    SpecialToken::new(key.to_string(), vec![id], vec![text]).map_err(|e| error(e.to_string()))
}
