//! Shared test helpers: the GPU (lavapipe in CI), seeded random data, fixtures, comparisons.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hearth::backends::gpu::{Gpu, GpuOptions, LinearKernels};
use hearth::engine::DeviceKind;
use hearth::formats::weights::DType;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// The GPU adapter, or `None` on a developer machine without Vulkan. In CI (`CI` set) or when a
/// Vulkan loader is present, a missing adapter fails the test instead of skipping it.
pub fn gpu() -> Option<Gpu> {
    gpu_with(&GpuOptions::default())
}

/// The GPU with each family of linear kernels, labelled, so all are tested on any adapter:
/// workgroup kernels reducing in workgroup memory, the same with subgroup operations (where
/// the adapter has them: lavapipe does, so CI requires them), and row-per-invocation kernels.
pub fn gpus_per_linear_kernels() -> Vec<(String, Gpu)> {
    let configs = [
        (LinearKernels::Workgroup, true),
        (LinearKernels::Workgroup, false),
        (LinearKernels::RowPerInvocation, true),
    ];
    let mut gpus = Vec::new();
    for (linear, without_subgroups) in configs {
        let options = GpuOptions {
            linear,
            without_subgroups,
            ..Default::default()
        };
        let Some(gpu) = gpu_with(&options) else {
            continue;
        };
        let label = if gpu.uses_subgroups() {
            format!("{linear:?}+subgroups")
        } else if !without_subgroups && linear == LinearKernels::Workgroup {
            if std::env::var_os("CI").is_some() {
                panic!("the adapter has no subgroup operations; CI's lavapipe has");
            }
            eprintln!("SKIPPED: subgroup kernels (the adapter has no subgroup operations)");
            continue;
        } else {
            format!("{linear:?}")
        };
        gpus.push((label, gpu));
    }
    gpus
}

/// [`gpu`] with options.
pub fn gpu_with(options: &GpuOptions) -> Option<Gpu> {
    match pollster::block_on(Gpu::new(options)) {
        Ok(gpu) => Some(gpu),
        Err(error) => {
            let vulkan_present = [
                "/usr/lib/x86_64-linux-gnu/libvulkan.so.1",
                "/usr/lib/libvulkan.so.1",
            ]
            .iter()
            .any(|p| Path::new(p).exists());
            if std::env::var_os("CI").is_some() || vulkan_present {
                panic!("no GPU adapter ({error}); install mesa-vulkan-drivers for lavapipe");
            }
            eprintln!("SKIPPED: no Vulkan on this machine ({error})");
            None
        }
    }
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The CPU, and the GPU when an adapter is found (see [`gpu`]).
pub fn devices() -> Vec<DeviceKind> {
    let mut devices = vec![DeviceKind::Cpu];
    if gpu().is_some() {
        devices.push(DeviceKind::Gpu);
    }
    devices
}

/// A JSON file under `tests/fixtures/`.
pub fn fixture_json(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixtures().join(path)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A JSON list of token ids.
pub fn ids(value: &serde_json::Value) -> Vec<u32> {
    let items = value.as_array().unwrap();
    items.iter().map(|v| v.as_u64().unwrap() as u32).collect()
}

/// A JSON list of lists of numbers.
pub fn matrix(value: &serde_json::Value) -> Vec<Vec<f32>> {
    let rows = value.as_array().unwrap().iter().map(|row| {
        let row = row.as_array().unwrap();
        row.iter().map(|v| v.as_f64().unwrap() as f32).collect()
    });
    rows.collect()
}

/// A JSON list of strings.
pub fn strings(value: &serde_json::Value) -> Vec<String> {
    let items = value.as_array().unwrap();
    items
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// Runs the `hearth` binary.
pub fn hearth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("the hearth binary runs")
}

/// The one JSON object a successful command printed.
pub fn json_stdout(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON object")
}

pub fn rng(seed: u64) -> SmallRng {
    SmallRng::seed_from_u64(seed)
}

/// Uniform values in [-scale, scale).
pub fn random(rng: &mut SmallRng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-scale..scale)).collect()
}

/// `values` rounded to `dtype`, as little-endian checkpoint bytes, and the rounded values.
pub fn encode(values: &[f32], dtype: DType) -> (Vec<u8>, Vec<f32>) {
    match dtype {
        DType::F32 => (
            values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            values.to_vec(),
        ),
        DType::F16 => {
            let halves: Vec<half::f16> = values.iter().map(|&v| half::f16::from_f32(v)).collect();
            (
                halves.iter().flat_map(|v| v.to_le_bytes()).collect(),
                halves.iter().map(|v| v.to_f32()).collect(),
            )
        }
        DType::BF16 => {
            let halves: Vec<half::bf16> = values.iter().map(|&v| half::bf16::from_f32(v)).collect();
            (
                halves.iter().flat_map(|v| v.to_le_bytes()).collect(),
                halves.iter().map(|v| v.to_f32()).collect(),
            )
        }
        quantized => {
            let bytes = hearth::formats::quant::quantize(quantized, values);
            let rounded = hearth::formats::quant::dequantize(quantized, &bytes);
            (bytes, rounded)
        }
    }
}

/// Fails naming the case, the worst index and both values when `actual` differs from
/// `expected` by more than `tolerance` times the largest expected magnitude (at least 1).
pub fn assert_close(case: &str, actual: &[f32], expected: &[f32], tolerance: f32) {
    assert_eq!(actual.len(), expected.len(), "{case}: lengths differ");
    let scale = expected.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let (worst, error) = actual
        .iter()
        .zip(expected)
        .map(|(a, e)| (a - e).abs())
        .enumerate()
        .fold((0, 0.0f32), |best, (i, e)| {
            if e > best.1 || e.is_nan() {
                (i, e)
            } else {
                best
            }
        });
    assert!(
        error <= tolerance * scale && !error.is_nan(),
        "{case}: index {worst}: got {}, expected {} (error {error:e}, allowed {:e})",
        actual[worst],
        expected[worst],
        tolerance * scale
    );
}

/// Runs a failing command: non-zero exit, one error line naming `needle`, no panic.
pub fn assert_clean_error(args: &[&str], needle: &str) {
    let output = hearth(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{args:?} should fail");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("error: ") && !l.contains("XDG_RUNTIME_DIR"))
        .unwrap_or_else(|| panic!("{args:?}: no error line in {stderr}"));
    assert!(
        line.contains(needle),
        "{args:?}: {line:?} should mention {needle:?}"
    );
}

/// What `scripts/make_fixtures.py` records of a model: the prompt, transformers' logits at
/// every position and its greedy continuation.
pub struct Reference {
    pub prompt_ids: Vec<u32>,
    pub logits: Vec<Vec<f32>>,
    pub greedy_ids: Vec<u32>,
}

/// A `reference.json`-format file under the fixtures folder.
pub fn reference(path: &str) -> Reference {
    let json = fixture_json(path);
    Reference {
        prompt_ids: ids(&json["prompt_ids"]),
        greedy_ids: ids(&json["greedy_ids"]),
        logits: matrix(&json["logits"]),
    }
}

/// Logits at every prompt position within `tolerance` (max abs error) of the reference, the
/// greedy continuation (returned and streamed) equal to it, and equal again after a reset.
pub fn check_against_reference(
    engine: &mut hearth::Engine,
    reference: &Reference,
    case: &str,
    tolerance: f32,
) {
    use hearth::engine::{GenerateRequest, Prompt};
    let logits = pollster::block_on(engine.logits(&reference.prompt_ids, true)).unwrap();
    assert_eq!(logits.len(), reference.logits.len(), "{case}: positions");
    for (position, (row, expected)) in logits.iter().zip(&reference.logits).enumerate() {
        let error = max_abs_error(row, expected);
        assert!(
            error <= tolerance,
            "{case}: position {position}: max abs logit error {error:e}"
        );
    }

    let mut request = GenerateRequest::new(Prompt::Ids(reference.prompt_ids.clone()));
    request.max_tokens = reference.greedy_ids.len();
    request.ignore_eos = true;
    let mut streamed = Vec::new();
    let generation = pollster::block_on(engine.generate(&request, &mut |id, _| {
        streamed.push(id);
        true
    }))
    .unwrap();
    assert_eq!(generation.ids, reference.greedy_ids, "{case}: greedy ids");
    assert_eq!(streamed, reference.greedy_ids, "{case}: streamed ids");

    // Again, reusing the cached prompt: the same tokens.
    engine.reset();
    let again = pollster::block_on(engine.generate(&request, &mut |_, _| true)).unwrap();
    assert_eq!(again.ids, reference.greedy_ids, "{case}: second run");
}

/// One tokenizer case of a fixture: `ids` (with special tokens) and `ids_no_special` from
/// encoding `text`, and the decodings of `ids` keeping (`keep_key`) and skipping (`skip_key`)
/// special tokens.
pub fn check_tokenizer_case(
    tokenizer: &hearth::text::tokenizer::Tokenizer,
    case: &serde_json::Value,
    keep_key: &str,
    skip_key: &str,
    source: &str,
) {
    let text = case["text"].as_str().unwrap();
    let with_special = ids(&case["ids"]);
    assert_eq!(
        tokenizer.encode(text, true).unwrap(),
        with_special,
        "{source}: encode {text:?}"
    );
    assert_eq!(
        tokenizer.encode(text, false).unwrap(),
        ids(&case["ids_no_special"]),
        "{source}: encode {text:?} without special tokens"
    );
    assert_eq!(
        tokenizer.decode(&with_special, false).unwrap(),
        case[keep_key].as_str().unwrap(),
        "{source}: decode {text:?}"
    );
    assert_eq!(
        tokenizer.decode(&with_special, true).unwrap(),
        case[skip_key].as_str().unwrap(),
        "{source}: decode {text:?} skipping special tokens"
    );
}

/// Uploads `bytes` of `dtype` as a weight of `shape`.
pub fn weight<B: hearth::backends::ops::Backend>(
    b: &mut B,
    bytes: &[u8],
    dtype: DType,
    shape: &[usize],
) -> B::Weight {
    let view = hearth::formats::weights::TensorView {
        dtype,
        shape,
        bytes,
    };
    b.upload_weight("w", view).unwrap()
}

pub fn read<B: hearth::backends::ops::Backend>(b: &mut B, x: &B::Tensor) -> Vec<f32> {
    pollster::block_on(b.read(x)).unwrap()
}

/// y = x w^T for a weight [n, k] of `dtype` and x [m, k].
pub fn linear<B: hearth::backends::ops::Backend>(
    b: &mut B,
    w: &[u8],
    dtype: DType,
    x: &[f32],
    shape: [usize; 3],
) -> Vec<f32> {
    project(b, w, dtype, x, shape, |b, x, w| b.linear(x, w).unwrap())
}

/// The values of `op(x, w)` for a weight [n, k] of `dtype` and x [m, k]: a linear op.
pub fn project<B: hearth::backends::ops::Backend>(
    b: &mut B,
    w: &[u8],
    dtype: DType,
    x: &[f32],
    [m, n, k]: [usize; 3],
    op: impl FnOnce(&mut B, &B::Tensor, &B::Weight) -> B::Tensor,
) -> Vec<f32> {
    let w = weight(b, w, dtype, &[n, k]);
    let x = b.tensor(x, m, k).unwrap();
    let y = op(b, &x, &w);
    read(b, &y)
}

/// `ids` decoded through the streaming decoder (special tokens skipped), checking that no
/// streamed piece holds a broken UTF-8 character.
pub fn decode_streamed(tokenizer: &hearth::text::tokenizer::Tokenizer, ids: &[u32]) -> String {
    let mut stream = tokenizer.decode_stream(true);
    let mut text = String::new();
    for &id in ids {
        if let Some(piece) = stream.step(id).unwrap() {
            assert!(
                !piece.contains('\u{fffd}'),
                "{piece:?} has a broken character"
            );
            text.push_str(&piece);
        }
    }
    text
}

/// The largest absolute difference between two equally long slices.
pub fn max_abs_error(actual: &[f32], expected: &[f32]) -> f32 {
    actual
        .iter()
        .zip(expected)
        .map(|(a, e)| (a - e).abs())
        .fold(0.0f32, f32::max)
}
