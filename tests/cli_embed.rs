//! `hearth embed`, and `info`/`bench` on an embedding model, as outside checks use them.

mod common;

use common::{hearth, json_stdout};
use serde_json::Value;

fn bert() -> String {
    common::fixtures()
        .join("models/bert-tiny")
        .display()
        .to_string()
}

/// `--device` values of the devices this machine has.
fn devices() -> Vec<&'static str> {
    let name = |device| match device {
        hearth::engine::DeviceKind::Cpu => "cpu",
        hearth::engine::DeviceKind::Gpu => "gpu",
    };
    common::devices().into_iter().map(name).collect()
}

#[test]
fn embed_prints_embeddings_in_the_order_of_the_texts() {
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(common::fixtures().join("models/bert-tiny/reference.json"))
            .unwrap(),
    )
    .unwrap();
    // Texts 4 (long, truncated), 0 and 7 (one token): different lengths, out of order.
    let picks = [4usize, 0, 7];
    let texts: Vec<&str> = picks
        .iter()
        .map(|&i| reference["texts"][i].as_str().unwrap())
        .collect();
    let model = bert();
    for device in devices() {
        let mut args = vec!["embed", "--model", &model, "--device", device, "--json"];
        for text in &texts {
            args.extend(["--text", text]);
        }
        let out = json_stdout(&hearth(&args));
        let rows = out["embeddings"].as_array().unwrap();
        assert_eq!(rows.len(), picks.len());
        for (row, &i) in rows.iter().zip(&picks) {
            let expected = reference["embeddings"][i].as_array().unwrap();
            let row = row.as_array().unwrap();
            assert_eq!(row.len(), expected.len());
            for (a, e) in row.iter().zip(expected) {
                let (a, e) = (a.as_f64().unwrap(), e.as_f64().unwrap());
                assert!((a - e).abs() < 1e-4, "{device}: text {i}: {a} vs {e}");
            }
        }
        // Without --json: one JSON array per line.
        let plain = hearth(&[
            "embed", "--model", &model, "--device", device, "--text", "a", "--text", "b",
        ]);
        assert!(plain.status.success());
        let lines: Vec<Value> = String::from_utf8_lossy(&plain.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].as_array().unwrap().len(), 48);
    }
}

#[test]
fn info_and_bench_recognize_an_embedding_model() {
    let model = bert();
    let info = json_stdout(&hearth(&[
        "info", "--model", &model, "--device", "cpu", "--json",
    ]));
    assert_eq!(info["architecture"], "BertModel");
    assert_eq!(info["dimensions"], 48);
    assert_eq!(info["pooling"][0], "mean");
    assert_eq!(info["normalize"], true);
    let bench = json_stdout(&hearth(&[
        "bench", "--model", &model, "--device", "cpu", "--runs", "2",
    ]));
    assert_eq!(bench["texts"], 32);
    // The fixture's max_seq_length (32) caps the 128 tokens.
    assert_eq!(bench["tokens_per_text"], 32);
    for key in ["min", "median", "max"] {
        assert!(bench["texts_per_s"][key].as_f64().unwrap() > 0.0, "{key}");
    }
}

#[test]
fn embed_errors_are_one_line() {
    let llama = common::fixtures()
        .join("models/llama-f32")
        .display()
        .to_string();
    let missing = common::fixtures()
        .join("models/no-such-model")
        .display()
        .to_string();
    for (model, needle) in [
        (llama.as_str(), "LlamaForCausalLM"),
        (missing.as_str(), "no-such-model"),
    ] {
        let out = hearth(&["embed", "--model", model, "--text", "hi", "--device", "cpu"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(!stderr.contains("panicked"), "{stderr}");
        let line = stderr.lines().find(|l| l.starts_with("error: ")).unwrap();
        assert!(line.contains(needle), "{line}");
    }
    // --text is required.
    let out = hearth(&["embed", "--model", &bert()]);
    assert!(!out.status.success());
}
