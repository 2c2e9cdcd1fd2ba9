//! `tokenizer.json` through the `tokenizers` crate (built with its pure-Rust regex so it also
//! compiles for wasm32), plus the special tokens of `tokenizer_config.json`.

use serde_json::Value;

use crate::error::{Error, Result};

pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    pub bos_token: Option<String>,
    pub eos_token: Option<String>,
    pub chat_template: Option<String>,
}

/// `tokenizer_config.json` writes special tokens as strings or as `{"content": ...}` objects.
fn token_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("content")?.as_str().map(str::to_string),
        _ => None,
    }
}

/// A single template, or the `default` one of a list of named templates.
fn chat_template(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Array(named) => {
            let template_of = |entry: &Value| entry.get("template")?.as_str().map(str::to_string);
            named
                .iter()
                .find(|e| e.get("name").and_then(Value::as_str) == Some("default"))
                .or_else(|| named.first())
                .and_then(template_of)
        }
        _ => None,
    }
}

impl Tokenizer {
    /// `tokenizer_json`: the bytes of `tokenizer.json`; `config`: `tokenizer_config.json`, if any.
    pub fn from_bytes(tokenizer_json: &[u8], config: Option<&str>) -> Result<Self> {
        let inner = tokenizers::Tokenizer::from_bytes(tokenizer_json)
            .map_err(|e| Error::Tokenizer(format!("tokenizer.json: {e}")))?;
        let config: Value = match config {
            Some(text) => {
                serde_json::from_str(text).map_err(|e| Error::json("tokenizer_config.json", e))?
            }
            None => Value::Null,
        };
        Ok(Self {
            inner,
            bos_token: token_text(config.get("bos_token")),
            eos_token: token_text(config.get("eos_token")),
            chat_template: chat_template(config.get("chat_template")),
        })
    }

    /// A tokenizer assembled in memory (e.g. from GGUF metadata) with its special tokens and
    /// chat template.
    pub fn from_parts(
        inner: tokenizers::Tokenizer,
        bos_token: Option<String>,
        eos_token: Option<String>,
        chat_template: Option<String>,
    ) -> Self {
        Self {
            inner,
            bos_token,
            eos_token,
            chat_template,
        }
    }

    /// Token ids of `text`; `add_special_tokens` applies the post-processor (e.g. a BOS token).
    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>> {
        let encoding = self
            .inner
            .encode(text, add_special_tokens)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String> {
        self.inner
            .decode(ids, skip_special_tokens)
            .map_err(|e| Error::Tokenizer(e.to_string()))
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Truncates encodings to `max_length` tokens, special tokens included (as
    /// sentence-transformers does), and turns off any padding `tokenizer.json` asks for.
    pub fn truncate_to(&mut self, max_length: usize) -> Result<()> {
        use tokenizers::PostProcessor;
        let added = self
            .inner
            .get_post_processor()
            .map_or(0, |p| p.added_tokens(false));
        if max_length <= added {
            return Err(Error::Tokenizer(format!(
                "a maximum of {max_length} tokens leaves no room beside {added} special tokens"
            )));
        }
        let params = tokenizers::TruncationParams {
            max_length,
            ..Default::default()
        };
        self.inner
            .with_truncation(Some(params))
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        self.inner.with_padding(None);
        Ok(())
    }

    /// Token ids and token type ids (segment ids) of `text` with the special tokens.
    pub fn encode_with_type_ids(&self, text: &str) -> Result<(Vec<u32>, Vec<u32>)> {
        let encoding = self
            .inner
            .encode(text, true)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok((
            encoding.get_ids().to_vec(),
            encoding.get_type_ids().to_vec(),
        ))
    }

    /// Incremental decoding that only emits complete UTF-8 characters.
    pub fn decode_stream(&self, skip_special_tokens: bool) -> TextStream<'_> {
        TextStream {
            inner: self.inner.decode_stream(skip_special_tokens),
        }
    }
}

pub struct TextStream<'a> {
    inner: tokenizers::DecodeStream<
        'a,
        tokenizers::ModelWrapper,
        tokenizers::NormalizerWrapper,
        tokenizers::PreTokenizerWrapper,
        tokenizers::PostProcessorWrapper,
        tokenizers::DecoderWrapper,
    >,
}

impl TextStream<'_> {
    /// The text `id` completes, if it completes any characters.
    pub fn step(&mut self, id: u32) -> Result<Option<String>> {
        self.inner
            .step(id)
            .map_err(|e| Error::Tokenizer(e.to_string()))
    }
}
