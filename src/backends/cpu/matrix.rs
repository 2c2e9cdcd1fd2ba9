//! Weight matrices as the CPU's `linear` holds them, and the loops that multiply by them.
//!
//! A decode step multiplies each weight matrix by a single row, so it is bound by how fast the
//! weights can be read: gemm's packing buys nothing there, and in wasm burn's gemm decoded at
//! about half the speed of the dot products below. In wasm, prompts go through a register tile
//! here too. The loops are wasm simd128 written out, elsewhere plain loops that LLVM vectorizes
//! for the target.
//!
//! Q8_0 and Q4_0 stay quantized (a quarter and an eighth of f32's bytes); their f16 block scales
//! are widened to f32 once, at load. Other types are widened to f32.

use half::f16;

use crate::formats::quant;
use crate::formats::weights::{DType, TensorView};
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
use portable::{dot_f32, dot_q4_0, dot_q8_0, tile};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use simd128::{dot_f32, dot_q4_0, dot_q8_0, tile};

/// ggml's block length for Q8_0 and Q4_0.
const BLOCK: usize = 32;

enum Values {
    F32(Vec<f32>),
    /// Q8_0 or Q4_0: the blocks' scales, and their quants as in the file, block after block
    /// (32 signed bytes, or 16 bytes of two nibbles: see `quant::q4_0_values`).
    Blocks {
        dtype: DType,
        scales: Vec<f32>,
        quants: Vec<u8>,
    },
}

pub struct Matrix {
    rows: usize,
    cols: usize,
    values: Values,
}

impl Matrix {
    /// `view` as `[rows, cols]`; its element count must be `rows * cols`.
    pub fn new(view: TensorView<'_>, rows: usize, cols: usize) -> Self {
        let blocks_fit = cols.is_multiple_of(BLOCK);
        let values = match view.dtype {
            dtype @ (DType::Q8_0 | DType::Q4_0) if blocks_fit => {
                // Both start with their f16 scale.
                let blocks = view.bytes.chunks_exact(dtype.block().1);
                Values::Blocks {
                    dtype,
                    scales: blocks.clone().map(scale_of).collect(),
                    quants: blocks.flat_map(|b| b[2..].iter().copied()).collect(),
                }
            }
            _ => Values::F32(view.to_f32()),
        };
        Self { rows, cols, values }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        let bytes = match &self.values {
            Values::F32(v) => v.len() * 4,
            Values::Blocks { scales, quants, .. } => scales.len() * 4 + quants.len(),
        };
        bytes as u64
    }

    /// Row `r` as f32 values, appended to `out`.
    pub fn extend_with_row(&self, r: usize, out: &mut Vec<f32>) {
        let cols = self.cols;
        match &self.values {
            Values::F32(v) => out.extend_from_slice(&v[r * cols..][..cols]),
            &Values::Blocks {
                dtype,
                ref scales,
                ref quants,
            } => {
                let (scales, quants) = block_row(dtype, scales, quants, cols, r);
                let blocks = scales
                    .iter()
                    .zip(quants.chunks_exact(quants_per_block(dtype)));
                for (&d, q) in blocks {
                    match dtype {
                        DType::Q8_0 => out.extend(quant::q8_0_values(d, q)),
                        _ => out.extend(quant::q4_0_values(d, q)),
                    }
                }
            }
        }
    }

    /// Every value as f32, row-major.
    pub fn to_f32(&self) -> Vec<f32> {
        if let Values::F32(v) = &self.values {
            return v.clone();
        }
        let mut out = Vec::with_capacity(self.rows * self.cols);
        for r in 0..self.rows {
            self.extend_with_row(r, &mut out);
        }
        out
    }

    /// `out[t * rows + r] = dot(row r, x[t * cols..][..cols])` for every row `t` of `x`. Each
    /// weight row is read once and multiplied with all rows of `x` while it is in cache.
    pub fn multiply_rows(&self, x: &[f32], out: &mut [f32]) {
        let (rows, cols) = (self.rows, self.cols);
        if cols == 0 {
            return out.fill(0.0);
        }
        let n = x.len() / cols;
        debug_assert!(x.len() == n * cols && out.len() == n * rows);
        if n > MAX_STREAMED_ROWS {
            return self.multiply_tiled(x, out);
        }
        match &self.values {
            Values::F32(v) => stream(rows, cols, x, out, |r, x| {
                dot_f32(&v[r * cols..][..cols], x)
            }),
            &Values::Blocks {
                dtype,
                ref scales,
                ref quants,
            } => {
                let row = |r| block_row(dtype, scales, quants, cols, r);
                let dot = match dtype {
                    DType::Q8_0 => dot_q8_0,
                    _ => dot_q4_0,
                };
                stream(rows, cols, x, out, |r, x| {
                    let (scales, quants) = row(r);
                    dot(scales, quants, x)
                })
            }
        }
    }

    /// `multiply_rows` for many rows of `x`: pairs of weight rows (dequantized once) against
    /// four input rows at a time, so each load feeds several products. Partial tiles repeat
    /// their last row and drop the extra results.
    fn multiply_tiled(&self, x: &[f32], out: &mut [f32]) {
        let (rows, cols) = (self.rows, self.cols);
        let inputs: Vec<&[f32]> = x.chunks_exact(cols).collect();
        let mut dequantized = Vec::new();
        for r0 in (0..rows).step_by(TILE_ROWS) {
            let pair = TILE_ROWS.min(rows - r0);
            let weights: &[f32] = match &self.values {
                Values::F32(v) => &v[r0 * cols..(r0 + pair) * cols],
                _ => {
                    dequantized.clear();
                    (r0..r0 + pair).for_each(|r| self.extend_with_row(r, &mut dequantized));
                    &dequantized
                }
            };
            let w: [&[f32]; TILE_ROWS] =
                std::array::from_fn(|i| &weights[i.min(pair - 1) * cols..][..cols]);
            for t0 in (0..inputs.len()).step_by(TILE_INPUTS) {
                let quad = TILE_INPUTS.min(inputs.len() - t0);
                let x: [&[f32]; TILE_INPUTS] =
                    std::array::from_fn(|i| inputs[t0 + i.min(quad - 1)]);
                let products = tile(w, x);
                for (t, products) in products.iter().enumerate().take(quad) {
                    out[(t0 + t) * rows + r0..][..pair].copy_from_slice(&products[..pair]);
                }
            }
        }
    }
}

/// Up to this many input rows `multiply_rows` streams the weights through dot products, more
/// go through `tile`.
pub const MAX_STREAMED_ROWS: usize = 4;

/// Whether `multiply_rows` is the fastest way here to multiply `n` input rows. In wasm it always
/// is (prefill went from 34 to 54 tok/s end to end in Chromium when `tile` replaced burn's
/// gemm); natively gemm's AVX kernels win once the weights are reused by more than a few rows.
pub fn multiplies_fastest(n: usize) -> bool {
    cfg!(all(target_arch = "wasm32", target_feature = "simd128")) || n <= MAX_STREAMED_ROWS
}

/// The weight rows and input rows `tile` multiplies at once: 8 sums in registers, 6 loads per
/// 8 four-wide products.
const TILE_ROWS: usize = 2;
const TILE_INPUTS: usize = 4;

/// `out[t * rows + r] = dot(r, input t)`: each weight row once, against every input while it
/// is in cache.
fn stream(
    rows: usize,
    cols: usize,
    x: &[f32],
    out: &mut [f32],
    dot: impl Fn(usize, &[f32]) -> f32,
) {
    for r in 0..rows {
        for (t, x) in x.chunks_exact(cols).enumerate() {
            out[t * rows + r] = dot(r, x);
        }
    }
}

/// Quant bytes per block: Q8_0's 32 bytes or Q4_0's 16.
fn quants_per_block(dtype: DType) -> usize {
    dtype.block().1 - 2
}

/// Row `r`'s scales and quants.
fn block_row<'a>(
    dtype: DType,
    scales: &'a [f32],
    quants: &'a [u8],
    cols: usize,
    r: usize,
) -> (&'a [f32], &'a [u8]) {
    let blocks = cols / BLOCK;
    let bytes = blocks * quants_per_block(dtype);
    (
        &scales[r * blocks..][..blocks],
        &quants[r * bytes..][..bytes],
    )
}

fn scale_of(block: &[u8]) -> f32 {
    f16::from_le_bytes([block[0], block[1]]).to_f32()
}

/// Loops with a sum per lane, so LLVM vectorizes them for the target without reassociating
/// floats.
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
mod portable {
    use super::{BLOCK, TILE_INPUTS, TILE_ROWS};

    /// Wide enough to hide the add latency.
    const LANES: usize = 16;

    pub fn dot_f32(w: &[f32], x: &[f32]) -> f32 {
        let mut acc = [0f32; LANES];
        let (w_chunks, x_chunks) = (w.chunks_exact(LANES), x.chunks_exact(LANES));
        let tail: f32 = (w_chunks.remainder().iter())
            .zip(x_chunks.remainder())
            .map(|(a, b)| a * b)
            .sum();
        for (w, x) in w_chunks.zip(x_chunks) {
            for l in 0..LANES {
                acc[l] += w[l] * x[l];
            }
        }
        acc.iter().sum::<f32>() + tail
    }

    pub fn dot_q8_0(scales: &[f32], quants: &[u8], x: &[f32]) -> f32 {
        let mut acc = [0f32; LANES];
        let blocks = scales.iter().zip(quants.chunks_exact(BLOCK));
        for ((&d, q), x) in blocks.zip(x.chunks_exact(BLOCK)) {
            for l in 0..LANES {
                let (low, high) = (q[l] as i8 as f32, q[LANES + l] as i8 as f32);
                acc[l] += d * (low * x[l] + high * x[LANES + l]);
            }
        }
        acc.iter().sum()
    }

    pub fn dot_q4_0(scales: &[f32], nibbles: &[u8], x: &[f32]) -> f32 {
        let mut acc = [0f32; LANES];
        let blocks = scales.iter().zip(nibbles.chunks_exact(BLOCK / 2));
        for ((&d, q), x) in blocks.zip(x.chunks_exact(BLOCK)) {
            for l in 0..LANES {
                let (low, high) = ((q[l] & 15) as i32 - 8, (q[l] >> 4) as i32 - 8);
                acc[l] += d * (low as f32 * x[l] + high as f32 * x[LANES + l]);
            }
        }
        acc.iter().sum()
    }

    /// `products[t][r] = dot(w[r], x[t])`.
    pub fn tile(
        w: [&[f32]; TILE_ROWS],
        x: [&[f32]; TILE_INPUTS],
    ) -> [[f32; TILE_ROWS]; TILE_INPUTS] {
        std::array::from_fn(|t| std::array::from_fn(|r| dot_f32(w[r], x[t])))
    }
}

/// The same loops in wasm's 128-bit SIMD, written out: LLVM's vectorizer turns the portable
/// i8 -> f32 conversions into per-lane scalar code in some inlining contexts (measured 2.7x
/// slower for Q8_0), which these cannot fall into.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128 {
    use core::arch::wasm32::*;

    use super::{BLOCK, TILE_INPUTS, TILE_ROWS};

    /// The first 16 bytes of `values`.
    fn load<T>(values: &[T]) -> v128 {
        assert!(std::mem::size_of_val(values) >= 16);
        // SAFETY: the assert guarantees 16 readable bytes; v128.load needs no alignment.
        unsafe { v128_load(values.as_ptr().cast()) }
    }

    fn horizontal_sum(v: v128) -> f32 {
        f32x4_extract_lane::<0>(v)
            + f32x4_extract_lane::<1>(v)
            + f32x4_extract_lane::<2>(v)
            + f32x4_extract_lane::<3>(v)
    }

    pub fn dot_f32(w: &[f32], x: &[f32]) -> f32 {
        let mut acc = [f32x4_splat(0.0); 4];
        let (w_chunks, x_chunks) = (w.chunks_exact(16), x.chunks_exact(16));
        let tail: f32 = (w_chunks.remainder().iter())
            .zip(x_chunks.remainder())
            .map(|(a, b)| a * b)
            .sum();
        for (w, x) in w_chunks.zip(x_chunks) {
            for (j, acc) in acc.iter_mut().enumerate() {
                let product = f32x4_mul(load(&w[4 * j..]), load(&x[4 * j..]));
                *acc = f32x4_add(*acc, product);
            }
        }
        let [a, b, c, d] = acc;
        horizontal_sum(f32x4_add(f32x4_add(a, b), f32x4_add(c, d))) + tail
    }

    /// Four partial sums of 16 signed bytes times 16 values of `x`.
    fn dot16(q: v128, x: &[f32]) -> v128 {
        let (low, high) = (i16x8_extend_low_i8x16(q), i16x8_extend_high_i8x16(q));
        let product = |half: v128, at: usize| {
            let low = f32x4_convert_i32x4(i32x4_extend_low_i16x8(half));
            let high = f32x4_convert_i32x4(i32x4_extend_high_i16x8(half));
            f32x4_add(
                f32x4_mul(low, load(&x[at..])),
                f32x4_mul(high, load(&x[at + 4..])),
            )
        };
        f32x4_add(product(low, 0), product(high, 8))
    }

    pub fn dot_q8_0(scales: &[f32], quants: &[u8], x: &[f32]) -> f32 {
        let mut acc = f32x4_splat(0.0);
        let blocks = scales.iter().zip(quants.chunks_exact(BLOCK));
        for ((&d, q), x) in blocks.zip(x.chunks_exact(BLOCK)) {
            let block = f32x4_add(dot16(load(q), x), dot16(load(&q[16..]), &x[16..]));
            acc = f32x4_add(acc, f32x4_mul(block, f32x4_splat(d)));
        }
        horizontal_sum(acc)
    }

    pub fn dot_q4_0(scales: &[f32], nibbles: &[u8], x: &[f32]) -> f32 {
        let mut acc = f32x4_splat(0.0);
        let (mask, eight) = (u8x16_splat(15), i8x16_splat(8));
        let blocks = scales.iter().zip(nibbles.chunks_exact(BLOCK / 2));
        for ((&d, q), x) in blocks.zip(x.chunks_exact(BLOCK)) {
            let bytes = load(q);
            let low = i8x16_sub(v128_and(bytes, mask), eight);
            let high = i8x16_sub(u8x16_shr(bytes, 4), eight);
            let block = f32x4_add(dot16(low, x), dot16(high, &x[16..]));
            acc = f32x4_add(acc, f32x4_mul(block, f32x4_splat(d)));
        }
        horizontal_sum(acc)
    }

    /// `products[t][r] = dot(w[r], x[t])`, all rows of `w` and `x` equally long.
    pub fn tile(
        w: [&[f32]; TILE_ROWS],
        x: [&[f32]; TILE_INPUTS],
    ) -> [[f32; TILE_ROWS]; TILE_INPUTS] {
        let cols = w[0].len();
        let mut acc = [[f32x4_splat(0.0); TILE_ROWS]; TILE_INPUTS];
        let mut k = 0;
        while k + 4 <= cols {
            let wv: [v128; TILE_ROWS] = std::array::from_fn(|r| load(&w[r][k..]));
            for (x, acc) in x.iter().zip(acc.iter_mut()) {
                let xv = load(&x[k..]);
                for (acc, &wv) in acc.iter_mut().zip(&wv) {
                    *acc = f32x4_add(*acc, f32x4_mul(wv, xv));
                }
            }
            k += 4;
        }
        std::array::from_fn(|t| {
            std::array::from_fn(|r| {
                let tail: f32 = (k..cols).map(|c| w[r][c] * x[t][c]).sum();
                horizontal_sum(acc[t][r]) + tail
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::quant;

    /// Deterministic values in [-1, 1).
    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2_654_435_761).max(1);
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn f32_bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    /// Every supported layout against f64 dot products of the dequantized reference, for 1 and 3
    /// input rows (streamed) and 9 (tiled, with partial tiles: 7 weight rows, 9 inputs), and a
    /// row length with a tail after the last full lane group (and rows of length 0).
    #[test]
    fn multiply_rows_matches_the_dequantized_reference() {
        let (rows, cols) = (7, 96);
        let f32_values = values(rows * cols, 1);
        let tail_values = values(rows * 37, 2);
        let cases = [
            (DType::F32, f32_bytes(&f32_values), cols),
            (DType::F32, f32_bytes(&tail_values), 37),
            (DType::F32, Vec::new(), 0),
            (DType::Q8_0, quant::quantize(DType::Q8_0, &f32_values), cols),
            (DType::Q4_0, quant::quantize(DType::Q4_0, &f32_values), cols),
        ];
        for (dtype, bytes, cols) in cases {
            let shape = [rows, cols];
            let view = TensorView {
                dtype,
                shape: &shape,
                bytes: &bytes,
            };
            let reference = view.to_f32();
            let matrix = Matrix::new(view, rows, cols);
            assert_eq!(matrix.to_f32(), reference, "{dtype:?} dequantization");
            for n in [0, 1, 3, 9] {
                let x = values(n * cols, 3 + n as u32);
                let mut out = vec![0.0; n * rows];
                matrix.multiply_rows(&x, &mut out);
                for t in 0..n {
                    for r in 0..rows {
                        let expected: f64 = (0..cols)
                            .map(|c| reference[r * cols + c] as f64 * x[t * cols + c] as f64)
                            .sum();
                        let got = out[t * rows + r] as f64;
                        assert!(
                            (got - expected).abs() < 1e-5,
                            "{dtype:?} n={n} row {r}: {got} vs {expected}"
                        );
                    }
                }
            }
        }
    }
}
