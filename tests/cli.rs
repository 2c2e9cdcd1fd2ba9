//! The `hearth` command line as outside checks use it: JSON outputs and one-line errors.

mod common;

use std::path::{Path, PathBuf};

use common::{assert_clean_error, hearth, json_stdout};
use serde_json::Value;

fn model(name: &str) -> String {
    common::fixtures()
        .join("models")
        .join(name)
        .display()
        .to_string()
}

fn reference(name: &str) -> Value {
    common::fixture_json(&format!("models/{name}/reference.json"))
}

fn id_list(value: &Value) -> String {
    let ids: Vec<String> = value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    ids.join(",")
}

/// A scratch copy of a fixture folder that a test may break.
fn scratch(name: &str, tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hearth-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(common::fixtures().join("models").join(name)).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    dir
}

#[test]
fn generate_json_gives_the_reference_greedy_ids_on_both_devices() {
    let reference = reference("qwen3-f32");
    let ids = id_list(&reference["prompt_ids"]);
    for device in ["gpu", "cpu"] {
        let output = hearth(&[
            "generate",
            "--model",
            &model("qwen3-f32"),
            "--ids",
            &ids,
            "--max-tokens",
            "16",
            "--temperature",
            "0",
            "--ignore-eos",
            "--json",
            "--device",
            device,
        ]);
        let json = json_stdout(&output);
        assert_eq!(json["ids"], reference["greedy_ids"], "{device}");
        assert_eq!(
            json["prompt_tokens"],
            reference["prompt_ids"].as_array().unwrap().len()
        );
        assert!(json["text"].is_string());
    }
}

#[test]
fn generate_streams_text_and_accepts_chat_prompts() {
    let output = hearth(&[
        "generate",
        "--model",
        &model("llama-f32"),
        "--prompt",
        "Hello there",
        "--chat",
        "--max-tokens",
        "5",
        "--temperature",
        "0.7",
        "--top-k",
        "20",
        "--top-p",
        "0.9",
        "--seed",
        "1",
        "--device",
        "cpu",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!output.stdout.is_empty());
}

#[test]
fn logits_match_the_reference() {
    let reference = reference("mistral-f32");
    let ids = id_list(&reference["prompt_ids"]);
    let last = reference["logits"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    let json = json_stdout(&hearth(&[
        "logits",
        "--model",
        &model("mistral-f32"),
        "--ids",
        &ids,
    ]));
    let got = json["logits"].as_array().unwrap();
    assert_eq!(got.len(), last.as_array().unwrap().len());
    for (a, b) in got.iter().zip(last.as_array().unwrap()) {
        assert!((a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-3);
    }
    let all = json_stdout(&hearth(&[
        "logits",
        "--model",
        &model("mistral-f32"),
        "--ids",
        "3,5,7",
        "--all",
        "--device",
        "cpu",
    ]));
    assert_eq!(all["logits"].as_array().unwrap().len(), 3);
}

#[test]
fn info_and_bench_report_the_model() {
    let output = hearth(&["info", "--model", &model("qwen2-f32")]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    for needle in [
        "Qwen2ForCausalLM",
        "parameters:   131648",
        "f32",
        "weights:",
        "kv cache:",
        "webgpu on",
    ] {
        assert!(text.contains(needle), "info lacks {needle:?}:\n{text}");
    }
    let json = json_stdout(&hearth(&[
        "bench",
        "--model",
        &model("llama-f16"),
        "--prompt-tokens",
        "8",
        "--gen-tokens",
        "4",
        "--runs",
        "1",
        "--peak-bandwidth",
        "100",
    ]));
    for key in [
        "load_s",
        "prefill_tokens_per_s",
        "decode_tokens_per_s",
        "time_to_first_token_s",
        "decode_weight_bytes",
    ] {
        assert!(json.get(key).is_some(), "bench lacks {key}: {json}");
    }
    let median = |key: &str| json[key]["median"].as_f64().unwrap();
    let tokens_per_s = median("decode_tokens_per_s");
    assert!(tokens_per_s > 0.0);
    // What a step reads: the weights plus the keys and values of 8 + 4 / 2 positions on
    // average (an f32 cache of 2 layers with kv_dim 32: 2 * 2 * 32 * 4 = 512 bytes a position).
    let weights = json["decode_weight_bytes"].as_f64().unwrap();
    let bytes = json["decode_bytes_per_token"].as_f64().unwrap();
    assert_eq!(bytes, weights + 10.0 * 512.0, "{json}");
    let gb_per_s = median("decode_gb_per_s");
    assert!((gb_per_s - tokens_per_s * bytes / 1e9).abs() <= 1e-9 * gb_per_s.max(1.0));
    assert!((median("roofline_fraction") - gb_per_s / 100.0).abs() <= 1e-12);
}

#[test]
fn bad_input_gives_one_clear_error_line() {
    let ids = ["--ids", "1,2,3"];
    let logits = |dir: &Path| -> Vec<String> {
        [
            "logits",
            "--model",
            &dir.display().to_string(),
            ids[0],
            ids[1],
            "--device",
            "cpu",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let run = |dir: &Path, needle: &str| {
        let args = logits(dir);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_clean_error(&args, needle);
    };

    run(Path::new("/nonexistent/model"), "/nonexistent/model");

    let dir = scratch("llama-f32", "missing");
    std::fs::remove_file(dir.join("config.json")).unwrap();
    run(&dir, "config.json");

    let dir = scratch("llama-f32", "json");
    std::fs::write(dir.join("config.json"), "{\"architectures\": [").unwrap();
    run(&dir, "config.json: malformed JSON");

    let dir = scratch("llama-f32", "arch");
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
    std::fs::write(
        dir.join("config.json"),
        config.replace("LlamaForCausalLM", "FalconForCausalLM"),
    )
    .unwrap();
    run(&dir, "unsupported architecture `FalconForCausalLM`");

    let dir = scratch("llama-f32", "truncated");
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    std::fs::write(dir.join("model.safetensors"), &bytes[..bytes.len() / 2]).unwrap();
    run(&dir, "model.safetensors: malformed safetensors");

    let dir = scratch("llama-f32", "dtype");
    let header =
        r#"{"model.embed_tokens.weight": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}"#;
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(header.as_bytes());
    file.extend_from_slice(&[0; 8]);
    std::fs::write(dir.join("model.safetensors"), file).unwrap();
    run(&dir, "unsupported dtype `I64`");

    let dir = scratch("llama-f32", "tensor");
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let patched = String::from_utf8_lossy(&bytes).contains("model.norm.weight");
    assert!(patched);
    let renamed: Vec<u8> = replace_bytes(&bytes, b"model.norm.weight", b"model.norm.weigh_");
    std::fs::write(dir.join("model.safetensors"), renamed).unwrap();
    run(&dir, "missing tensor `model.norm.weight`");

    let long: Vec<String> = (0..40).map(|i| (i % 300).to_string()).collect();
    assert_clean_error(
        &[
            "generate",
            "--model",
            &model("llama-f32"),
            "--ids",
            &long.join(","),
            "--context",
            "32",
            "--device",
            "cpu",
        ],
        "past the context window of 32",
    );
    assert_clean_error(
        &[
            "generate",
            "--model",
            &model("llama-f32"),
            "--ids",
            "1,2,99999",
            "--device",
            "cpu",
        ],
        "99999",
    );
}

fn replace_bytes(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = haystack
        .windows(from.len())
        .position(|w| w == from)
        .unwrap();
    let mut out = haystack.to_vec();
    out[at..at + from.len()].copy_from_slice(to);
    out
}
