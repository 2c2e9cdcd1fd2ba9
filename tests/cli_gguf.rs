//! The command line on GGUF files and with `--quantize`: the same JSON outputs as for a model
//! folder, memory reported for the quantized weights, and one-line errors for bad input.

mod common;

use common::{hearth, json_stdout};

fn gguf(name: &str) -> String {
    let path = common::fixtures().join("gguf").join(format!("{name}.gguf"));
    path.display().to_string()
}

fn ids(name: &str) -> String {
    let reference = common::reference(name);
    let ids: Vec<String> = reference.prompt_ids.iter().map(u32::to_string).collect();
    ids.join(",")
}

#[test]
fn generate_on_a_gguf_file_gives_the_reference_greedy_ids() {
    let reference = common::reference("gguf/quant-k.json");
    for device in ["gpu", "cpu"] {
        let json = json_stdout(&hearth(&[
            "generate",
            "--model",
            &gguf("quant-k"),
            "--ids",
            &ids("gguf/quant-k.json"),
            "--max-tokens",
            "16",
            "--ignore-eos",
            "--json",
            "--device",
            device,
        ]));
        let generated: Vec<u32> = common::ids(&json["ids"]);
        assert_eq!(generated, reference.greedy_ids, "{device}");
    }
}

#[test]
fn info_reports_the_format_types_and_quantized_memory() {
    let json = json_stdout(&hearth(&[
        "info",
        "--model",
        &gguf("quant-legacy"),
        "--json",
    ]));
    assert_eq!(json["format"], "gguf");
    assert_eq!(json["architecture"], "LlamaForCausalLM");
    let dtypes = common::strings(&json["dtypes"]);
    for dtype in ["f32", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "iq4_nl"] {
        assert!(
            dtypes.iter().any(|d| d == dtype),
            "{dtype} missing in {dtypes:?}"
        );
    }
    let file = std::fs::metadata(gguf("quant-legacy")).unwrap().len();
    let weights = json["weights_bytes"].as_u64().unwrap();
    assert!(
        weights < file + file / 5,
        "{weights} bytes for a {file}-byte file"
    );
    assert!(json["kv_cache_bytes"].as_u64().unwrap() > 0);

    // Quantize-on-load shrinks a float model about 4x (q8_0) and 7x (q4_0), norms aside.
    let folder = common::fixtures().join("models/llama-f32");
    let folder = folder.display().to_string();
    let bytes = |extra: &[&str]| {
        let mut args = vec!["info", "--model", folder.as_str(), "--json"];
        args.extend(extra);
        let json = json_stdout(&hearth(&args));
        json["weights_bytes"].as_u64().unwrap()
    };
    let f32_bytes = bytes(&[]);
    let q8_bytes = bytes(&["--quantize", "q8_0"]);
    let q4_bytes = bytes(&["--quantize", "q4_0"]);
    assert!(
        q8_bytes * 3 < f32_bytes,
        "q8_0 {q8_bytes} vs f32 {f32_bytes}"
    );
    assert!(
        q4_bytes * 5 < f32_bytes,
        "q4_0 {q4_bytes} vs f32 {f32_bytes}"
    );
}

#[test]
fn bad_gguf_input_gives_one_clear_error_line() {
    let dir = std::env::temp_dir().join(format!("hearth-cli-gguf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = std::fs::read(gguf("llama-f32")).unwrap();
    let truncated = dir.join("truncated.gguf");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let garbage = dir.join("garbage.gguf");
    std::fs::write(&garbage, b"not a model at all").unwrap();
    let cases = [
        (truncated.display().to_string(), "truncated"),
        (garbage.display().to_string(), "bad magic"),
    ];
    for (path, needle) in &cases {
        common::assert_clean_error(&["info", "--model", path], needle);
    }
    // A folder with two GGUF files: which one is ambiguous.
    std::fs::write(dir.join("other.gguf"), &bytes).unwrap();
    common::assert_clean_error(&["info", "--model", &dir.display().to_string()], "several");
    let folder = common::fixtures().join("models/llama-f32");
    common::assert_clean_error(
        &[
            "info",
            "--model",
            &folder.display().to_string(),
            "--quantize",
            "q3_k",
        ],
        "q3_k",
    );
    let _ = std::fs::remove_dir_all(&dir);
}
