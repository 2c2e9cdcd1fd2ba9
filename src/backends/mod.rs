//! The op interface ([`ops::Backend`]) and its two implementations: the GPU (wgpu and the WGSL
//! kernels in `shaders/`) and the CPU (burn's CPU backend).

#[cfg(feature = "cpu")]
pub mod cpu;
pub mod gpu;
pub mod ops;
