//! hearth: small open models on WebGPU compute shaders, in the browser and natively.
//!
//! Layers, from the bytes up: [`formats`] (model files and dtypes), [`text`] (tokenizers, chat
//! templates, sampling), [`backends`] (the op interface, GPU and CPU), [`models`] (architectures
//! written against the op interface), then [`engine`] and [`embedder`] (generation and
//! embeddings). `web` is the JavaScript edge; `main.rs` the CLI.

pub mod backends;
pub mod embedder;
pub mod engine;
pub mod error;
pub mod formats;
pub mod models;
pub mod text;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use error::{Error, Result};

pub use engine::{DeviceKind, Engine, GenerateRequest, Generation, LoadOptions, Prompt};
