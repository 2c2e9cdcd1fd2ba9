//! ggml's block-quantized weight formats on the CPU: dequantization of every supported type
//! (the reference the GPU kernels are tested against, and what the CPU backend multiplies with)
//! and quantization to Q8_0 / Q4_0 for quantize-on-load. Layouts match ggml byte for byte;
//! arithmetic follows gguf-py's order of operations so results are bit-identical to it.

use half::f16;

use crate::formats::weights::DType;

/// The 16 non-linear levels of IQ4_NL and IQ4_XS.
pub const IQ4_LEVELS: [i8; 16] = [
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
];

fn half_at(block: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([block[at], block[at + 1]]).to_f32()
}

/// Low nibbles of the 16 bytes give elements 0..16, high nibbles 16..32 (Q4_0, Q4_1, Q5_*,
/// IQ4_NL).
fn nibble32(qs: &[u8], e: usize) -> u8 {
    (qs[e % 16] >> (4 * (e / 16))) & 0xf
}

/// The 6-bit scale and min of sub-block `j` of Q4_K / Q5_K's 12 packed bytes.
fn scale_min_k4(scales: &[u8], j: usize) -> (u8, u8) {
    if j < 4 {
        (scales[j] & 63, scales[j + 4] & 63)
    } else {
        let sc = (scales[j + 4] & 0xf) | ((scales[j - 4] >> 6) << 4);
        let m = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
        (sc, m)
    }
}

/// The 6-bit scale `i` (0..16) of Q3_K's 12 packed bytes, as stored (offset by 32).
fn scale_q3k(scales: &[u8], i: usize) -> u8 {
    let low = if i < 8 {
        scales[i] & 0xf
    } else {
        scales[i - 8] >> 4
    };
    let high = (scales[8 + i % 4] >> (2 * (i / 4))) & 3;
    low | (high << 4)
}

/// Q8_0's values: a block's 32 quants (signed bytes) times its scale `d`.
pub fn q8_0_values(d: f32, quants: &[u8]) -> impl Iterator<Item = f32> + '_ {
    quants.iter().map(move |&q| q as i8 as f32 * d)
}

/// Q4_0's values from a block's 16 packed bytes: the low nibbles are values 0..16, the high
/// nibbles 16..32, each `d * (nibble - 8)`.
pub fn q4_0_values(d: f32, nibbles: &[u8]) -> impl Iterator<Item = f32> + '_ {
    let value = move |nibble: u8| d * (nibble as i32 - 8) as f32;
    let low = nibbles.iter().map(move |&q| value(q & 15));
    low.chain(nibbles.iter().map(move |&q| value(q >> 4)))
}

/// Dequantizes one block of `dtype` into `out` (block_size values).
fn dequantize_block(dtype: DType, b: &[u8], out: &mut [f32]) {
    match dtype {
        DType::F32 | DType::F16 | DType::BF16 => unreachable!("not a block format"),
        DType::Q8_0 => {
            for (y, v) in out.iter_mut().zip(q8_0_values(half_at(b, 0), &b[2..])) {
                *y = v;
            }
        }
        DType::Q4_0 => {
            for (y, v) in out.iter_mut().zip(q4_0_values(half_at(b, 0), &b[2..])) {
                *y = v;
            }
        }
        DType::Q4_1 => {
            let (d, m) = (half_at(b, 0), half_at(b, 2));
            for (e, y) in out.iter_mut().enumerate() {
                *y = d * nibble32(&b[4..], e) as f32 + m;
            }
        }
        DType::Q5_0 | DType::Q5_1 => {
            let with_min = dtype == DType::Q5_1;
            let d = half_at(b, 0);
            let m = if with_min { half_at(b, 2) } else { 0.0 };
            let at = if with_min { 4 } else { 2 };
            let qh = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
            for (e, y) in out.iter_mut().enumerate() {
                let q = nibble32(&b[at + 4..], e) as i32 | (((qh >> e) & 1) << 4) as i32;
                *y = if with_min {
                    d * q as f32 + m
                } else {
                    d * (q - 16) as f32
                };
            }
        }
        DType::IQ4_NL => {
            let d = half_at(b, 0);
            for (e, y) in out.iter_mut().enumerate() {
                *y = d * IQ4_LEVELS[nibble32(&b[2..], e) as usize] as f32;
            }
        }
        DType::Q2_K => {
            let (scales, qs) = (&b[..16], &b[16..80]);
            let (d, dmin) = (half_at(b, 80), half_at(b, 82));
            for (e, y) in out.iter_mut().enumerate() {
                let (n, j, l) = (e / 128, (e % 128) / 32, e % 32);
                let sc = scales[e / 16];
                let q = (qs[32 * n + l] >> (2 * j)) & 3;
                let dl = d * (sc & 0xf) as f32;
                let ml = dmin * (sc >> 4) as f32;
                *y = dl * q as f32 - ml;
            }
        }
        DType::Q3_K => {
            let (hmask, qs, scales) = (&b[..32], &b[32..96], &b[96..108]);
            let d = half_at(b, 108);
            for (e, y) in out.iter_mut().enumerate() {
                let (n, j, l) = (e / 128, (e % 128) / 32, e % 32);
                let group = 4 * n + j;
                let low = ((qs[32 * n + l] >> (2 * j)) & 3) as i32;
                let high_clear = (hmask[l] >> group) & 1 == 0;
                let q = low - if high_clear { 4 } else { 0 };
                let dl = d * (scale_q3k(scales, e / 16) as i32 - 32) as f32;
                *y = dl * q as f32;
            }
        }
        DType::Q4_K | DType::Q5_K => {
            let (d, dmin) = (half_at(b, 0), half_at(b, 2));
            let scales = &b[4..16];
            let five_bit = dtype == DType::Q5_K;
            let (qh, qs) = if five_bit {
                (&b[16..48], &b[48..176])
            } else {
                (&b[0..0], &b[16..144])
            };
            for (e, y) in out.iter_mut().enumerate() {
                let (group, l) = (e / 32, e % 32);
                let (sc, m) = scale_min_k4(scales, group);
                let mut q = (qs[32 * (group / 2) + l] >> (4 * (group % 2))) & 0xf;
                if five_bit {
                    q |= ((qh[l] >> group) & 1) << 4;
                }
                let dl = d * sc as f32;
                let ml = dmin * m as f32;
                *y = dl * q as f32 - ml;
            }
        }
        DType::Q6_K => {
            let (ql, qh, scales) = (&b[..128], &b[128..192], &b[192..208]);
            let d = half_at(b, 208);
            for (e, y) in out.iter_mut().enumerate() {
                let (n, r) = (e / 128, e % 128);
                let (g, l) = (r / 32, r % 32);
                let low = (ql[64 * n + l + 32 * (g & 1)] >> (4 * (g / 2))) & 0xf;
                let high = (qh[32 * n + l] >> (2 * g)) & 3;
                let q = (low | (high << 4)) as i32 - 32;
                let dl = d * scales[e / 16] as i8 as f32;
                *y = dl * q as f32;
            }
        }
        DType::IQ4_XS => {
            let d = half_at(b, 0);
            let scales_h = u16::from_le_bytes([b[2], b[3]]);
            let (scales_l, qs) = (&b[4..8], &b[8..136]);
            for (e, y) in out.iter_mut().enumerate() {
                let (ib, r) = (e / 32, e % 32);
                let low = (scales_l[ib / 2] >> (4 * (ib % 2))) & 0xf;
                let high = ((scales_h >> (2 * ib)) & 3) as u8;
                let dl = d * ((low | (high << 4)) as i32 - 32) as f32;
                let q = (qs[16 * ib + r % 16] >> (4 * (r / 16))) & 0xf;
                *y = dl * IQ4_LEVELS[q as usize] as f32;
            }
        }
    }
}

/// Dequantizes whole blocks of `dtype`; `bytes` must hold a whole number of blocks.
pub fn dequantize(dtype: DType, bytes: &[u8]) -> Vec<f32> {
    let (block_size, block_bytes) = dtype.block();
    let mut out = vec![0.0; bytes.len() / block_bytes * block_size];
    for (block, values) in bytes
        .chunks_exact(block_bytes)
        .zip(out.chunks_exact_mut(block_size))
    {
        dequantize_block(dtype, block, values);
    }
    out
}

/// `1 / d`, or 0 for an all-zero block, as ggml computes the inverse scale.
fn inverse(d: f32) -> f32 {
    if d == 0.0 {
        0.0
    } else {
        1.0 / d
    }
}

/// Quantizes `values` (a multiple of 32) to Q8_0 or Q4_0, as ggml's reference quantizer does.
pub fn quantize(dtype: DType, values: &[f32]) -> Vec<u8> {
    let (block_size, block_bytes) = dtype.block();
    let mut out = Vec::with_capacity(values.len() / block_size * block_bytes);
    for block in values.chunks_exact(block_size) {
        match dtype {
            DType::Q8_0 => {
                let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                let d = amax / 127.0;
                let id = inverse(d);
                out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
                // round() rounds half away from zero, as ggml's roundf.
                out.extend(block.iter().map(|&v| (v * id).round() as i8 as u8));
            }
            DType::Q4_0 => {
                // The value of largest magnitude, keeping its sign (first one on ties).
                let max = block[1..]
                    .iter()
                    .fold(block[0], |m, &v| if v.abs() > m.abs() { v } else { m });
                let d = max / -8.0;
                let id = inverse(d);
                out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
                let q = |v: f32| ((v * id + 8.5).trunc() as u8).min(15);
                out.extend((0..16).map(|j| q(block[j]) | (q(block[j + 16]) << 4)));
            }
            other => unreachable!("quantizing to {} is not supported", other.name()),
        }
    }
    out
}
