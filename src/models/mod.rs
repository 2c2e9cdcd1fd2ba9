//! Model architectures, each written once against [`crate::backends::ops::Backend`].

pub mod bert;
pub mod config;
pub mod llama;
