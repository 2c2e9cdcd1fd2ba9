//! Text in and out: tokenizers (`tokenizer.json` or GGUF metadata), chat templates, sampling.

pub mod chat;
pub mod gguf_tokenizer;
pub mod sampling;
pub mod tokenizer;
