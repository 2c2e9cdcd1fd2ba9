//! hearth: small open models on WebGPU compute shaders, in the browser and natively.

pub mod bert;
pub mod chat;
pub mod config;
#[cfg(feature = "cpu")]
pub mod cpu;
pub mod embedder;
pub mod engine;
pub mod error;
pub mod gguf;
pub mod gguf_tokenizer;
pub mod gpu;
pub mod llama;
pub mod ops;
pub mod quant;
pub mod sampling;
pub mod tokenizer;
#[cfg(target_arch = "wasm32")]
pub mod web;
pub mod weights;

pub use error::{Error, Result};

pub use engine::{DeviceKind, Engine, GenerateRequest, Generation, LoadOptions, Prompt};
