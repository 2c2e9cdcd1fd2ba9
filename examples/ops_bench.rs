//! Times single GPU ops at decode shapes (SmolLM2-135M), many dispatches per submit, so each
//! figure is the cost of one dispatch inside a recorded forward pass.
//! `cargo run --release --example ops_bench [FILTER]`: FILTER keeps the ops whose label has it.

use hearth::backends::gpu::{Gpu, GpuOptions, LinearKernels};
use hearth::backends::ops::{AttentionShape, Backend};
use hearth::formats::weights::{DType, TensorView};

fn weight(
    gpu: &mut Gpu,
    dtype: DType,
    rows: usize,
    cols: usize,
) -> hearth::backends::gpu::GpuWeight {
    let bytes = vec![0x3cu8; dtype.bytes_for(&[rows, cols]).unwrap() as usize];
    let shape = [rows, cols];
    gpu.upload_weight(
        "w",
        TensorView {
            dtype,
            shape: &shape,
            bytes: &bytes,
        },
    )
    .unwrap()
}

fn time<F: FnMut(&mut Gpu)>(
    gpu: &mut Gpu,
    probe: &hearth::backends::gpu::GpuTensor,
    label: &str,
    n: usize,
    mut op: F,
) {
    if std::env::args()
        .nth(1)
        .is_some_and(|filter| !label.contains(&filter))
    {
        return;
    }
    for _ in 0..2 {
        op(gpu);
    }
    pollster::block_on(gpu.read(probe)).unwrap();
    let started = std::time::Instant::now();
    for _ in 0..n {
        op(gpu);
    }
    pollster::block_on(gpu.read(probe)).unwrap();
    let us = started.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("{label:40} {us:9.1} us");
}

fn main() {
    let configs = [
        (LinearKernels::Workgroup, true),
        (LinearKernels::Workgroup, false),
        (LinearKernels::RowPerInvocation, true),
    ];
    for (linear, without_subgroups) in configs {
        let options = GpuOptions {
            linear,
            without_subgroups,
            ..Default::default()
        };
        let mut gpu = pollster::block_on(Gpu::new(&options)).unwrap();
        if !without_subgroups && !gpu.uses_subgroups() {
            println!("(no subgroup operations on this adapter)");
            continue;
        }
        let linear = format!(
            "{linear:?}{}",
            if gpu.uses_subgroups() {
                "+subgroups"
            } else {
                ""
            }
        );
        let x = gpu.tensor(&vec![0.5; 1536], 1, 1536).unwrap();
        let x576 = gpu.tensor(&vec![0.5; 576], 1, 576).unwrap();
        for dtype in [DType::F32, DType::F16, DType::Q8_0, DType::Q4_0] {
            for (rows, cols) in [(1536, 576), (576, 1536), (49152, 576)] {
                let w = weight(&mut gpu, dtype, rows, cols);
                let input = if cols == 576 { &x576 } else { &x };
                let n = if rows > 10000 { 4 } else { 30 };
                let label = format!("{linear} {dtype:?} [{rows}x{cols}]");
                time(&mut gpu, &x576, &label, n, |g| {
                    let y = g.linear(input, &w).unwrap();
                    drop(y);
                });
            }
        }
        // Prefill: 128 tokens.
        let xs = gpu.tensor(&vec![0.5; 128 * 576], 128, 576).unwrap();
        for dtype in [DType::F32, DType::Q4_0] {
            let w = weight(&mut gpu, dtype, 1536, 576);
            let label = format!("{linear} 128 tokens {dtype:?} [1536x576]");
            time(&mut gpu, &x576, &label, 3, |g| {
                drop(g.linear(&xs, &w).unwrap())
            });
        }
    }
    let mut gpu = pollster::block_on(Gpu::new(&GpuOptions::default())).unwrap();
    println!("{}", gpu.adapter_info().name);
    let x576 = gpu.tensor(&vec![0.5; 576], 1, 576).unwrap();
    let norm = weight(&mut gpu, DType::F32, 1, 576);
    time(&mut gpu, &x576, "rms_norm 576", 200, |g| {
        drop(g.rms_norm(&x576, &norm, 1e-5).unwrap());
    });
    let mut acc = gpu.tensor(&vec![0.5; 576], 1, 576).unwrap();
    time(&mut gpu, &x576, "add 576", 200, |g| {
        g.add(&mut acc, &x576).unwrap()
    });
    let cache = gpu.kv_cache(1, 4096, 192).unwrap();
    let q = gpu.tensor(&vec![0.1; 576], 1, 576).unwrap();
    let q128 = gpu.tensor(&vec![0.1; 128 * 576], 128, 576).unwrap();
    let shape = AttentionShape::new(9, 3, 64, 0);
    time(&mut gpu, &x576, "attention of 128 tokens", 5, |g| {
        drop(g.attention(&q128, &cache, 0, shape).unwrap());
    });
    for pos in [128usize, 1024, 4000] {
        let shape = AttentionShape::new(9, 3, 64, pos);
        time(&mut gpu, &x576, &format!("attention at {pos}"), 50, |g| {
            drop(g.attention(&q, &cache, 0, shape).unwrap());
        });
    }
}
