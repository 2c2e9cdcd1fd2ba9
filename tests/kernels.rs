//! Every WGSL kernel against burn's CPU implementation of the same op, on seeded random data
//! over shape sweeps with awkward sizes. A failure names the op, its shape and the worst index.

mod common;

use common::{assert_close, encode, linear, random, read, rng, weight};
use hearth::backends::cpu::Cpu;
use hearth::backends::gpu::Gpu;
use hearth::backends::ops::{Activation, AttentionShape, Backend, RopeLayout};
use hearth::formats::weights::DType;

const DTYPES: [DType; 3] = [DType::F32, DType::F16, DType::BF16];
const ACTIVATIONS: [Activation; 3] = [Activation::Silu, Activation::Gelu, Activation::GeluTanh];

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
        for act in ACTIVATIONS {
            let case = format!("gated(rows={rows}, cols={cols}, {act:?})");
            on_both!(p, case, 1e-5, |b| {
                let g = b.tensor(&x, rows, cols).unwrap();
                let u = b.tensor(&y, rows, cols).unwrap();
                let out = b.gated(&g, &u, act).unwrap();
                read(b, &out)
            });
        }
        // Plain factors; soft caps around the values, above them (tanh near 0) and far below
        // them (values in the thousands, where an exp-based tanh overflows).
        let scalings = [
            (1.0, 0.0),
            (0.125, 0.0),
            (2.5, 0.0),
            (3.0, 5.0),
            (1.0, 30.0),
            (1000.0, 30.0),
        ];
        for (factor, softcap) in scalings {
            let case =
                format!("scale(rows={rows}, cols={cols}, factor={factor}, softcap={softcap})");
            on_both!(p, case, 1e-6, |b| {
                let mut a = b.tensor(&x, rows, cols).unwrap();
                b.scale(&mut a, factor, softcap).unwrap();
                read(b, &a)
            });
        }
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
        // (seq, n_heads, head_dim, rotary_dim, start_pos): whole heads rotating, and partial
        // rotary (3/4 of the head, as Phi-4-mini), where the rest must pass through.
        for (seq, n_heads, head_dim, rotary_dim, start_pos) in [
            (1, 1, 2, 2, 0),
            (3, 4, 16, 16, 5),
            (7, 3, 64, 64, 0),
            (65, 2, 32, 32, 63),
            (3, 4, 16, 12, 5),
            (7, 3, 64, 48, 0),
            (65, 2, 32, 24, 63),
            (2, 2, 8, 2, 1),
        ] {
            let context = start_pos + seq + 3;
            let (table_bytes, _) = encode(&rope_table(context, rotary_dim, 0.37), DType::F32);
            let x = random(&mut r, seq * n_heads * head_dim, 2.0);
            let case = format!("rope(seq={seq}, n_heads={n_heads}, head_dim={head_dim}, rotary_dim={rotary_dim}, start_pos={start_pos}, {layout:?})");
            on_both!(p, case, 1e-6, |b| {
                let t = weight(b, &table_bytes, DType::F32, &[context, rotary_dim / 2, 2]);
                let mut x = b.tensor(&x, seq, n_heads * head_dim).unwrap();
                b.rope(&mut x, &t, head_dim, start_pos, layout).unwrap();
                read(b, &x)
            });
        }
    }
}

/// `[context, rotary_dim / 2, 2]`: (cos, sin) of `position * step / (1 + pair)`.
fn rope_table(context: usize, rotary_dim: usize, step: f64) -> Vec<f32> {
    let half = rotary_dim / 2;
    (0..context * half)
        .flat_map(|i| {
            let angle = (i / half) as f64 * step / (1.0 + (i % half) as f64);
            [angle.cos() as f32, angle.sin() as f32]
        })
        .collect()
}

/// A partial rotary table leaves the dimensions past it exactly as they were.
#[test]
fn rope_partial_rotary_passes_the_rest_through() {
    let mut cpu = Cpu::new();
    let gpu = common::gpu();
    let (seq, n_heads, head_dim, rotary_dim) = (3, 2, 16, 12);
    let (table, _) = encode(&rope_table(seq, rotary_dim, 0.5), DType::F32);
    let x = random(&mut rng(14), seq * n_heads * head_dim, 2.0);
    let check = |name: &str, out: Vec<f32>| {
        for (i, (a, e)) in out.iter().zip(&x).enumerate() {
            if i % head_dim >= rotary_dim {
                assert_eq!(
                    a, e,
                    "{name}: index {i} is past the rotary dims but changed"
                );
            }
        }
        // Position 0 turns by nothing; later ones do.
        assert_eq!(&out[..head_dim], &x[..head_dim], "{name}: position 0 moved");
        assert_ne!(&out[2 * n_heads * head_dim..], &x[2 * n_heads * head_dim..]);
    };
    fn run<B: Backend>(b: &mut B, table: &[u8], x: &[f32], shape: [usize; 4]) -> Vec<f32> {
        let [seq, n_heads, head_dim, rotary_dim] = shape;
        let t = weight(b, table, DType::F32, &[seq, rotary_dim / 2, 2]);
        let mut x = b.tensor(x, seq, n_heads * head_dim).unwrap();
        b.rope(&mut x, &t, head_dim, 0, RopeLayout::Interleaved)
            .unwrap();
        read(b, &x)
    }
    let shape = [seq, n_heads, head_dim, rotary_dim];
    check("cpu", run(&mut cpu, &table, &x, shape));
    if let Some(mut gpu) = gpu {
        check("gpu", run(&mut gpu, &table, &x, shape));
    }
    // A table wider than the head is an error.
    let (wide, _) = encode(&rope_table(seq, 2 * head_dim, 0.5), DType::F32);
    let t = weight(&mut cpu, &wide, DType::F32, &[seq, head_dim, 2]);
    let mut xt = cpu.tensor(&x, seq, n_heads * head_dim).unwrap();
    assert!(cpu
        .rope(&mut xt, &t, head_dim, 0, RopeLayout::HalfSplit)
        .is_err());
}

#[test]
fn attention_over_the_kv_cache() {
    let Some(mut p) = pair() else { return };
    let mut r = rng(6);
    // (seq, start_pos, n_heads, n_kv_heads, head_dim): prefill, decode, GQA, MQA, long context.
    let plain = [
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
    let mut cases: Vec<(usize, AttentionShape, f32)> = plain
        .iter()
        .map(|&(seq, start_pos, n_heads, n_kv_heads, head_dim)| {
            let shape = AttentionShape::new(n_heads, n_kv_heads, head_dim, start_pos);
            (seq, shape, 1.0)
        })
        .collect();
    // (seq, start_pos, n_heads, n_kv_heads, head_dim, window, softcap, scale, q's scale):
    // sliding windows, Gemma 2's soft cap over large scores, other score scales.
    let shaped = [
        // A window shorter than the prompt; one past the start; a decode step past it.
        (20, 0, 4, 2, 16, 5, 0.0, 0.0, 1.0),
        (7, 10, 4, 2, 16, 8, 0.0, 0.0, 1.0),
        (1, 30, 4, 2, 16, 8, 0.0, 0.0, 1.0),
        (5, 3, 2, 1, 8, 1, 0.0, 0.0, 1.0),
        (7, 0, 2, 2, 8, 100, 0.0, 0.0, 1.0),
        // Windows over the split path: decode, and a prefill whose first queries see fewer
        // keys than the window (so their slices differ) while its last see a full window.
        (1, 1500, 2, 1, 64, 700, 0.0, 0.0, 1.0),
        (1, 5000, 1, 1, 8, 2048, 0.0, 0.0, 1.0),
        (8, 1200, 2, 1, 16, 777, 0.0, 0.0, 1.0),
        (30, 500, 2, 1, 8, 520, 0.0, 0.0, 1.0),
        // Soft cap over scores in the hundreds (q scaled up), unsplit and split.
        (7, 3, 4, 2, 16, 0, 5.0, 0.0, 30.0),
        (1, 900, 2, 1, 32, 0, 20.0, 0.0, 30.0),
        // Scales other than 1/sqrt(head_dim) (Gemma's query_pre_attn_scalar, Granite's
        // attention_multiplier), and all three with a window over the split path.
        (5, 4, 4, 4, 64, 0, 0.0, 0.0625, 1.0),
        (3, 9, 2, 1, 16, 0, 0.0, 1.0, 1.0),
        (1, 3000, 2, 2, 32, 1024, 50.0, 0.0625, 8.0),
    ];
    for (seq, start_pos, n_heads, n_kv_heads, head_dim, window, softcap, scale, q_scale) in shaped {
        let mut shape = AttentionShape::new(n_heads, n_kv_heads, head_dim, start_pos);
        shape.window = window;
        shape.softcap = softcap;
        if scale > 0.0 {
            shape.scale = scale;
        }
        cases.push((seq, shape, q_scale));
    }
    for (seq, shape, q_scale) in cases {
        let AttentionShape {
            n_heads,
            n_kv_heads,
            head_dim,
            start_pos,
            ..
        } = shape;
        let context = start_pos + seq + 1;
        let kv_dim = n_kv_heads * head_dim;
        let past_k = random(&mut r, start_pos.max(1) * kv_dim, 1.0);
        let past_v = random(&mut r, start_pos.max(1) * kv_dim, 1.0);
        let k = random(&mut r, seq * kv_dim, 1.0);
        let v = random(&mut r, seq * kv_dim, 1.0);
        let q = random(&mut r, seq * n_heads * head_dim, q_scale);
        let case = format!("attention(seq={seq}, {shape:?}, q in +-{q_scale})");
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

/// What a window means, checked on each backend without the other: a window of 1 returns each
/// query's own value row, and a window at least as long as the context changes nothing.
#[test]
fn attention_window_semantics() {
    fn run<B: Backend>(
        b: &mut B,
        kv: &[f32],
        q: &[f32],
        seq: usize,
        shape: AttentionShape,
    ) -> Vec<f32> {
        let kv_dim = shape.n_kv_heads * shape.head_dim;
        let mut cache = b.kv_cache(1, seq, kv_dim).unwrap();
        let k = b.tensor(&kv[..seq * kv_dim], seq, kv_dim).unwrap();
        let v = b.tensor(&kv[seq * kv_dim..], seq, kv_dim).unwrap();
        b.write_kv(&mut cache, 0, &k, &v, 0).unwrap();
        let q = b.tensor(q, seq, shape.n_heads * shape.head_dim).unwrap();
        let out = b.attention(&q, &cache, 0, shape).unwrap();
        read(b, &out)
    }
    fn check<B: Backend>(name: &str, b: &mut B) {
        let mut r = rng(15);
        let (seq, n_heads, n_kv_heads, head_dim) = (9, 4, 2, 8);
        let kv_dim = n_kv_heads * head_dim;
        let kv = random(&mut r, 2 * seq * kv_dim, 1.0);
        let q = random(&mut r, seq * n_heads * head_dim, 3.0);
        let plain = AttentionShape::new(n_heads, n_kv_heads, head_dim, 0);
        let own = run(b, &kv, &q, seq, AttentionShape { window: 1, ..plain });
        let values = &kv[seq * kv_dim..];
        let expected: Vec<f32> = (0..seq)
            .flat_map(|t| {
                (0..n_heads).flat_map(move |h| {
                    let from = t * kv_dim + h / (n_heads / n_kv_heads) * head_dim;
                    values[from..from + head_dim].to_vec()
                })
            })
            .collect();
        assert_close(
            &format!("{name}: attention(window=1)"),
            &own,
            &expected,
            1e-6,
        );
        let wide = run(
            b,
            &kv,
            &q,
            seq,
            AttentionShape {
                window: seq,
                ..plain
            },
        );
        let all = run(b, &kv, &q, seq, plain);
        assert_close(&format!("{name}: attention(window=seq)"), &wide, &all, 1e-6);
        let narrow = run(b, &kv, &q, seq, AttentionShape { window: 3, ..plain });
        assert_eq!(
            narrow[..3 * n_heads * head_dim],
            all[..3 * n_heads * head_dim]
        );
        assert_ne!(
            narrow[3 * n_heads * head_dim..],
            all[3 * n_heads * head_dim..]
        );
    }
    check("cpu", &mut Cpu::new());
    if let Some(mut gpu) = common::gpu() {
        check("gpu", &mut gpu);
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
fn activation() {
    let Some(mut p) = pair() else { return };
    let mut r = rng(9);
    for act in ACTIVATIONS {
        for (rows, cols) in [(1, 1), (3, 7), (7, 63), (1, 4095), (65, 65)] {
            let mut x = random(&mut r, rows * cols, 6.0);
            // Far tails and zero: erf saturates to exactly +-1 there.
            x[0] = if x.len() > 3 { -12.0 } else { 0.0 };
            if x.len() > 3 {
                x[1] = 12.0;
                x[2] = 0.0;
            }
            let case = format!("activation(rows={rows}, cols={cols}, {act:?})");
            on_both!(p, case, 1e-6, |b| {
                let mut t = b.tensor(&x, rows, cols).unwrap();
                b.activation(&mut t, act).unwrap();
                read(b, &t)
            });
        }
        // Large |x|, where an exp-based tanh (or exp(-x) in the sigmoid) overflows: each
        // value on its own row, so a small one is held to its own size.
        let tails = [
            -100.0, -60.0, -30.0, -12.0, -5.0, -1e-3, 0.0, 1e-3, 5.0, 12.0, 30.0, 60.0, 100.0,
        ];
        for v in tails {
            let case = format!("activation(x={v}, {act:?})");
            on_both!(p, case, 1e-6, |b| {
                let mut t = b.tensor(&[v; 4], 1, 4).unwrap();
                b.activation(&mut t, act).unwrap();
                read(b, &t)
            });
        }
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
            // Each nonlinearity is a pipeline of its own; SiLU on every dtype, the GELUs on a
            // float and a block type (the epilogue does not depend on how w is decoded).
            let acts: &[Activation] = if matches!(dtype, DType::F32 | DType::Q4_0) {
                &ACTIVATIONS
            } else {
                &[Activation::Silu]
            };
            let add = |b: &mut Gpu| fused_add(b, &bytes, dtype, &x, &residual, [m, n, k]);
            let gated = |b: &mut Gpu, act| fused_gated(b, &bytes, dtype, &x, [m, n, k], act);
            let expected_add = fused_add(&mut p.cpu, &bytes, dtype, &x, &residual, [m, n, k]);
            for (kernels, gpu) in &mut gpus {
                let case = format!("(m={m}, n={n}, k={k}, {dtype:?}, {kernels})");
                assert_close(&format!("linear_add{case}"), &add(gpu), &expected_add, tol);
            }
            for &act in acts {
                let expected = fused_gated(&mut p.cpu, &bytes, dtype, &x, [m, n, k], act);
                for (kernels, gpu) in &mut gpus {
                    let case =
                        format!("linear_gated(m={m}, n={n}, k={k}, {dtype:?}, {act:?}, {kernels})");
                    assert_close(&case, &gated(gpu, act), &expected, tol);
                }
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
        Activation::Silu,
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
    act: Activation,
) -> Vec<f32> {
    common::project(b, w, dtype, x, shape, |b, x, w| {
        b.linear_gated(x, w, act).unwrap()
    })
}

/// `rope_qkv` against `rope` + `write_kv` on each backend, and across backends: the returned
/// q, and attention over what it cached.
#[test]
fn rope_qkv_matches_rope_and_write_kv() {
    let Some(mut p) = pair() else { return };
    let mut r = rng(13);
    for layout in [RopeLayout::HalfSplit, RopeLayout::Interleaved] {
        // (seq, start_pos, n_heads, n_kv_heads, head_dim, rotary_dim): whole heads rotating,
        // and partial rotary (3/4 of the head).
        for (seq, start_pos, n_heads, n_kv_heads, head_dim, rotary_dim) in [
            (1, 0, 1, 1, 2, 2),
            (1, 9, 4, 2, 16, 16),
            (7, 0, 9, 3, 64, 64),
            (5, 3, 2, 2, 8, 8),
            (1, 9, 4, 2, 16, 12),
            (7, 0, 9, 3, 64, 48),
            (5, 3, 2, 2, 8, 6),
        ] {
            let context = start_pos + seq + 2;
            let half = rotary_dim / 2;
            let (table, _) = encode(&rope_table(context, rotary_dim, 0.41), DType::F32);
            let (q_dim, kv_dim) = (n_heads * head_dim, n_kv_heads * head_dim);
            let qkv = random(&mut r, seq * (q_dim + 2 * kv_dim), 1.0);
            let probe = random(&mut r, q_dim, 1.0);
            let shape = AttentionShape::new(n_heads, n_kv_heads, head_dim, start_pos);
            let case = format!("rope_qkv(seq={seq}, start_pos={start_pos}, {n_heads}/{n_kv_heads} heads of {head_dim}, rotary_dim={rotary_dim}, {layout:?})");
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
