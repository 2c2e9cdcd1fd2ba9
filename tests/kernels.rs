//! Every WGSL kernel against burn's CPU implementation of the same op, on seeded random data
//! over shape sweeps with awkward sizes. A failure names the op, its shape and the worst index.

mod common;

use common::{assert_close, encode, linear, random, read, rng, weight};
use hearth::backends::cpu::Cpu;
use hearth::backends::gpu::Gpu;
use hearth::backends::ops::{AttentionShape, Backend, RopeLayout};
use hearth::formats::weights::DType;

const DTYPES: [DType; 3] = [DType::F32, DType::F16, DType::BF16];

struct Pair {
    gpu: Gpu,
    cpu: Cpu,
}

fn pair() -> Option<Pair> {
    Some(Pair {
        gpu: common::gpu()?,
        cpu: Cpu::new(),
    })
}

macro_rules! on_both {
    ($pair:expr, $case:expr, $tol:expr, |$b:ident| $body:expr) => {{
        let gpu_out = {
            let $b = &mut $pair.gpu;
            $body
        };
        let cpu_out = {
            let $b = &mut $pair.cpu;
            $body
        };
        assert_close(&$case, &gpu_out, &cpu_out, $tol);
    }};
}

#[test]
fn embedding() {
    let Some(mut p) = pair() else { return };
    let mut r = rng(1);
    for dtype in DTYPES {
        for (vocab, hidden, seq) in [(7, 3, 1), (65, 63, 7), (300, 65, 3)] {
            let (bytes, _) = encode(&random(&mut r, vocab * hidden, 1.0), dtype);
            let ids: Vec<u32> = (0..seq).map(|i| ((i * 31 + 5) % vocab) as u32).collect();
            let case = format!("embedding(vocab={vocab}, hidden={hidden}, seq={seq}, {dtype:?})");
            on_both!(p, case, 0.0, |b| {
                let w = weight(b, &bytes, dtype, &[vocab, hidden]);
                let x = b.embedding(&w, &ids).unwrap();
                read(b, &x)
            });
        }
    }
}

#[test]
fn rms_norm() {
    let Some(mut p) = pair() else { return };
    let mut r = rng(2);
    for dtype in DTYPES {
        for (rows, cols) in [(1, 1), (3, 7), (7, 63), (2, 65), (1, 4095), (65, 16)] {
            let x = random(&mut r, rows * cols, 2.0);
            let (bytes, _) = encode(&random(&mut r, cols, 1.5), dtype);
            let case = format!("rms_norm(rows={rows}, cols={cols}, {dtype:?})");
            on_both!(p, case, 1e-5, |b| {
                let w = weight(b, &bytes, dtype, &[cols]);
                let x = b.tensor(&x, rows, cols).unwrap();
                let y = b.rms_norm(&x, &w, 1e-5).unwrap();
                read(b, &y)
            });
        }
    }
    // Per-head norm: a weight narrower than the row (Qwen3's q_norm).
    let x = random(&mut r, 3 * 64, 2.0);
    let (bytes, _) = encode(&random(&mut r, 16, 1.5), DType::F32);
    on_both!(p, "rms_norm(rows=3, cols=64, per-head 16)", 1e-5, |b| {
        let w = weight(b, &bytes, DType::F32, &[16]);
        let x = b.tensor(&x, 3, 64).unwrap();
        let y = b.rms_norm(&x, &w, 1e-6).unwrap();
        read(b, &y)
    });
}

#[test]
fn linear_matmul_and_matvec() {
    let Some(mut p) = pair() else { return };
    let mut gpus = common::gpus_per_linear_kernels();
    let mut r = rng(3);
    let shapes = [
        (1, 1, 1),
        (1, 65, 63),
        (1, 4095, 7),
        (1, 7, 4095),
        (3, 7, 63),
        (7, 65, 3),
        (63, 1, 65),
        (65, 63, 65),
        (130, 70, 33),
        (2, 3, 4095),
        // Whole 32-value blocks: the block-at-a-time path of the row kernels.
        (1, 65, 64),
        (9, 33, 96),
    ];
    for dtype in DTYPES {
        for (m, n, k) in shapes {
            let x = random(&mut r, m * k, 1.0);
            let (bytes, _) = encode(&random(&mut r, n * k, 1.0), dtype);
            let tol = 2e-5 * (k as f32).sqrt();
            let expected = linear(&mut p.cpu, &bytes, dtype, &x, [m, n, k]);
            // Both kernel families, whichever this adapter would pick.
            for (kernels, gpu) in &mut gpus {
                let case = format!("linear {kernels}(m={m}, n={n}, k={k}, {dtype:?})");
                let out = linear(gpu, &bytes, dtype, &x, [m, n, k]);
                assert_close(&case, &out, &expected, tol);
            }
        }
    }
}

#[test]
fn elementwise_ops() {
    let Some(mut p) = pair() else { return };
    let mut r = rng(4);
    for (rows, cols) in [(1, 1), (3, 7), (7, 63), (1, 4095), (65, 65)] {
        let x = random(&mut r, rows * cols, 4.0);
        let y = random(&mut r, rows * cols, 4.0);
        for dtype in DTYPES {
            let (bytes, _) = encode(&random(&mut r, cols, 1.0), dtype);
            let case = format!("bias_add(rows={rows}, cols={cols}, {dtype:?})");
            on_both!(p, case, 1e-6, |b| {
                let w = weight(b, &bytes, dtype, &[cols]);
                let mut x = b.tensor(&x, rows, cols).unwrap();
                b.add_bias(&mut x, &w).unwrap();
                read(b, &x)
            });
        }
        on_both!(p, format!("add(rows={rows}, cols={cols})"), 1e-6, |b| {
            let mut a = b.tensor(&x, rows, cols).unwrap();
            let c = b.tensor(&y, rows, cols).unwrap();
            b.add(&mut a, &c).unwrap();
            read(b, &a)
        });
        on_both!(
            p,
            format!("silu_mul(rows={rows}, cols={cols})"),
            1e-5,
            |b| {
                let g = b.tensor(&x, rows, cols).unwrap();
                let u = b.tensor(&y, rows, cols).unwrap();
                let out = b.silu_mul(&g, &u).unwrap();
                read(b, &out)
            }
        );
        on_both!(p, format!("softmax(rows={rows}, cols={cols})"), 1e-5, |b| {
            let mut a = b.tensor(&x, rows, cols).unwrap();
            b.softmax(&mut a).unwrap();
            read(b, &a)
        });
        on_both!(p, format!("last_row(rows={rows}, cols={cols})"), 0.0, |b| {
            let a = b.tensor(&x, rows, cols).unwrap();
            let last = b.last_row(&a).unwrap();
            read(b, &last)
        });
    }
}

#[test]
fn rope_both_layouts() {
    let Some(mut p) = pair() else { return };
    let mut r = rng(5);
    for layout in [RopeLayout::HalfSplit, RopeLayout::Interleaved] {
        for (seq, n_heads, head_dim, start_pos) in
            [(1, 1, 2, 0), (3, 4, 16, 5), (7, 3, 64, 0), (65, 2, 32, 63)]
        {
            let context = start_pos + seq + 3;
            let table: Vec<f32> = (0..context * head_dim / 2)
                .flat_map(|i| {
                    let angle =
                        (i / (head_dim / 2)) as f64 * 0.37 / (1.0 + (i % (head_dim / 2)) as f64);
                    [angle.cos() as f32, angle.sin() as f32]
                })
                .collect();
            let (table_bytes, _) = encode(&table, DType::F32);
            let x = random(&mut r, seq * n_heads * head_dim, 2.0);
            let case = format!("rope(seq={seq}, n_heads={n_heads}, head_dim={head_dim}, start_pos={start_pos}, {layout:?})");
            on_both!(p, case, 1e-6, |b| {
                let t = weight(b, &table_bytes, DType::F32, &[context, head_dim / 2, 2]);
                let mut x = b.tensor(&x, seq, n_heads * head_dim).unwrap();
                b.rope(&mut x, &t, head_dim, start_pos, layout).unwrap();
                read(b, &x)
            });
        }
    }
}

#[test]
fn attention_over_the_kv_cache() {
    let Some(mut p) = pair() else { return };
    let mut r = rng(6);
    // (seq, start_pos, n_heads, n_kv_heads, head_dim): prefill, decode, GQA, MQA, long context.
    let cases = [
        (1, 0, 1, 1, 2),
        (7, 0, 4, 2, 16),
        (1, 6, 4, 2, 16),
        (3, 63, 8, 1, 32),
        (65, 0, 2, 2, 8),
        (1, 4094, 2, 1, 4),
        // Head dimensions past the attention kernel's 64 invocations.
        (3, 70, 4, 2, 128),
        (1, 9, 1, 1, 96),
        // Few (token, head) pairs over many keys: the keys split across workgroups and
        // combined (decode at 1.5K, a short prefill after 600, the most slices).
        (1, 1500, 9, 3, 64),
        (20, 600, 3, 1, 16),
        (1, 20000, 1, 1, 4),
    ];
    for (seq, start_pos, n_heads, n_kv_heads, head_dim) in cases {
        let context = start_pos + seq + 1;
        let kv_dim = n_kv_heads * head_dim;
        let past_k = random(&mut r, start_pos.max(1) * kv_dim, 1.0);
        let past_v = random(&mut r, start_pos.max(1) * kv_dim, 1.0);
        let k = random(&mut r, seq * kv_dim, 1.0);
        let v = random(&mut r, seq * kv_dim, 1.0);
        let q = random(&mut r, seq * n_heads * head_dim, 1.0);
        let shape = AttentionShape {
            n_heads,
            n_kv_heads,
            head_dim,
            start_pos,
        };
        let case = format!("attention(seq={seq}, start_pos={start_pos}, n_heads={n_heads}, n_kv_heads={n_kv_heads}, head_dim={head_dim})");
        on_both!(p, case, 1e-5, |b| {
            let mut cache = b.kv_cache(2, context, kv_dim).unwrap();
            if start_pos > 0 {
                let pk = b.tensor(&past_k, start_pos, kv_dim).unwrap();
                let pv = b.tensor(&past_v, start_pos, kv_dim).unwrap();
                b.write_kv(&mut cache, 1, &pk, &pv, 0).unwrap();
            }
            let kt = b.tensor(&k, seq, kv_dim).unwrap();
            let vt = b.tensor(&v, seq, kv_dim).unwrap();
            b.write_kv(&mut cache, 1, &kt, &vt, start_pos).unwrap();
            let qt = b.tensor(&q, seq, n_heads * head_dim).unwrap();
            let out = b.attention(&qt, &cache, 1, shape).unwrap();
            read(b, &out)
        });
    }
}

#[test]
fn argmax_top_k_and_repetition_penalty() {
    let Some(mut p) = pair() else { return };
    let mut r = rng(7);
    for n in [1, 3, 7, 63, 65, 4095, 49152] {
        let mut logits = random(&mut r, 2 * n, 10.0);
        // Ties resolve to the lower index on both backends.
        if n > 10 {
            logits[n + 3] = 50.0;
            logits[n + 9] = 50.0;
        }
        let ids: Vec<u32> = (0..n.min(40))
            .map(|i| ((i * 13) % n) as u32)
            .chain([0, 0])
            .collect();
        let case = format!("argmax/top_k/repetition_penalty(rows=2, n={n})");
        let mut results = Vec::new();
        for gpu in [true, false] {
            let result = if gpu {
                run_sampling_ops(&mut p.gpu, &logits, n, &ids)
            } else {
                run_sampling_ops(&mut p.cpu, &logits, n, &ids)
            };
            results.push(result);
        }
        let (g, c) = (&results[0], &results[1]);
        assert_eq!(g.0, c.0, "{case}: argmax");
        assert_eq!(
            g.1.iter().map(|x| x.0).collect::<Vec<_>>(),
            c.1.iter().map(|x| x.0).collect::<Vec<_>>(),
            "{case}: top_k ids"
        );
        assert_close(&case, &g.2, &c.2, 1e-6);
    }
}

/// (argmax after the penalty, top-8 after the penalty, penalized row).
fn run_sampling_ops<B: Backend>(
    b: &mut B,
    logits: &[f32],
    n: usize,
    ids: &[u32],
) -> (u32, Vec<(u32, f32)>, Vec<f32>) {
    let mut x = b.tensor(logits, 2, n).unwrap();
    b.repetition_penalty(&mut x, ids, 1.3).unwrap();
    let top = pollster::block_on(b.argmax(&x)).unwrap();
    let top_k = pollster::block_on(b.top_k(&x, 8)).unwrap();
    let row = read(b, &x)[n..].to_vec();
    (top, top_k, row)
}

#[test]
fn layer_norm() {
    let Some(mut p) = pair() else { return };
    let mut r = rng(8);
    for dtype in DTYPES {
        for (rows, cols) in [(1, 1), (3, 7), (7, 63), (2, 65), (1, 4095), (65, 384)] {
            // An offset mean exercises the two-pass variance.
            let x: Vec<f32> = random(&mut r, rows * cols, 2.0)
                .iter()
                .map(|v| v + 3.0)
                .collect();
            let (w, _) = encode(&random(&mut r, cols, 1.5), dtype);
            let (bias, _) = encode(&random(&mut r, cols, 1.0), dtype);
            let case = format!("layer_norm(rows={rows}, cols={cols}, {dtype:?})");
            on_both!(p, case, 2e-5, |b| {
                let w = weight(b, &w, dtype, &[cols]);
                let bias = weight(b, &bias, dtype, &[cols]);
                let x = b.tensor(&x, rows, cols).unwrap();
                let y = b.layer_norm(&x, &w, &bias, 1e-12).unwrap();
                read(b, &y)
            });
        }
    }
}

#[test]
fn gelu() {
    let Some(mut p) = pair() else { return };
    let mut r = rng(9);
    for (rows, cols) in [(1, 1), (3, 7), (7, 63), (1, 4095), (65, 65)] {
        let mut x = random(&mut r, rows * cols, 6.0);
        // Far tails and zero: erf saturates to exactly +-1 there.
        x[0] = if x.len() > 3 { -12.0 } else { 0.0 };
        if x.len() > 3 {
            x[1] = 12.0;
            x[2] = 0.0;
        }
        on_both!(p, format!("gelu(rows={rows}, cols={cols})"), 1e-6, |b| {
            let mut t = b.tensor(&x, rows, cols).unwrap();
            b.gelu(&mut t).unwrap();
            read(b, &t)
        });
    }
}

#[test]
fn encoder_attention_over_a_padded_batch() {
    let Some(mut p) = pair() else { return };
    let mut r = rng(10);
    // (lengths, seq, n_heads, head_dim): single tokens, padding, awkward sizes, MiniLM's heads.
    let cases: [(&[u32], usize, usize, usize); 8] = [
        (&[1], 1, 1, 1),
        (&[3], 3, 1, 7),
        (&[7, 3, 1], 7, 2, 4),
        (&[63, 65, 1], 65, 3, 8),
        (&[2, 5], 7, 4, 16),
        (&[64, 17, 64], 64, 12, 32),
        (&[1, 1, 1, 1, 1, 1, 1], 3, 2, 3),
        (&[5, 2], 5, 2, 128),
    ];
    for (lengths, seq, n_heads, head_dim) in cases {
        let rows = lengths.len() * seq;
        let cols = n_heads * head_dim;
        let q = random(&mut r, rows * cols, 2.0);
        let k = random(&mut r, rows * cols, 2.0);
        let v = random(&mut r, rows * cols, 1.0);
        let case = format!(
            "encoder_attention(lengths={lengths:?}, seq={seq}, n_heads={n_heads}, head_dim={head_dim})"
        );
        // Only rows inside each sequence's length are defined.
        let valid = |out: Vec<f32>| -> Vec<f32> {
            out.chunks(cols)
                .enumerate()
                .filter(|(row, _)| (row % seq) < lengths[row / seq] as usize)
                .flat_map(|(_, c)| c.to_vec())
                .collect()
        };
        on_both!(p, case, 1e-5, |b| {
            let qt = b.tensor(&q, rows, cols).unwrap();
            let kt = b.tensor(&k, rows, cols).unwrap();
            let vt = b.tensor(&v, rows, cols).unwrap();
            let out = b
                .encoder_attention(&qt, &kt, &vt, lengths, n_heads)
                .unwrap();
            valid(read(b, &out))
        });
        // Padding never leaks: garbage in padded keys/values/queries changes no real row.
        let mut k2 = k.clone();
        let mut v2 = v.clone();
        for row in 0..rows {
            if (row % seq) >= lengths[row / seq] as usize {
                for c in 0..cols {
                    k2[row * cols + c] = 1e3;
                    v2[row * cols + c] = -1e3;
                }
            }
        }
        let mut cpu = Cpu::new();
        let reference = {
            let b = &mut cpu;
            let qt = b.tensor(&q, rows, cols).unwrap();
            let kt = b.tensor(&k, rows, cols).unwrap();
            let vt = b.tensor(&v, rows, cols).unwrap();
            let out = b
                .encoder_attention(&qt, &kt, &vt, lengths, n_heads)
                .unwrap();
            valid(read(b, &out))
        };
        let b = &mut p.gpu;
        let qt = b.tensor(&q, rows, cols).unwrap();
        let kt = b.tensor(&k2, rows, cols).unwrap();
        let vt = b.tensor(&v2, rows, cols).unwrap();
        let out = b
            .encoder_attention(&qt, &kt, &vt, lengths, n_heads)
            .unwrap();
        let padded = valid(read(b, &out));
        assert_close(
            &format!("{case} with garbage padding"),
            &padded,
            &reference,
            1e-5,
        );
    }
}

#[test]
fn encoder_ops_reject_bad_shapes() {
    let mut cpu = Cpu::new();
    let x = cpu.tensor(&[0.0; 12], 4, 3).unwrap();
    assert!(cpu.encoder_attention(&x, &x, &x, &[2, 3], 1).is_err());
    assert!(cpu.encoder_attention(&x, &x, &x, &[2, 0], 1).is_err());
    assert!(cpu.encoder_attention(&x, &x, &x, &[2, 2], 2).is_err());
    assert!(cpu.encoder_attention(&x, &x, &x, &[], 1).is_err());
    let Some(mut gpu) = common::gpu() else { return };
    let x = gpu.tensor(&[0.0; 12], 4, 3).unwrap();
    assert!(gpu.encoder_attention(&x, &x, &x, &[2, 3], 1).is_err());
    assert!(gpu.encoder_attention(&x, &x, &x, &[5], 1).is_err());
    // Past the fused kernel's largest head.
    let wide = gpu.tensor(&vec![0.0; 2 * 129], 2, 129).unwrap();
    assert!(gpu.encoder_attention(&wide, &wide, &wide, &[2], 1).is_err());
}

/// `linear_add` and `linear_gated` (the linear kernels' epilogues) for both kernel families,
/// decode and prefill shapes, float and block-quantized weights.
#[test]
fn fused_linear_epilogues() {
    let Some(mut p) = pair() else { return };
    let mut gpus = common::gpus_per_linear_kernels();
    let mut r = rng(11);
    let dtypes = [
        DType::F32,
        DType::F16,
        DType::BF16,
        DType::Q4_0,
        DType::Q8_0,
    ];
    // (m, n, k): n even (gate/up pairs), k whole blocks.
    for (m, n, k) in [
        (1, 2, 256),
        (1, 130, 512),
        (3, 66, 256),
        (9, 18, 256),
        (70, 130, 256),
    ] {
        for dtype in dtypes {
            let x = random(&mut r, m * k, 1.0);
            let (bytes, _) = encode(&random(&mut r, n * k, 1.0), dtype);
            let residual = random(&mut r, m * n, 2.0);
            let tol = 2e-5 * (k as f32).sqrt();
            let add = |b: &mut Gpu| fused_add(b, &bytes, dtype, &x, &residual, [m, n, k]);
            let gated = |b: &mut Gpu| fused_gated(b, &bytes, dtype, &x, [m, n, k]);
            let expected_add = fused_add(&mut p.cpu, &bytes, dtype, &x, &residual, [m, n, k]);
            let expected_gated = fused_gated(&mut p.cpu, &bytes, dtype, &x, [m, n, k]);
            for (kernels, gpu) in &mut gpus {
                let case = format!("(m={m}, n={n}, k={k}, {dtype:?}, {kernels})");
                assert_close(&format!("linear_add{case}"), &add(gpu), &expected_add, tol);
                let case = format!("linear_gated{case}");
                assert_close(&case, &gated(gpu), &expected_gated, tol);
            }
        }
    }
}

/// The gated product is silu(x gate^T) * (x up^T) with gate and up the even and odd rows.
#[test]
fn gated_linear_pairs_interleaved_rows() {
    let mut cpu = Cpu::new();
    let mut r = rng(12);
    let (m, n, k) = (3, 5, 7);
    let x = random(&mut r, m * k, 1.0);
    let w = random(&mut r, 2 * n * k, 1.0);
    let (gate, up): (Vec<&[f32]>, Vec<&[f32]>) =
        w.chunks(k)
            .enumerate()
            .fold((Vec::new(), Vec::new()), |(mut g, mut u), (i, row)| {
                if i % 2 == 0 {
                    g.push(row)
                } else {
                    u.push(row)
                }
                (g, u)
            });
    let gated = fused_gated(
        &mut cpu,
        &encode(&w, DType::F32).0,
        DType::F32,
        &x,
        [m, 2 * n, k],
    );
    for t in 0..m {
        for j in 0..n {
            let dot = |row: &[f32]| (0..k).map(|c| x[t * k + c] * row[c]).sum::<f32>();
            let (g, u) = (dot(gate[j]), dot(up[j]));
            let expected = g / (1.0 + (-g).exp()) * u;
            let actual = gated[t * n + j];
            assert!(
                (actual - expected).abs() < 1e-5,
                "({t}, {j}): {actual} vs {expected}"
            );
        }
    }
}

/// `residual + x w^T` through `linear_add`.
fn fused_add<B: Backend>(
    b: &mut B,
    w: &[u8],
    dtype: DType,
    x: &[f32],
    residual: &[f32],
    shape: [usize; 3],
) -> Vec<f32> {
    let [m, n, _] = shape;
    common::project(b, w, dtype, x, shape, |b, x, w| {
        let mut out = b.tensor(residual, m, n).unwrap();
        b.linear_add(x, w, &mut out).unwrap();
        out
    })
}

fn fused_gated<B: Backend>(
    b: &mut B,
    w: &[u8],
    dtype: DType,
    x: &[f32],
    shape: [usize; 3],
) -> Vec<f32> {
    common::project(b, w, dtype, x, shape, |b, x, w| {
        b.linear_gated(x, w).unwrap()
    })
}

/// `rope_qkv` against `rope` + `write_kv` on each backend, and across backends: the returned
/// q, and attention over what it cached.
#[test]
fn rope_qkv_matches_rope_and_write_kv() {
    let Some(mut p) = pair() else { return };
    let mut r = rng(13);
    for layout in [RopeLayout::HalfSplit, RopeLayout::Interleaved] {
        // (seq, start_pos, n_heads, n_kv_heads, head_dim)
        for (seq, start_pos, n_heads, n_kv_heads, head_dim) in [
            (1, 0, 1, 1, 2),
            (1, 9, 4, 2, 16),
            (7, 0, 9, 3, 64),
            (5, 3, 2, 2, 8),
        ] {
            let context = start_pos + seq + 2;
            let half = head_dim / 2;
            let table: Vec<f32> = (0..context * half)
                .flat_map(|i| {
                    let angle = (i / half) as f64 * 0.41 / (1.0 + (i % half) as f64);
                    [angle.cos() as f32, angle.sin() as f32]
                })
                .collect();
            let (table, _) = encode(&table, DType::F32);
            let (q_dim, kv_dim) = (n_heads * head_dim, n_kv_heads * head_dim);
            let qkv = random(&mut r, seq * (q_dim + 2 * kv_dim), 1.0);
            let probe = random(&mut r, q_dim, 1.0);
            let shape = AttentionShape {
                n_heads,
                n_kv_heads,
                head_dim,
                start_pos,
            };
            let case = format!("rope_qkv(seq={seq}, start_pos={start_pos}, {n_heads}/{n_kv_heads} heads of {head_dim}, {layout:?})");
            on_both!(p, case, 1e-5, |b| {
                let table = weight(b, &table, DType::F32, &[context, half, 2]);
                let mut fused_cache = b.kv_cache(2, context, kv_dim).unwrap();
                let mut split_cache = b.kv_cache(2, context, kv_dim).unwrap();
                let fused_input = b.tensor(&qkv, seq, q_dim + 2 * kv_dim).unwrap();
                let q = b
                    .rope_qkv(&fused_input, &table, &mut fused_cache, 1, shape, layout)
                    .unwrap();
                let fused_q = read(b, &q);
                // The same through the separate ops.
                let part = |from: usize, width: usize| -> Vec<f32> {
                    qkv.chunks(q_dim + 2 * kv_dim)
                        .flat_map(|row| row[from..from + width].to_vec())
                        .collect()
                };
                let mut q = b.tensor(&part(0, q_dim), seq, q_dim).unwrap();
                let mut k = b.tensor(&part(q_dim, kv_dim), seq, kv_dim).unwrap();
                let v = b
                    .tensor(&part(q_dim + kv_dim, kv_dim), seq, kv_dim)
                    .unwrap();
                b.rope(&mut q, &table, head_dim, start_pos, layout).unwrap();
                b.rope(&mut k, &table, head_dim, start_pos, layout).unwrap();
                b.write_kv(&mut split_cache, 1, &k, &v, start_pos).unwrap();
                assert_eq!(fused_q, read(b, &q), "q of rope_qkv and rope differ");
                // What was cached, seen through attention of the last position.
                let probe = b.tensor(&probe, 1, q_dim).unwrap();
                let last = AttentionShape {
                    start_pos: start_pos + seq - 1,
                    ..shape
                };
                let fused = b.attention(&probe, &fused_cache, 1, last).unwrap();
                let split = b.attention(&probe, &split_cache, 1, last).unwrap();
                let fused = read(b, &fused);
                assert_eq!(
                    fused,
                    read(b, &split),
                    "caches of rope_qkv and write_kv differ"
                );
                [fused_q, fused].concat()
            });
        }
    }
}
