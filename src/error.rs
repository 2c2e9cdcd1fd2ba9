//! One error type for the whole crate. Everything that depends on user input (files, prompts,
//! device limits) returns `Result`, because a panic in wasm traps the whole instance.

use std::path::PathBuf;

/// Errors surfaced to the CLI and (by `name()`) to JavaScript.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: malformed JSON: {message}")]
    Json { file: String, message: String },
    #[error("{file}: malformed safetensors: {message}")]
    Safetensors { file: String, message: String },
    #[error("{file}: malformed GGUF: {message}")]
    Gguf { file: String, message: String },
    #[error("{file}: missing tensor `{name}`")]
    MissingTensor { file: String, name: String },
    #[error("tensor `{name}` has shape {found:?}, expected {expected:?}")]
    ShapeMismatch {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("unsupported architecture `{0}` (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM for text; BertModel for embeddings)")]
    UnsupportedArchitecture(String),
    #[error("{file}: unsupported dtype `{dtype}` for tensor `{name}` (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS)")]
    UnsupportedDtype {
        file: String,
        name: String,
        dtype: String,
    },
    #[error("config.json: {0}")]
    Config(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("chat template: {0}")]
    ChatTemplate(String),
    #[error("prompt has {prompt} tokens, past the context window of {context} tokens")]
    ContextOverflow { prompt: usize, context: usize },
    #[error("empty prompt: at least one token is needed")]
    EmptyPrompt,
    #[error("token id {id} is outside the vocabulary of {vocab} tokens")]
    TokenOutOfRange { id: u32, vocab: usize },
    #[error("no GPU adapter found ({0})")]
    NoAdapter(String),
    #[error("GPU device: {0}")]
    Device(String),
    #[error("model does not fit the GPU: {0}")]
    DeviceLimit(String),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("generation aborted")]
    Aborted,
}

impl Error {
    /// A stable, JavaScript-style error name for each kind of failure.
    pub fn name(&self) -> &'static str {
        match self {
            Error::Io { .. } => "LoadError",
            Error::Json { .. }
            | Error::Safetensors { .. }
            | Error::Gguf { .. }
            | Error::MissingTensor { .. }
            | Error::ShapeMismatch { .. }
            | Error::Config(_) => "ModelFormatError",
            Error::UnsupportedArchitecture(_) | Error::UnsupportedDtype { .. } => {
                "UnsupportedModelError"
            }
            Error::Tokenizer(_) => "TokenizerError",
            Error::ChatTemplate(_) => "ChatTemplateError",
            Error::ContextOverflow { .. } | Error::EmptyPrompt | Error::TokenOutOfRange { .. } => {
                "PromptError"
            }
            Error::NoAdapter(_) => "NoAdapterError",
            Error::Device(_) => "DeviceError",
            Error::DeviceLimit(_) => "DeviceLimitError",
            Error::InvalidArgument(_) => "TypeError",
            Error::Aborted => "AbortError",
        }
    }

    pub(crate) fn json(file: impl Into<String>, err: impl std::fmt::Display) -> Self {
        Error::Json {
            file: file.into(),
            message: err.to_string(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
