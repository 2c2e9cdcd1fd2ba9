//! Sentence embeddings of the tiny random BERT fixture against transformers +
//! sentence-transformers, on the GPU and on the CPU: token ids, mean/CLS/max pooling,
//! normalization, truncation to `max_seq_length`, a plain folder without the
//! sentence-transformers files, and batches whose padding must not change any embedding.

mod common;

use hearth::embedder::Embedder;
use hearth::engine::DeviceKind;
use hearth::formats::weights::{Folder, MemoryFiles, ModelFiles};
use serde_json::Value;

/// Max abs error allowed per embedding value (the vectors are unit length, 48 values).
const TOLERANCE: f32 = 1e-4;

const FILES: [&str; 8] = [
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "modules.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
    "reference.json",
];

fn fixture() -> std::path::PathBuf {
    common::fixtures().join("models/bert-tiny")
}

fn reference() -> Value {
    common::fixture_json("models/bert-tiny/reference.json")
}

fn texts(reference: &Value) -> Vec<String> {
    common::strings(&reference["texts"])
}

/// File name and new content; `None` removes the file.
type Edit<'a> = (&'a str, Option<&'a str>);

/// The fixture's files in memory, with `edit` applied.
fn files_with(edit: &[Edit<'_>]) -> MemoryFiles {
    let mut files = MemoryFiles::new();
    for name in FILES {
        match edit.iter().find(|(n, _)| *n == name) {
            Some((_, Some(text))) => files.insert(name, text.as_bytes().to_vec()),
            Some((_, None)) => {}
            None => files.insert(name, std::fs::read(fixture().join(name)).unwrap()),
        }
    }
    files
}

fn load(files: &dyn ModelFiles, device: DeviceKind) -> Embedder {
    pollster::block_on(Embedder::load(files, device)).unwrap()
}

/// Max abs error over all texts; fails naming the text.
fn check(case: &str, actual: &[Vec<f32>], expected: &[Vec<f32>], texts: &[String]) -> f32 {
    assert_eq!(actual.len(), expected.len(), "{case}: number of embeddings");
    let mut worst = 0.0f32;
    for ((a, e), text) in actual.iter().zip(expected).zip(texts) {
        assert_eq!(a.len(), e.len(), "{case}: dimensions of {text:?}");
        let error = common::max_abs_error(a, e);
        assert!(
            error <= TOLERANCE,
            "{case}: text {text:?}: max abs error {error:e} > {TOLERANCE:e}"
        );
        worst = worst.max(error);
    }
    worst
}

#[test]
fn tokenizes_and_truncates_like_transformers() {
    let reference = reference();
    let folder = Folder::new(fixture()).unwrap();
    let embedder = load(&folder, DeviceKind::Cpu);
    assert_eq!(embedder.info().max_seq_length, 32);
    for (text, ids) in texts(&reference)
        .iter()
        .zip(reference["ids"].as_array().unwrap())
    {
        assert_eq!(
            embedder.tokenize(text).unwrap(),
            common::ids(ids),
            "{text:?}"
        );
    }
}

#[test]
fn embeddings_match_sentence_transformers_on_every_device() {
    let reference = reference();
    let texts = texts(&reference);
    let expected = common::matrix(&reference["embeddings"]);
    let folder = Folder::new(fixture()).unwrap();
    for device in common::devices() {
        let mut embedder = load(&folder, device);
        let info = embedder.info().clone();
        assert_eq!(info.pooling, ["mean"]);
        assert!(info.normalize);
        assert_eq!(info.dimensions, 48);
        let batch = pollster::block_on(embedder.embed(&texts)).unwrap();
        let error = check(&format!("batch on {device:?}"), &batch, &expected, &texts);
        eprintln!("bert-tiny on {device:?}: max abs error {error:e}");
        // One text at a time (no padding at all) gives the same vectors.
        for (i, text) in texts.iter().enumerate() {
            let single = pollster::block_on(embedder.embed(std::slice::from_ref(text))).unwrap();
            check(
                &format!("alone on {device:?}"),
                &single,
                &expected[i..=i],
                &texts[i..=i],
            );
        }
        // Reordered, duplicated and in small batches: still the same vectors.
        let reversed: Vec<String> = texts.iter().rev().cloned().collect();
        let out = pollster::block_on(embedder.embed(&reversed)).unwrap();
        let expected_reversed: Vec<Vec<f32>> = expected.iter().rev().cloned().collect();
        check(
            &format!("reversed on {device:?}"),
            &out,
            &expected_reversed,
            &reversed,
        );
        assert!(pollster::block_on(embedder.embed(&[])).unwrap().is_empty());
    }
}

#[test]
fn pooling_modes_and_plain_folders() {
    let reference = reference();
    let texts = texts(&reference);
    let variants = &reference["variants"];
    let pooling = |mode: &str| {
        format!(
            r#"{{"word_embedding_dimension": 48, "pooling_mode_cls_token": {}, "pooling_mode_mean_tokens": false, "pooling_mode_max_tokens": {}}}"#,
            mode == "cls",
            mode == "max"
        )
    };
    let without_normalize = r#"[
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}
    ]"#;
    let cls = pooling("cls");
    let max = pooling("max");
    let cases: Vec<(&str, Vec<Edit<'_>>)> = vec![
        (
            "cls",
            vec![
                ("1_Pooling/config.json", Some(&cls)),
                ("modules.json", Some(without_normalize)),
            ],
        ),
        ("max", vec![("1_Pooling/config.json", Some(&max))]),
        (
            "plain",
            vec![
                ("modules.json", None),
                ("sentence_bert_config.json", None),
                ("1_Pooling/config.json", None),
            ],
        ),
    ];
    for device in common::devices() {
        for (name, edit) in &cases {
            let files = files_with(edit);
            let mut embedder = load(&files, device);
            let out = pollster::block_on(embedder.embed(&texts)).unwrap();
            let expected = common::matrix(&variants[*name]);
            let error = check(&format!("{name} on {device:?}"), &out, &expected, &texts);
            eprintln!("bert-tiny {name} on {device:?}: max abs error {error:e}");
        }
    }
}

#[test]
fn bad_inputs_are_errors() {
    let load_err = |edit: &[Edit<'_>]| {
        let files = files_with(edit);
        match pollster::block_on(Embedder::load(&files, DeviceKind::Cpu)) {
            Ok(_) => panic!("loading with {edit:?} succeeded"),
            Err(e) => e.to_string(),
        }
    };
    let dense = r#"[{"type": "sentence_transformers.models.Transformer", "path": ""},
        {"type": "sentence_transformers.models.Pooling", "path": "1_Pooling"},
        {"type": "sentence_transformers.models.Dense", "path": "2_Dense"}]"#;
    assert!(load_err(&[("modules.json", Some(dense))]).contains("Dense"));
    assert!(load_err(&[("modules.json", Some("{"))]).contains("modules.json"));
    let llama = r#"{"architectures": ["LlamaForCausalLM"], "model_type": "llama"}"#;
    assert!(load_err(&[("config.json", Some(llama))]).contains("LlamaForCausalLM"));
    assert!(load_err(&[("model.safetensors", Some("xx"))]).contains("safetensors"));
    assert!(load_err(&[("tokenizer.json", None)]).contains("tokenizer.json"));

    let folder = Folder::new(fixture()).unwrap();
    let mut embedder = load(&folder, DeviceKind::Cpu);
    // Out-of-vocabulary ids and over-long inputs are errors, not panics.
    assert!(pollster::block_on(embedder.embed_ids(&[vec![2, 100_000, 3]])).is_err());
    assert!(pollster::block_on(embedder.embed_ids(&[vec![2; 33]])).is_err());
    assert!(pollster::block_on(embedder.embed_ids(&[vec![]])).is_err());
}

/// The fixture's checkpoint with every tensor renamed `bert.{name}`, as `BertFor*` heads save it.
fn prefixed_checkpoint() -> Vec<u8> {
    let bytes = std::fs::read(fixture().join("model.safetensors")).unwrap();
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, Value> =
        serde_json::from_slice(&bytes[8..8 + len]).unwrap();
    let renamed: serde_json::Map<String, Value> = header
        .into_iter()
        .map(|(k, v)| {
            let k = if k == "__metadata__" {
                k
            } else {
                format!("bert.{k}")
            };
            (k, v)
        })
        .collect();
    let header = serde_json::to_vec(&renamed).unwrap();
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    out.extend_from_slice(&bytes[8 + len..]);
    out
}

#[test]
fn loads_bert_for_masked_lm_checkpoints() {
    let reference = reference();
    let texts = texts(&reference);
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture().join("config.json")).unwrap())
            .unwrap();
    let mut config = config.as_object().unwrap().clone();
    config.insert(
        "architectures".into(),
        serde_json::json!(["BertForMaskedLM"]),
    );
    let config = serde_json::to_string(&config).unwrap();
    let mut files = files_with(&[("config.json", Some(&config))]);
    files.insert("model.safetensors", prefixed_checkpoint());
    let mut embedder = load(&files, DeviceKind::Cpu);
    assert_eq!(embedder.info().architecture, "BertForMaskedLM");
    let out = pollster::block_on(embedder.embed(&texts)).unwrap();
    check(
        "bert. prefix",
        &out,
        &common::matrix(&reference["embeddings"]),
        &texts,
    );
}

#[test]
fn small_batches_give_the_same_embeddings() {
    let reference = reference();
    let texts = texts(&reference);
    let folder = Folder::new(fixture()).unwrap();
    for device in common::devices() {
        let options = hearth::embedder::EmbedOptions {
            device,
            max_batch: 2,
            ..Default::default()
        };
        let mut embedder = pollster::block_on(Embedder::load_with(&folder, &options)).unwrap();
        let out = pollster::block_on(embedder.embed(&texts)).unwrap();
        let expected = common::matrix(&reference["embeddings"]);
        check(
            &format!("max_batch 2 on {device:?}"),
            &out,
            &expected,
            &texts,
        );
    }
}

#[test]
fn quantize_on_load_stays_close_to_the_float_embeddings() {
    // Only the 96-wide FFN output matrices have rows of whole 32-value blocks in this model;
    // Q8_0 keeps each weight within half a step of 1/127 of its block's largest magnitude, so
    // the unit-length embeddings stay within a cosine distance of 1e-3 of the reference.
    let reference = reference();
    let texts = texts(&reference);
    let expected = common::matrix(&reference["embeddings"]);
    let folder = Folder::new(fixture()).unwrap();
    for device in common::devices() {
        let options = hearth::embedder::EmbedOptions {
            device,
            quantize: Some(hearth::formats::weights::DType::Q8_0),
            ..Default::default()
        };
        let mut embedder = pollster::block_on(Embedder::load_with(&folder, &options)).unwrap();
        assert!(embedder.info().dtypes.iter().any(|d| d == "q8_0"));
        let out = pollster::block_on(embedder.embed(&texts)).unwrap();
        for ((a, e), text) in out.iter().zip(&expected).zip(&texts) {
            let cosine: f32 = a.iter().zip(e).map(|(x, y)| x * y).sum();
            assert!(1.0 - cosine < 1e-3, "{device:?}: {text:?}: cosine {cosine}");
        }
    }
}
