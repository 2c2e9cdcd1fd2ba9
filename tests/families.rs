//! Every decoder family beyond the Llama line against transformers: tiny random-weight models
//! made by `scripts/make_family_fixtures.py` (Gemma 1/2/3, OLMo 2, SmolLM3, Granite, Phi-3,
//! Phi-4-mini, GPT-2, Mistral with a sliding window), from their safetensors folders and from
//! GGUF files written by llama.cpp's own converter, on the CPU and the GPU. Logits at every
//! prompt position and the greedy continuation; prompts are longer than the sliding windows.

mod common;

use hearth::engine::{DeviceKind, Engine, LoadOptions};
use hearth::formats::weights::{Folder, ModelFiles};

/// Max abs logit error allowed (the reference logits have a std of ~4).
const TOLERANCE: f32 = 1e-3;

/// (fixture, whether llama.cpp's converter made a GGUF of it). Where the GGUF cannot carry a
/// setting of the model (Gemma 2's `query_pre_attn_scalar`, which llama.cpp derives from the
/// head size; Mistral's sliding window, which its converter drops), the fixture script wrote
/// `reference.gguf.json`: transformers' output for the model as llama.cpp reads that file.
const FAMILIES: [(&str, bool); 11] = [
    ("gemma-f32", true),
    ("gemma2-f32", true),
    ("gemma3-f32", true),
    ("gemma3-bf16", false),
    ("olmo2-f32", true),
    ("smollm3-f32", true),
    ("granite-f32", true),
    ("phi3-f32", true),
    ("phi4-f32", true),
    ("gpt2-f32", true),
    ("mistral-sliding-f32", true),
];

fn reference_json(name: &str) -> serde_json::Value {
    common::fixture_json(&format!("models/{name}/reference.json"))
}

/// The context a fixture must run with (LongRoPE picks its factors by it), if it names one.
fn context(name: &str) -> Option<usize> {
    reference_json(name)["context"].as_u64().map(|c| c as usize)
}

fn load(files: &dyn ModelFiles, name: &str, device: DeviceKind) -> Engine {
    let options = LoadOptions {
        device,
        context: context(name),
        ..Default::default()
    };
    pollster::block_on(Engine::load(files, &options)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn check(name: &str, gguf: bool, device: DeviceKind) {
    let gguf_reference = format!("models/{name}/reference.gguf.json");
    let reference = if gguf && common::fixtures().join(&gguf_reference).exists() {
        common::reference(&gguf_reference)
    } else {
        common::reference(&format!("models/{name}/reference.json"))
    };
    let mut engine = if gguf {
        let path = common::fixtures().join("gguf").join(format!("{name}.gguf"));
        load(&Folder::open(path).unwrap(), name, device)
    } else {
        let folder = Folder::new(common::fixtures().join("models").join(name)).unwrap();
        load(&folder, name, device)
    };
    let mut architecture = reference_json(name)["architecture"]
        .as_str()
        .unwrap()
        .to_string();
    // llama.cpp files Mistral under `llama`.
    if gguf && architecture == "MistralForCausalLM" {
        architecture = "LlamaForCausalLM".into();
    }
    assert_eq!(engine.info().architecture, architecture, "{name}");
    let case = format!("{name}{} on {device:?}", if gguf { " (GGUF)" } else { "" });
    common::check_against_reference(&mut engine, &reference, &case, TOLERANCE);
}

fn check_all(device: DeviceKind) {
    for (name, has_gguf) in FAMILIES {
        check(name, false, device);
        if has_gguf {
            check(name, true, device);
        }
    }
}

#[test]
fn families_match_transformers_on_the_cpu() {
    check_all(DeviceKind::Cpu);
}

#[test]
fn families_match_transformers_on_the_gpu() {
    if common::gpu().is_none() {
        return;
    }
    check_all(DeviceKind::Gpu);
}
