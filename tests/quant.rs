//! Quantized weights: the CPU dequantizer bit-exact against gguf-py on random valid blocks of
//! every type, quantize-on-load bit-exact against gguf-py's Q8_0/Q4_0 quantizer, and the GPU
//! kernels (embedding, matvec, matmul) against the CPU reference for every type.

mod common;

use common::{assert_close, fixtures, linear, random, read, rng, weight};
use hearth::backends::cpu::Cpu;
use hearth::backends::ops::Backend;
use hearth::formats::quant::{dequantize, quantize};
use hearth::formats::weights::DType;

/// Every block-quantized type.
fn quantized() -> impl Iterator<Item = DType> {
    DType::ALL.into_iter().filter(|d| d.is_quantized())
}

/// Rows x columns of every tensor in `fixtures/gguf/quants`.
const ROWS: usize = 4;
const COLS: usize = 512;

fn read_f32(path: &str) -> Vec<f32> {
    let bytes = std::fs::read(fixtures().join(path)).unwrap();
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn blocks(dtype: DType) -> Vec<u8> {
    std::fs::read(fixtures().join(format!("gguf/quants/{}.blocks", dtype.name()))).unwrap()
}

#[test]
fn block_sizes_match_the_fixture_manifest() {
    let manifest = common::fixture_json("gguf/quants/manifest.json");
    for dtype in quantized() {
        let entry = &manifest[dtype.name()];
        let (block_size, block_bytes) = dtype.block();
        assert_eq!(entry["block_size"], block_size, "{dtype:?}");
        assert_eq!(entry["type_size"], block_bytes, "{dtype:?}");
        let id = entry["ggml_type"].as_u64().unwrap() as u32;
        assert_eq!(DType::from_ggml(id), Some(dtype));
        assert_eq!(blocks(dtype).len(), ROWS * COLS / block_size * block_bytes);
    }
}

#[test]
fn dequantize_is_bit_exact_with_gguf_py() {
    for dtype in quantized() {
        let expected = read_f32(&format!("gguf/quants/{}.f32", dtype.name()));
        let actual = dequantize(dtype, &blocks(dtype));
        assert_eq!(actual.len(), expected.len(), "{dtype:?}");
        for (i, (a, e)) in actual.iter().zip(&expected).enumerate() {
            assert_eq!(
                a.to_bits(),
                e.to_bits(),
                "{dtype:?}: element {i} (block {}): got {a}, gguf-py {e}",
                i / dtype.block().0
            );
        }
    }
}

#[test]
fn quantize_is_bit_exact_with_gguf_py() {
    for dtype in [DType::Q8_0, DType::Q4_0] {
        let input = read_f32(&format!("gguf/quantize/{}.input.f32", dtype.name()));
        let expected =
            std::fs::read(fixtures().join(format!("gguf/quantize/{}.blocks", dtype.name())))
                .unwrap();
        let actual = quantize(dtype, &input);
        assert_eq!(actual.len(), expected.len(), "{dtype:?}");
        let block_bytes = dtype.block().1;
        for (i, (a, e)) in actual
            .chunks(block_bytes)
            .zip(expected.chunks(block_bytes))
            .enumerate()
        {
            assert_eq!(a, e, "{dtype:?}: block {i} differs from gguf-py");
        }
    }
}

#[test]
fn gpu_kernels_match_the_cpu_reference_for_every_type() {
    let Some(mut gpu) = common::gpu() else { return };
    let mut linear_gpus = common::gpus_per_linear_kernels();
    let mut cpu = Cpu::new();
    let mut r = rng(11);
    for dtype in quantized() {
        // The fixture's random blocks (4 rows of 512), repeated to make more rows; the CPU
        // multiplies with its bit-exact dequantization.
        let fixture = blocks(dtype);
        for (m, n) in [(1, 4), (1, 67), (3, 67), (70, 9)] {
            let k = COLS;
            let bytes: Vec<u8> = fixture
                .iter()
                .copied()
                .cycle()
                .take(fixture.len() / ROWS * n)
                .collect();
            let x = random(&mut r, m * k, 1.0);
            let cpu_out = linear(&mut cpu, &bytes, dtype, &x, [m, n, k]);
            let tol = 2e-5 * (k as f32).sqrt();
            for (kernels, gpu) in &mut linear_gpus {
                let case = format!("linear {kernels}(m={m}, n={n}, k={k}, {dtype:?})");
                let gpu_out = linear(gpu, &bytes, dtype, &x, [m, n, k]);
                assert_close(&case, &gpu_out, &cpu_out, tol);
            }
        }
        let ids = [0u32, 3, 1, 2, 3];
        let case = format!("embedding({dtype:?})");
        let gpu_out = {
            let w = weight(&mut gpu, &fixture, dtype, &[ROWS, COLS]);
            let x = gpu.embedding(&w, &ids).unwrap();
            read(&mut gpu, &x)
        };
        let expected = dequantize(dtype, &fixture);
        let expected: Vec<f32> = ids
            .iter()
            .flat_map(|&id| expected[id as usize * COLS..(id as usize + 1) * COLS].to_vec())
            .collect();
        assert_close(&case, &gpu_out, &expected, 1e-6);
    }
}
