//! Where weights come from: model files (safetensors, GGUF), their tensors and dtypes, and the
//! ggml block formats.

pub mod gguf;
mod host_tensor;
pub mod quant;
pub mod weights;
