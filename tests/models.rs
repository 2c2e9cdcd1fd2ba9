//! Whole models against transformers: every fixture's logits at every prompt position and its
//! 16-token greedy continuation, on the GPU and on the CPU, through the public engine.

mod common;

use common::Reference;

use hearth::engine::{DeviceKind, Engine, GenerateRequest, LoadOptions, Prompt};
use hearth::formats::weights::Folder;

const MODELS: [&str; 8] = [
    "llama-f32",
    "llama-untied-mqa-f32",
    "llama3-scaled-f32",
    "mistral-f32",
    "qwen2-f32",
    "qwen3-f32",
    "llama-f16",
    "llama-bf16",
];

/// Max abs logit error allowed (the reference logits have a std of ~4).
const TOLERANCE: f32 = 1e-3;

fn reference(name: &str) -> Reference {
    common::reference(&format!("models/{name}/reference.json"))
}

fn load(name: &str, device: DeviceKind) -> Engine {
    let folder = Folder::new(common::fixtures().join("models").join(name)).unwrap();
    let options = LoadOptions {
        device,
        ..Default::default()
    };
    pollster::block_on(Engine::load(&folder, &options)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn check_model(name: &str, device: DeviceKind) {
    let mut engine = load(name, device);
    let case = format!("{name} on {device:?}");
    common::check_against_reference(&mut engine, &reference(name), &case, TOLERANCE);
}

#[test]
fn fixtures_match_transformers_on_the_cpu() {
    for name in MODELS {
        check_model(name, DeviceKind::Cpu);
    }
}

#[test]
fn fixtures_match_transformers_on_the_gpu() {
    if common::gpu().is_none() {
        return;
    }
    for name in MODELS {
        check_model(name, DeviceKind::Gpu);
    }
}

#[test]
fn decode_continues_a_cached_prefix() {
    // Generating from a prompt, then from the prompt extended by the first generated tokens,
    // must reuse the cache and give the reference's continuation.
    let Some(_) = common::gpu() else { return };
    let reference = reference("qwen2-f32");
    let mut engine = load("qwen2-f32", DeviceKind::Gpu);
    let mut request = GenerateRequest::new(Prompt::Ids(reference.prompt_ids.clone()));
    request.max_tokens = 4;
    request.ignore_eos = true;
    let first = pollster::block_on(engine.generate(&request, &mut |_, _| true)).unwrap();
    assert_eq!(first.ids, reference.greedy_ids[..4]);
    let mut extended = reference.prompt_ids.clone();
    extended.extend(&first.ids);
    request.prompt = Prompt::Ids(extended);
    request.max_tokens = 12;
    let second = pollster::block_on(engine.generate(&request, &mut |_, _| true)).unwrap();
    assert_eq!(second.ids, reference.greedy_ids[4..]);
    assert_eq!(
        second.timings.prefill_tokens, 1,
        "only the unseen token is prefilled"
    );
}

#[test]
fn sampling_is_reproducible_with_a_seed() {
    for device in [DeviceKind::Gpu, DeviceKind::Cpu] {
        if device == DeviceKind::Gpu && common::gpu().is_none() {
            continue;
        }
        let mut engine = load("llama-f32", device);
        let run = |engine: &mut Engine, seed: u64, top_k: usize| {
            let mut request = GenerateRequest::new(Prompt::Text("Once upon a time".into()));
            request.max_tokens = 24;
            request.ignore_eos = true;
            request.sampling.temperature = 1.5;
            request.sampling.top_k = top_k;
            request.sampling.top_p = 0.95;
            request.sampling.repetition_penalty = 1.1;
            request.sampling.seed = Some(seed);
            pollster::block_on(engine.generate(&request, &mut |_, _| true))
                .unwrap()
                .ids
        };
        for top_k in [0, 40] {
            let a = run(&mut engine, 11, top_k);
            let b = run(&mut engine, 11, top_k);
            let c = run(&mut engine, 12, top_k);
            assert_eq!(a, b, "{device:?}: same seed, same tokens (top_k {top_k})");
            assert_ne!(
                a, c,
                "{device:?}: another seed, other tokens (top_k {top_k})"
            );
        }
    }
}

#[test]
fn stops_at_eos_and_stop_strings() {
    let mut engine = load("llama-f32", DeviceKind::Cpu);
    let reference = reference("llama-f32");
    // Pretend the 5th greedy token is an end-of-sequence token by asking for a stop string made
    // of the text of tokens 3..5: generation must end before it.
    let tokenizer = engine.tokenizer();
    let full = tokenizer.decode(&reference.greedy_ids, true).unwrap();
    let head = tokenizer.decode(&reference.greedy_ids[..3], true).unwrap();
    let mut request = GenerateRequest::new(Prompt::Ids(reference.prompt_ids.clone()));
    request.max_tokens = 16;
    request.ignore_eos = true;
    let stop = full[head.len()..].chars().take(3).collect::<String>();
    request.stop = vec![stop.clone()];
    let mut streamed = String::new();
    let generation = pollster::block_on(engine.generate(&request, &mut |_, text| {
        streamed.push_str(text);
        true
    }))
    .unwrap();
    assert_eq!(generation.finish_reason.as_str(), "stop");
    assert!(
        !generation.text.contains(&stop),
        "{:?} contains {stop:?}",
        generation.text
    );
    assert!(full.starts_with(&generation.text));
    assert_eq!(
        streamed, generation.text,
        "streamed text equals the final text"
    );
}

#[test]
fn prompt_past_the_context_is_an_error_and_the_engine_stays_usable() {
    let folder = Folder::new(common::fixtures().join("models/llama-f32")).unwrap();
    let options = LoadOptions {
        device: DeviceKind::Cpu,
        context: Some(16),
        ..Default::default()
    };
    let mut engine = pollster::block_on(Engine::load(&folder, &options)).unwrap();
    let long = GenerateRequest::new(Prompt::Ids(vec![5; 17]));
    let error = pollster::block_on(engine.generate(&long, &mut |_, _| true)).unwrap_err();
    assert_eq!(error.name(), "PromptError");
    assert!(
        error.to_string().contains("context window of 16"),
        "{error}"
    );
    let mut short = GenerateRequest::new(Prompt::Ids(vec![5; 10]));
    short.max_tokens = 100;
    short.ignore_eos = true;
    let generation = pollster::block_on(engine.generate(&short, &mut |_, _| true)).unwrap();
    // The context ends generation: 10 prompt tokens + 6 run + the last one sampled.
    assert_eq!(generation.ids.len(), 7);
    assert_eq!(generation.finish_reason.as_str(), "length");
    let out_of_vocab = GenerateRequest::new(Prompt::Ids(vec![100_000]));
    let error = pollster::block_on(engine.generate(&out_of_vocab, &mut |_, _| true)).unwrap_err();
    assert!(error.to_string().contains("100000"), "{error}");
}

#[test]
fn chunked_prefill_gives_the_same_logits() {
    let reference = reference("llama3-scaled-f32");
    let folder = Folder::new(common::fixtures().join("models/llama3-scaled-f32")).unwrap();
    for device in [DeviceKind::Gpu, DeviceKind::Cpu] {
        if device == DeviceKind::Gpu && common::gpu().is_none() {
            continue;
        }
        let options = LoadOptions {
            device,
            prefill_chunk: 5,
            ..Default::default()
        };
        let mut engine = pollster::block_on(Engine::load(&folder, &options)).unwrap();
        let logits = pollster::block_on(engine.logits(&reference.prompt_ids, true)).unwrap();
        for (position, (row, expected)) in logits.iter().zip(&reference.logits).enumerate() {
            common::assert_close(
                &format!("chunked prefill on {device:?}, position {position}"),
                row,
                expected,
                TOLERANCE / 4.0,
            );
        }
        let mut request = GenerateRequest::new(Prompt::Ids(reference.prompt_ids.clone()));
        request.max_tokens = 16;
        request.ignore_eos = true;
        let generation = pollster::block_on(engine.generate(&request, &mut |_, _| true)).unwrap();
        assert_eq!(
            generation.ids, reference.greedy_ids,
            "chunked prefill on {device:?}"
        );
    }
}

#[test]
fn decode_steps_create_no_buffers_or_bind_groups() {
    use hearth::backends::ops::Backend;
    use hearth::formats::weights::{Checkpoint, ModelFiles};
    use hearth::models::config::DecoderConfig;
    use hearth::models::decoder::Decoder;

    let Some(mut gpu) = common::gpu() else { return };
    // Fused q/k/v (llama) and separate projections with q/k norms (qwen3).
    for name in ["llama-f32", "qwen3-f32"] {
        let folder = Folder::new(common::fixtures().join("models").join(name)).unwrap();
        let config = DecoderConfig::from_json(&folder.read_text("config.json").unwrap()).unwrap();
        let checkpoint = Checkpoint::open(&folder).unwrap();
        let mut model = Decoder::load(&mut gpu, config, &checkpoint, 64).unwrap();
        let logits = model.forward(&mut gpu, &[3, 10, 20, 30], 0, false).unwrap();
        let mut token = pollster::block_on(gpu.argmax(&logits)).unwrap();
        drop(logits);
        let mut counts = Vec::new();
        for position in 4..10 {
            let logits = model.forward(&mut gpu, &[token], position, false).unwrap();
            token = pollster::block_on(gpu.argmax(&logits)).unwrap();
            counts.push((gpu.bind_group_count(), gpu.activation_bytes()));
        }
        assert!(
            counts.windows(2).skip(1).all(|w| w[0] == w[1]),
            "{name}: bind groups / activation bytes per step: {counts:?}"
        );
    }
}

#[test]
fn a_model_past_the_adapter_limits_fails_before_allocating() {
    if common::gpu().is_none() {
        return;
    }
    let folder = Folder::new(common::fixtures().join("models/llama-f32")).unwrap();
    // 2^27 positions of 32 f32 keys: 16 GiB per layer, past any adapter's binding limit.
    let options = LoadOptions {
        device: DeviceKind::Gpu,
        context: Some(1 << 27),
        ..Default::default()
    };
    let error = pollster::block_on(Engine::load(&folder, &options))
        .err()
        .unwrap();
    assert_eq!(error.name(), "DeviceLimitError", "{error}");
    assert!(error.to_string().contains("KV cache"), "{error}");
}

/// Bytes of each tensor in a safetensors file, by name, from its header.
fn safetensors_sizes(path: &std::path::Path) -> std::collections::HashMap<String, u64> {
    let bytes = std::fs::read(path).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
    let tensors = header.as_object().unwrap().iter();
    tensors
        .filter(|(name, _)| *name != "__metadata__")
        .map(|(name, info)| {
            let [start, end] = [0, 1].map(|i| info["data_offsets"][i].as_u64().unwrap());
            (name.clone(), end - start)
        })
        .collect()
}

#[test]
fn decode_weight_bytes_count_every_matrix_once_and_one_embedding_row() {
    for name in [
        "llama-f32",
        "llama-untied-mqa-f32",
        "mistral-f32",
        "qwen3-f32",
    ] {
        let dir = common::fixtures().join("models").join(name);
        let sizes = safetensors_sizes(&dir.join("model.safetensors"));
        let config = common::fixture_json(&format!("models/{name}/config.json"));
        let vocab = config["vocab_size"].as_u64().unwrap();
        let embed = sizes["model.embed_tokens.weight"];
        let total: u64 = sizes.values().sum();
        // An untied LM head is read whole, the embedding table one row; a tied table is read
        // whole as the LM head.
        let expected = match sizes.contains_key("lm_head.weight") {
            true => total - embed + embed / vocab,
            false => total + embed / vocab,
        };
        for device in common::devices() {
            let engine = load(name, device);
            assert_eq!(
                engine.info().decode_weight_bytes,
                expected,
                "{name} on {device:?}"
            );
        }
    }
}
