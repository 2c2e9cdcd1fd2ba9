//! GGUF models against transformers: the fixture models converted as llama.cpp's converter does
//! (q/k rows permuted, llama3 scaling as `rope_freqs`, tokenizer in the metadata), two models
//! whose tensors cover every quantized type, and quantize-on-load, on the GPU and on the CPU.
//! Then malformed files: each must be an error naming the problem.

mod common;

use hearth::engine::{DeviceKind, Engine, LoadOptions, Prompt};
use hearth::formats::gguf::Gguf;
use hearth::formats::weights::{DType, Folder, MemoryFiles};

/// Files converted from `tests/fixtures/models/<name>`, checked against that model's reference.
const CONVERTED: [&str; 8] = [
    "llama-f32",
    "llama-f16",
    "llama-bf16",
    "llama-untied-mqa-f32",
    "llama3-scaled-f32",
    "mistral-f32",
    "qwen2-f32",
    "qwen3-f32",
];

/// Max abs logit error (logits have a std of ~4). Quantized weights get the same bound: the
/// references were computed from the exact dequantized weights and hearth dequantizes exactly
/// (the CPU bit for bit, the GPU within an ulp), without quantizing activations, so the only
/// difference left is f32 summation order, as for float checkpoints.
const TOLERANCE: f32 = 1e-3;

fn gguf_path(name: &str) -> std::path::PathBuf {
    common::fixtures().join("gguf").join(format!("{name}.gguf"))
}

fn load(path: &std::path::Path, device: DeviceKind, quantize: Option<DType>) -> Engine {
    let files = Folder::open(path).unwrap();
    let options = LoadOptions {
        device,
        quantize,
        ..Default::default()
    };
    pollster::block_on(Engine::load(&files, &options))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn check_converted(device: DeviceKind) {
    for name in CONVERTED {
        let mut engine = load(&gguf_path(name), device, None);
        assert_eq!(engine.info().format, "gguf");
        let reference = common::reference(&format!("models/{name}/reference.json"));
        let case = format!("{name}.gguf on {device:?}");
        common::check_against_reference(&mut engine, &reference, &case, TOLERANCE);
    }
}

fn check_quantized(device: DeviceKind) {
    for name in ["quant-legacy", "quant-k"] {
        let mut engine = load(&gguf_path(name), device, None);
        let reference = common::reference(&format!("gguf/{name}.json"));
        let case = format!("{name}.gguf on {device:?}");
        common::check_against_reference(&mut engine, &reference, &case, TOLERANCE);
    }
}

fn check_quantize_on_load(device: DeviceKind) {
    let folder = common::fixtures().join("models/llama-f32");
    for dtype in [DType::Q8_0, DType::Q4_0] {
        let mut engine = load(&folder, device, Some(dtype));
        assert_eq!(engine.info().dtypes, ["f32", dtype.name()]);
        let reference = common::reference(&format!("gguf/llama-f32.{}.json", dtype.name()));
        let case = format!("llama-f32 quantized to {dtype:?} on {device:?}");
        common::check_against_reference(&mut engine, &reference, &case, TOLERANCE);
    }
}

#[test]
fn converted_models_match_transformers_on_the_cpu() {
    check_converted(DeviceKind::Cpu);
}

#[test]
fn converted_models_match_transformers_on_the_gpu() {
    if common::gpu().is_none() {
        return;
    }
    check_converted(DeviceKind::Gpu);
}

#[test]
fn quantized_models_match_transformers_on_the_dequantized_weights() {
    check_quantized(DeviceKind::Cpu);
    if common::gpu().is_some() {
        check_quantized(DeviceKind::Gpu);
    }
}

#[test]
fn quantize_on_load_matches_gguf_py_quantized_weights() {
    check_quantize_on_load(DeviceKind::Cpu);
    if common::gpu().is_some() {
        check_quantize_on_load(DeviceKind::Gpu);
    }
}

#[test]
fn quantized_weights_stay_quantized_in_gpu_memory() {
    let Some(_) = common::gpu() else { return };
    for name in ["quant-legacy", "quant-k", "llama-f16"] {
        let path = gguf_path(name);
        let engine = load(&path, DeviceKind::Gpu, None);
        let file_bytes = std::fs::metadata(&path).unwrap().len();
        let weights = engine.info().weights_bytes;
        // The file is the weights plus metadata (the tokenizer) and alignment padding; the GPU
        // adds the RoPE table (context x head_dim floats).
        let rope_table = (engine.info().context * 64 * 4) as u64;
        assert!(
            weights <= file_bytes + rope_table && weights * 10 >= file_bytes * 8,
            "{name}: {weights} bytes of weights on the GPU for a {file_bytes}-byte file"
        );
    }
}

#[test]
fn tokenizer_and_chat_template_come_from_the_metadata() {
    let engine = load(&gguf_path("llama-f32"), DeviceKind::Cpu, None);
    let cases = common::fixture_json("tokenizer/cases.json");
    for case in cases.as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let ids = engine.tokenizer().encode(text, true).unwrap();
        assert_eq!(ids, common::ids(&case["ids"]), "{text:?}");
    }
    let messages = vec![hearth::text::chat::ChatMessage::new("user", "Hi")];
    let prompt = engine.render_chat(&messages).unwrap();
    assert!(prompt.ends_with("<|im_start|>assistant\n"), "{prompt}");
    assert!(engine.prompt_ids(&Prompt::Chat(messages)).is_ok());
    assert!(engine.eos_ids().contains(&4));
}

/// A GGUF v3 file built by hand: `kvs` are (key, type, value bytes), tensors (name, ne, type,
/// offset) with `data` after the header, aligned to 32.
fn gguf_bytes(
    kvs: &[(&str, u32, Vec<u8>)],
    tensors: &[(&str, &[u64], u32, u64)],
    data: &[u8],
) -> Vec<u8> {
    let string = |s: &str| {
        let mut b = (s.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(s.as_bytes());
        b
    };
    let mut out = b"GGUF".to_vec();
    out.extend(3u32.to_le_bytes());
    out.extend((tensors.len() as u64).to_le_bytes());
    out.extend((kvs.len() as u64).to_le_bytes());
    for (key, kind, value) in kvs {
        out.extend(string(key));
        out.extend(kind.to_le_bytes());
        out.extend(value);
    }
    for (name, ne, kind, offset) in tensors {
        out.extend(string(name));
        out.extend((ne.len() as u32).to_le_bytes());
        for d in *ne {
            out.extend(d.to_le_bytes());
        }
        out.extend(kind.to_le_bytes());
        out.extend(offset.to_le_bytes());
    }
    out.resize(out.len().next_multiple_of(32), 0);
    out.extend_from_slice(data);
    out
}

fn open(bytes: Vec<u8>) -> hearth::Result<Gguf> {
    let mut files = MemoryFiles::new();
    files.insert("m.gguf", bytes);
    Gguf::open(&files, "m.gguf")
}

fn expect_error(bytes: Vec<u8>, needle: &str) {
    match open(bytes) {
        Ok(_) => panic!("expected an error mentioning {needle:?}"),
        Err(e) => {
            assert_eq!(e.name(), "ModelFormatError", "{e}");
            assert!(e.to_string().contains(needle), "{e} (expected {needle:?})");
        }
    }
}

const U32: u32 = 4;
const STRING: u32 = 8;
const ARRAY: u32 = 9;

#[test]
fn reads_metadata_of_every_kind_and_tensor_infos() {
    let arch = {
        let mut v = 5u64.to_le_bytes().to_vec();
        v.extend(b"llama");
        v
    };
    let array = {
        let mut v = U32.to_le_bytes().to_vec();
        v.extend(2u64.to_le_bytes());
        v.extend(7u32.to_le_bytes());
        v.extend(9u32.to_le_bytes());
        v
    };
    let data: Vec<u8> = (0..8u32).flat_map(|i| (i as f32).to_le_bytes()).collect();
    let bytes = gguf_bytes(
        &[
            ("general.architecture", STRING, arch),
            ("a.list", ARRAY, array),
            ("a.f64", 12, 2.5f64.to_le_bytes().to_vec()),
            ("a.bool", 7, vec![1]),
            ("a.i8", 1, vec![0xff]),
        ],
        &[("t", &[4, 2], 0, 0)],
        &data,
    );
    let gguf = open(bytes).unwrap();
    assert_eq!(gguf.version(), 3);
    assert_eq!(gguf.architecture().unwrap(), "llama");
    let list = gguf.meta("a.list").unwrap().as_array().unwrap();
    assert_eq!(
        list.iter().map(|v| v.as_u64().unwrap()).collect::<Vec<_>>(),
        [7, 9]
    );
    assert_eq!(gguf.meta("a.f64").unwrap().as_f32(), Some(2.5));
    assert_eq!(gguf.meta("a.bool").unwrap().as_bool(), Some(true));
    assert_eq!(gguf.meta("a.i8").unwrap().as_u64(), None);
    let tensor = &gguf.tensors()[0];
    assert_eq!(tensor.shape, [2, 4]);
    assert_eq!(tensor.dtype, DType::F32);
    assert_eq!(tensor.len, 32);
}

#[test]
fn malformed_files_are_errors_that_name_the_problem() {
    let tensor_data = vec![0u8; 32];
    let good = gguf_bytes(&[], &[("t", &[8], 0, 0)], &tensor_data);
    assert!(open(good.clone()).is_ok());

    expect_error(b"GGML\x03\0\0\0".to_vec(), "bad magic");
    expect_error(good[..6].to_vec(), "truncated");
    let mut v1 = good.clone();
    v1[4] = 1;
    expect_error(v1, "version 1");
    let mut big_endian = good.clone();
    big_endian[4..8].copy_from_slice(&3u32.to_be_bytes());
    expect_error(big_endian, "big-endian");
    // Data cut short: the tensor runs past the end.
    expect_error(good[..good.len() - 4].to_vec(), "truncated");
    // Counts and lengths that lie are caught before allocating.
    let mut many_tensors = good.clone();
    many_tensors[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    expect_error(many_tensors, "tensor count");
    let huge_string = {
        let mut v = u64::MAX.to_le_bytes().to_vec();
        v.extend(b"x");
        v
    };
    expect_error(
        gguf_bytes(&[("k", STRING, huge_string)], &[], &[]),
        "does not fit",
    );
    let huge_array = {
        let mut v = U32.to_le_bytes().to_vec();
        v.extend((1u64 << 40).to_le_bytes());
        v
    };
    expect_error(
        gguf_bytes(&[("k", ARRAY, huge_array)], &[], &[]),
        "array length",
    );
    expect_error(
        gguf_bytes(&[("k", 99, vec![])], &[], &[]),
        "unknown value type 99",
    );
    expect_error(
        gguf_bytes(&[], &[("t", &[8], 0, 32)], &tensor_data),
        "truncated",
    );
    expect_error(
        gguf_bytes(&[], &[("t", &[8], 0, 3)], &tensor_data),
        "aligned",
    );
    expect_error(
        gguf_bytes(&[], &[("t", &[30], 8, 0)], &tensor_data),
        "blocks",
    );
    expect_error(
        gguf_bytes(&[], &[("t", &[1, 1, 1, 1, 1], 0, 0)], &tensor_data),
        "dimensions",
    );
    expect_error(
        gguf_bytes(&[], &[("t", &[8], 0, 0), ("t", &[8], 0, 0)], &tensor_data),
        "twice",
    );
}

#[test]
fn unsupported_models_and_types_are_named() {
    let engine_error = |bytes: Vec<u8>| {
        let mut files = MemoryFiles::new();
        files.insert("m.gguf", bytes);
        let options = LoadOptions {
            device: DeviceKind::Cpu,
            ..Default::default()
        };
        match pollster::block_on(Engine::load(&files, &options)) {
            Ok(_) => panic!("loaded"),
            Err(e) => e,
        }
    };
    let string = |s: &str| {
        let mut v = (s.len() as u64).to_le_bytes().to_vec();
        v.extend(s.as_bytes());
        v
    };
    let error = engine_error(gguf_bytes(
        &[("general.architecture", STRING, string("rwkv6"))],
        &[],
        &[],
    ));
    assert_eq!(error.name(), "UnsupportedModelError", "{error}");
    assert!(error.to_string().contains("rwkv6"), "{error}");

    // A real model whose embedding is stored in a type hearth does not decode (IQ2_XXS).
    let original = std::fs::read(gguf_path("llama-f32")).unwrap();
    let gguf = {
        let mut files = MemoryFiles::new();
        files.insert("m.gguf", original.clone());
        Gguf::open(&files, "m.gguf").unwrap()
    };
    assert!(gguf.tensors().iter().any(|t| t.name == "token_embd.weight"));
    let mut patched = original;
    let name = b"token_embd.weight";
    let at = patched
        .windows(name.len())
        .position(|w| w == name)
        .expect("tensor name in header");
    // After the name: n_dims (u32), 2 dims (u64 each), then the type.
    let type_at = at + name.len() + 4 + 16;
    patched[type_at..type_at + 4].copy_from_slice(&16u32.to_le_bytes());
    let error = engine_error(patched);
    assert!(error.to_string().contains("IQ2_XXS"), "{error}");
    assert_eq!(error.name(), "UnsupportedModelError", "{error}");
}
