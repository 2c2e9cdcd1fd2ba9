//! Model architectures, each written once against [`crate::backends::ops::Backend`]: one
//! decoder for every text-generation family (its variation points named in
//! [`config::DecoderConfig`]) and the BERT encoder.

pub mod bert;
pub mod config;
mod config_gguf;
pub mod decoder;
pub mod rope;

pub use config_gguf::RopeTensors;
