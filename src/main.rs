//! The `hearth` command line: generate, logits, info and bench on a model folder.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::json;

use hearth::embedder::{is_embedding_model, EmbedOptions, Embedder};
use hearth::engine::{quantize_type, DeviceKind, Engine, GenerateRequest, LoadOptions, Prompt};
use hearth::formats::weights::Folder;
use hearth::text::chat::ChatMessage;
use hearth::text::sampling::SamplingParams;
use hearth::Error;

#[derive(Parser)]
#[command(
    name = "hearth",
    version,
    about = "Small open models on WebGPU compute shaders"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Device {
    Gpu,
    Cpu,
}

#[derive(Args)]
struct ModelArgs {
    /// A Hugging Face model folder (config.json, *.safetensors, tokenizer.json), a .gguf file,
    /// or a folder holding one .gguf file.
    #[arg(long)]
    model: PathBuf,
    #[arg(long, value_enum, default_value = "gpu")]
    device: Device,
    /// KV-cache length in tokens (default: the model's window, at most 4096).
    #[arg(long)]
    context: Option<usize>,
    /// Quantize float weight matrices while loading: q8_0 or q4_0.
    #[arg(long)]
    quantize: Option<String>,
}

#[derive(Args)]
struct SamplingArgs {
    /// 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    /// 0 keeps every token.
    #[arg(long, default_value_t = 0)]
    top_k: usize,
    #[arg(long, default_value_t = 1.0)]
    top_p: f32,
    #[arg(long, default_value_t = 0.0)]
    min_p: f32,
    #[arg(long, default_value_t = 1.0)]
    repetition_penalty: f32,
    #[arg(long)]
    seed: Option<u64>,
}

impl From<SamplingArgs> for SamplingParams {
    fn from(args: SamplingArgs) -> Self {
        Self {
            temperature: args.temperature,
            top_k: args.top_k,
            top_p: args.top_p,
            min_p: args.min_p,
            repetition_penalty: args.repetition_penalty,
            seed: args.seed,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Generate text, streaming it to stdout.
    Generate {
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, conflicts_with = "ids")]
        prompt: Option<String>,
        /// Prompt token ids, comma-separated.
        #[arg(long, value_delimiter = ',')]
        ids: Option<Vec<u32>>,
        /// Wrap the prompt as a user message in the model's chat template.
        #[arg(long)]
        chat: bool,
        #[arg(long, default_value_t = 256)]
        max_tokens: usize,
        #[command(flatten)]
        sampling: SamplingArgs,
        /// Stop when this string is generated (repeatable).
        #[arg(long)]
        stop: Vec<String>,
        /// Keep generating past end-of-sequence tokens.
        #[arg(long)]
        ignore_eos: bool,
        /// Print one JSON object instead of streaming text.
        #[arg(long)]
        json: bool,
    },
    /// Print the logits for a sequence of token ids as JSON.
    Logits {
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, value_delimiter = ',', required = true)]
        ids: Vec<u32>,
        /// Every position's logits instead of the last one's.
        #[arg(long)]
        all: bool,
    },
    /// Describe a model and the device it would run on.
    Info {
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long)]
        json: bool,
    },
    /// Embed texts with a sentence-embedding (BERT) model.
    Embed {
        /// A BERT folder (sentence-transformers layout or a plain BertModel).
        #[arg(long)]
        model: PathBuf,
        /// A text to embed (repeatable; embeddings come back in this order).
        #[arg(long = "text", required = true)]
        texts: Vec<String>,
        #[arg(long, value_enum, default_value = "gpu")]
        device: Device,
        /// Print `{"embeddings": [[...], ...]}` instead of one JSON array per line.
        #[arg(long)]
        json: bool,
    },
    /// Measure load time, prefill and decode speed (embedding models: texts/s for a batch of
    /// 32 texts of 128 tokens).
    Bench {
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, default_value_t = 128)]
        prompt_tokens: usize,
        #[arg(long, default_value_t = 64)]
        gen_tokens: usize,
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// The device's memory bandwidth in GB/s (e.g. 4800 for an H200): adds the fraction
        /// of the bandwidth roofline that decode reaches.
        #[arg(long)]
        peak_bandwidth: Option<f64>,
    },
}

fn device_kind(device: Device) -> DeviceKind {
    match device {
        Device::Gpu => DeviceKind::Gpu,
        Device::Cpu => DeviceKind::Cpu,
    }
}

async fn load(args: &ModelArgs) -> Result<Engine, Error> {
    let files = Folder::open(&args.model)?;
    let options = LoadOptions {
        device: device_kind(args.device),
        context: args.context,
        quantize: args.quantize.as_deref().map(quantize_type).transpose()?,
        ..Default::default()
    };
    Engine::load(&files, &options).await
}

fn embed_options(args: &ModelArgs) -> Result<EmbedOptions, Error> {
    Ok(EmbedOptions {
        device: device_kind(args.device),
        quantize: args.quantize.as_deref().map(quantize_type).transpose()?,
        ..Default::default()
    })
}

fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string(value).expect("JSON values serialize")
    );
}

async fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Generate {
            model,
            prompt,
            ids,
            chat,
            max_tokens,
            sampling,
            stop,
            ignore_eos,
            json,
        } => {
            let prompt = match (prompt, ids) {
                (Some(text), None) if chat => Prompt::Chat(vec![ChatMessage::new("user", text)]),
                (Some(text), None) => Prompt::Text(text),
                (None, Some(ids)) => Prompt::Ids(ids),
                _ => {
                    return Err(Error::InvalidArgument(
                        "give exactly one of --prompt and --ids".into(),
                    ))
                }
            };
            let mut engine = load(&model).await?;
            let request = GenerateRequest {
                prompt,
                max_tokens,
                sampling: sampling.into(),
                stop,
                ignore_eos,
            };
            let mut stdout = std::io::stdout();
            let generation = engine
                .generate(&request, &mut |_, text| {
                    if !json {
                        let _ = stdout.write_all(text.as_bytes());
                        let _ = stdout.flush();
                    }
                    true
                })
                .await?;
            if json {
                let t = &generation.timings;
                print_json(&json!({
                    "ids": generation.ids,
                    "text": generation.text,
                    "prompt_tokens": generation.prompt_tokens,
                    "completion_tokens": generation.ids.len(),
                    "finish_reason": generation.finish_reason.as_str(),
                    "timings": {
                        "first_token_s": t.first_token_s,
                        "prefill_tokens_per_s": t.prefill_tokens_per_s(),
                        "decode_tokens_per_s": t.decode_tokens_per_s(),
                    },
                }));
            } else {
                println!();
            }
        }
        Command::Logits { model, ids, all } => {
            let mut engine = load(&model).await?;
            let rows = engine.logits(&ids, all).await?;
            if all {
                print_json(&json!({ "logits": rows }));
            } else {
                print_json(&json!({ "logits": rows.last() }));
            }
        }
        Command::Embed {
            model,
            texts,
            device,
            json,
        } => {
            let files = Folder::new(&model)?;
            let mut embedder = Embedder::load(&files, device_kind(device)).await?;
            let embeddings = embedder.embed(&texts).await?;
            if json {
                print_json(&json!({ "embeddings": embeddings }));
            } else {
                for embedding in embeddings {
                    print_json(&json!(embedding));
                }
            }
        }
        Command::Info { model, json } if is_embedding_model(&Folder::open(&model.model)?)? => {
            let files = Folder::new(&model.model)?;
            let embedder = Embedder::load_with(&files, &embed_options(&model)?).await?;
            let info = serde_json::to_value(embedder.info()).expect("info serializes");
            if json {
                print_json(&info);
            } else {
                for (key, value) in info.as_object().expect("info is an object") {
                    println!("{key}: {value}");
                }
            }
        }
        Command::Info { model, json } => {
            let engine = load(&model).await?;
            let info = engine.info();
            if json {
                print_json(&serde_json::to_value(info).expect("info serializes"));
            } else {
                let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
                println!("architecture: {}", info.architecture);
                println!(
                    "parameters:   {} ({} layers, hidden {}, {} heads, {} kv heads, vocab {})",
                    info.parameters,
                    info.layers,
                    info.hidden,
                    info.heads,
                    info.kv_heads,
                    info.vocab
                );
                println!("format:       {}", info.format);
                println!("dtypes:       {}", info.dtypes.join(", "));
                println!("backend:      {} on {}", info.backend, info.adapter);
                println!(
                    "features:     {}",
                    if info.features.is_empty() {
                        "none".to_string()
                    } else {
                        info.features.join(", ")
                    }
                );
                println!("weights:      {:.2} MiB", mib(info.weights_bytes));
                println!(
                    "kv cache:     {:.2} MiB for {} tokens",
                    mib(info.kv_cache_bytes),
                    info.context
                );
            }
        }
        Command::Bench {
            model,
            prompt_tokens,
            gen_tokens,
            runs,
            peak_bandwidth,
        } => {
            if is_embedding_model(&Folder::open(&model.model)?)? {
                bench_embeddings(&model, runs.max(1)).await?
            } else {
                let shape = BenchShape {
                    prompt_tokens,
                    gen_tokens,
                    runs: runs.max(1),
                    peak_bandwidth,
                };
                bench(&model, &shape).await?
            }
        }
    }
    Ok(())
}

/// min, median and max of a series.
fn summary(mut values: Vec<f64>) -> serde_json::Value {
    values.sort_by(f64::total_cmp);
    json!({
        "min": values[0],
        "median": values[values.len() / 2],
        "max": values[values.len() - 1],
    })
}

struct BenchShape {
    prompt_tokens: usize,
    gen_tokens: usize,
    runs: usize,
    /// GB/s.
    peak_bandwidth: Option<f64>,
}

async fn bench(args: &ModelArgs, shape: &BenchShape) -> Result<(), Error> {
    let &BenchShape {
        prompt_tokens,
        gen_tokens,
        runs,
        peak_bandwidth,
    } = shape;
    let started = web_time::Instant::now();
    let mut engine = load(args).await?;
    let load_s = started.elapsed().as_secs_f64();
    let vocab = engine.info().vocab;
    // A fixed, varied prompt: random weights make the token values irrelevant to speed.
    let prompt: Vec<u32> = (0..prompt_tokens)
        .map(|i| ((i * 7919 + 13) % vocab) as u32)
        .collect();
    let request = GenerateRequest {
        prompt: Prompt::Ids(prompt),
        max_tokens: gen_tokens,
        sampling: SamplingParams::default(),
        stop: Vec::new(),
        ignore_eos: true,
    };
    let (mut first, mut prefill, mut decode) = (Vec::new(), Vec::new(), Vec::new());
    // One warm-up run compiles pipelines and sizes buffers.
    for run in 0..=runs {
        engine.reset();
        let generation = engine.generate(&request, &mut |_, _| true).await?;
        if run > 0 {
            let t = &generation.timings;
            first.push(t.first_token_s);
            prefill.push(t.prefill_tokens_per_s());
            decode.push(t.decode_tokens_per_s());
        }
    }
    let info = engine.info();
    let memory = engine.memory();
    // Bytes a decode step reads: the weights, and the keys and values of every position it
    // attends to; step j of the timed ones attends to prompt + j positions, prompt + gen / 2 on
    // average.
    let kv_per_position = info.kv_cache_bytes as f64 / info.context.max(1) as f64;
    let attended = prompt_tokens as f64 + gen_tokens as f64 / 2.0;
    let bytes_per_token = info.decode_weight_bytes as f64 + kv_per_position * attended;
    let gb_per_s: Vec<f64> = decode.iter().map(|t| t * bytes_per_token / 1e9).collect();
    let roofline = peak_bandwidth.map(|peak| {
        let fractions = gb_per_s.iter().map(|g| g / peak).collect();
        summary(fractions)
    });
    print_json(&json!({
        "engine": "hearth",
        "version": env!("CARGO_PKG_VERSION"),
        "model": args.model.display().to_string(),
        "backend": info.backend,
        "adapter": info.adapter,
        "dtypes": info.dtypes,
        "prompt_tokens": prompt_tokens,
        "gen_tokens": gen_tokens,
        "runs": runs,
        "load_s": load_s,
        "time_to_first_token_s": summary(first),
        "prefill_tokens_per_s": summary(prefill),
        "decode_tokens_per_s": summary(decode),
        "decode_bytes_per_token": bytes_per_token.round(),
        "decode_gb_per_s": summary(gb_per_s),
        "peak_bandwidth_gb_per_s": peak_bandwidth,
        "roofline_fraction": roofline,
        "weights_bytes": info.weights_bytes,
        "decode_weight_bytes": info.decode_weight_bytes,
        "kv_cache_bytes": info.kv_cache_bytes,
        "activation_bytes": memory.activations,
        "peak_gpu_bytes": memory.peak,
    }));
    Ok(())
}

/// Texts in the embedding benchmark's batch, and tokens per text (special tokens included).
const BENCH_TEXTS: usize = 32;
const BENCH_TOKENS: usize = 128;

async fn bench_embeddings(args: &ModelArgs, runs: usize) -> Result<(), Error> {
    let started = web_time::Instant::now();
    let files = Folder::new(&args.model)?;
    let mut embedder = Embedder::load_with(&files, &embed_options(args)?).await?;
    let load_s = started.elapsed().as_secs_f64();
    let info = embedder.info().clone();
    let tokens = BENCH_TOKENS.min(info.max_seq_length);
    let tokenizer = embedder.tokenizer();
    let special = |name: &str, fallback: u32| tokenizer.token_to_id(name).unwrap_or(fallback);
    let (cls, sep) = (special("[CLS]", 101), special("[SEP]", 102));
    // Varied ids past the special tokens: random weights or not, speed does not depend on them.
    let vocab = info.vocab;
    let batch: Vec<Vec<u32>> = (0..BENCH_TEXTS)
        .map(|t| {
            let mut ids = vec![cls];
            ids.extend((0..tokens - 2).map(|i| ((1000 + t * 131 + i * 7919) % vocab) as u32));
            ids.push(sep);
            ids
        })
        .collect();
    let mut texts_per_s = Vec::new();
    let mut batch_s = Vec::new();
    // One warm-up run compiles pipelines and sizes buffers.
    for run in 0..=runs {
        let started = web_time::Instant::now();
        let out = embedder.embed_ids(&batch).await?;
        let elapsed = started.elapsed().as_secs_f64();
        debug_assert_eq!(out.len(), BENCH_TEXTS);
        if run > 0 {
            texts_per_s.push(BENCH_TEXTS as f64 / elapsed);
            batch_s.push(elapsed);
        }
    }
    print_json(&json!({
        "model": args.model.display().to_string(),
        "architecture": info.architecture,
        "backend": info.backend,
        "adapter": info.adapter,
        "dtypes": info.dtypes,
        "texts": BENCH_TEXTS,
        "tokens_per_text": tokens,
        "runs": runs,
        "load_s": load_s,
        "batch_s": summary(batch_s),
        "texts_per_s": summary(texts_per_s),
        "weights_bytes": info.weights_bytes,
    }));
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match pollster::block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
