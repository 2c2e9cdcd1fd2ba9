//! hearth: small open models on WebGPU compute shaders, in the browser and natively.

pub mod config;
pub mod cpu;
pub mod error;
pub mod gpu;
pub mod ops;
pub mod weights;

pub use error::{Error, Result};
