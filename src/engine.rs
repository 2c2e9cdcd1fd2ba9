//! Loading a model folder onto a backend and generating text from it.

use web_time::Instant;

#[cfg(feature = "cpu")]
use crate::backends::cpu::Cpu;
use crate::backends::gpu::{Gpu, GpuOptions};
use crate::backends::ops::{Backend, MemoryUse};
use crate::error::{Error, Result};
use crate::formats::gguf::{hf_tensor_name, permutes_qk, Gguf};
use crate::formats::weights::{Checkpoint, DType, ModelFiles};
use crate::models::config::{token_ids, Architecture, DecoderConfig};
use crate::models::decoder::Decoder;
use crate::models::RopeTensors;
use crate::text::chat::{ChatMessage, ChatTemplate};
use crate::text::gguf_tokenizer::{tokenizer_from_gguf, vocab_from_gguf};
use crate::text::sampling::{sorted_candidates, Sampler, SamplingParams};
use crate::text::tokenizer::Tokenizer;

/// Where the forward pass runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Gpu,
    Cpu,
}

/// Asking for the CPU from a build without the `cpu` feature (the browser's WebGPU-only module).
#[cfg(not(feature = "cpu"))]
pub(crate) fn no_cpu_backend() -> Error {
    Error::InvalidArgument("this build has no CPU backend (the `cpu` feature is off)".into())
}

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub device: DeviceKind,
    /// KV-cache length in tokens; defaults to the model's window, at most [`DEFAULT_CONTEXT`].
    pub context: Option<usize>,
    /// Prompts are run in chunks of at most this many tokens, which bounds activation memory.
    pub prefill_chunk: usize,
    /// Quantize float weight matrices to this type (Q8_0 or Q4_0) while loading.
    pub quantize: Option<DType>,
    pub gpu: GpuOptions,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            device: DeviceKind::Gpu,
            context: None,
            prefill_chunk: PREFILL_CHUNK,
            quantize: None,
            gpu: GpuOptions::default(),
        }
    }
}

/// The quantize-on-load type named `name` (`q8_0` or `q4_0`).
pub fn quantize_type(name: &str) -> Result<DType> {
    match DType::from_name(name) {
        Some(dtype @ (DType::Q8_0 | DType::Q4_0)) => Ok(dtype),
        _ => Err(Error::InvalidArgument(format!(
            "cannot quantize to `{name}` (supported: q8_0, q4_0)"
        ))),
    }
}

/// KV-cache length when none is asked for: long enough for chat, small enough for browsers.
pub const DEFAULT_CONTEXT: usize = 4096;

/// Default prefill chunk: long enough to keep the GPU busy, short enough to bound memory.
pub const PREFILL_CHUNK: usize = 512;

pub enum Prompt {
    Text(String),
    Ids(Vec<u32>),
    Chat(Vec<ChatMessage>),
}

pub struct GenerateRequest {
    pub prompt: Prompt,
    pub max_tokens: usize,
    pub sampling: SamplingParams,
    pub stop: Vec<String>,
    pub ignore_eos: bool,
}

impl GenerateRequest {
    pub fn new(prompt: Prompt) -> Self {
        Self {
            prompt,
            max_tokens: 256,
            sampling: SamplingParams::default(),
            stop: Vec::new(),
            ignore_eos: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// An end-of-sequence token or a stop string.
    Stop,
    /// `max_tokens` or the end of the context window.
    Length,
}

impl FinishReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// From the request to the first sampled token (prefill included).
    pub first_token_s: f64,
    /// Prompt tokens actually run (those already in the KV cache are skipped).
    pub prefill_tokens: usize,
    pub prefill_s: f64,
    pub decode_s: f64,
    pub decode_tokens: usize,
}

impl Timings {
    pub fn prefill_tokens_per_s(&self) -> f64 {
        self.prefill_tokens as f64 / self.prefill_s.max(1e-9)
    }

    pub fn decode_tokens_per_s(&self) -> f64 {
        self.decode_tokens as f64 / self.decode_s.max(1e-9)
    }
}

#[derive(Debug, Clone)]
pub struct Generation {
    /// Generated ids, without the prompt and without a final EOS.
    pub ids: Vec<u32>,
    pub text: String,
    pub prompt_tokens: usize,
    pub finish_reason: FinishReason,
    pub timings: Timings,
}

/// What `hearth info` and `engine.info()` report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelInfo {
    pub architecture: String,
    /// `safetensors` or `gguf`.
    pub format: String,
    pub parameters: u64,
    pub dtypes: Vec<String>,
    pub backend: String,
    pub adapter: String,
    pub features: Vec<String>,
    pub context: usize,
    pub weights_bytes: u64,
    /// Weight bytes one decode step reads ([`crate::models::decoder::Decoder::decode_weight_bytes`]).
    pub decode_weight_bytes: u64,
    pub kv_cache_bytes: u64,
    pub layers: usize,
    pub hidden: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub vocab: usize,
}

struct Loaded<B: Backend> {
    backend: B,
    model: Decoder<B>,
}

enum Model {
    Gpu(Box<Loaded<Gpu>>),
    #[cfg(feature = "cpu")]
    Cpu(Box<Loaded<Cpu>>),
}

/// Awaited after every generated token, so a caller can let its event loop run (the browser
/// must process an abort, or draw the token, while a CPU-bound generation is running).
pub type YieldHook = Box<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>>;

pub struct Engine {
    model: Model,
    yield_hook: Option<YieldHook>,
    tokenizer: Tokenizer,
    chat: Option<ChatTemplate>,
    eos_ids: Vec<u32>,
    /// Tokens whose keys and values the cache holds, in order from position 0.
    cached: Vec<u32>,
    prefill_chunk: usize,
    info: ModelInfo,
}

impl Engine {
    /// Loads a model onto the chosen device: a Hugging Face folder (`config.json`,
    /// safetensors, `tokenizer.json`) or a single GGUF file.
    pub async fn load(files: &dyn ModelFiles, options: &LoadOptions) -> Result<Self> {
        let ModelParts {
            config,
            tokenizer,
            mut eos_ids,
            mut checkpoint,
            format,
        } = match model_format(files)? {
            ModelFormat::HuggingFace => read_hugging_face(files)?,
            ModelFormat::Gguf(name) => read_gguf(files, &name)?,
        };
        if let Some(dtype) = options.quantize {
            checkpoint.quantize_to(dtype)?;
        }
        let chat = match &tokenizer.chat_template {
            Some(template) => Some(ChatTemplate::new(
                template,
                tokenizer.bos_token.as_deref(),
                tokenizer.eos_token.as_deref(),
            )?),
            None => None,
        };
        if let Some(id) = tokenizer
            .eos_token
            .as_deref()
            .and_then(|t| tokenizer.token_to_id(t))
        {
            eos_ids.push(id);
        }
        eos_ids.sort_unstable();
        eos_ids.dedup();

        let context = options
            .context
            .unwrap_or(DEFAULT_CONTEXT.min(config.max_context()));
        let parameters = checkpoint.parameter_count();
        let dtypes = checkpoint.dtype_names();
        let model = match options.device {
            DeviceKind::Gpu => {
                let mut backend = Gpu::new(&options.gpu).await?;
                check_fits(&backend, &checkpoint, &config, context)?;
                let model = Decoder::load(&mut backend, config.clone(), &checkpoint, context)?;
                Model::Gpu(Box::new(Loaded { backend, model }))
            }
            #[cfg(not(feature = "cpu"))]
            DeviceKind::Cpu => return Err(no_cpu_backend()),
            #[cfg(feature = "cpu")]
            DeviceKind::Cpu => {
                let mut backend = Cpu::new();
                let model = Decoder::load(&mut backend, config.clone(), &checkpoint, context)?;
                Model::Cpu(Box::new(Loaded { backend, model }))
            }
        };
        let (backend, adapter, memory, decode_weight_bytes) = match &model {
            Model::Gpu(m) => (
                "webgpu",
                m.backend.device_name(),
                m.backend.memory(),
                m.model.decode_weight_bytes(),
            ),
            #[cfg(feature = "cpu")]
            Model::Cpu(m) => (
                "cpu",
                m.backend.device_name(),
                m.backend.memory(),
                m.model.decode_weight_bytes(),
            ),
        };
        let info = ModelInfo {
            architecture: config.architecture.name().to_string(),
            format: format.to_string(),
            parameters,
            dtypes,
            backend: backend.to_string(),
            adapter,
            features: Vec::new(),
            context,
            weights_bytes: memory.weights,
            decode_weight_bytes,
            kv_cache_bytes: memory.kv_cache,
            layers: config.n_layers,
            hidden: config.hidden,
            heads: config.n_heads,
            kv_heads: config.n_kv_heads,
            vocab: config.vocab,
        };
        Ok(Self {
            model,
            yield_hook: None,
            tokenizer,
            chat,
            eos_ids,
            cached: Vec::new(),
            prefill_chunk: options.prefill_chunk.max(1),
            info,
        })
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    pub fn memory(&self) -> MemoryUse {
        match &self.model {
            Model::Gpu(m) => m.backend.memory(),
            #[cfg(feature = "cpu")]
            Model::Cpu(m) => m.backend.memory(),
        }
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    pub fn eos_ids(&self) -> &[u32] {
        &self.eos_ids
    }

    pub fn set_yield_hook(&mut self, hook: YieldHook) {
        self.yield_hook = Some(hook);
    }

    /// Forgets the KV cache contents, so the next request prefills from scratch.
    pub fn reset(&mut self) {
        self.cached.clear();
    }

    /// The prompt text a chat template makes of `messages`, with the assistant turn opened.
    pub fn render_chat(&self, messages: &[ChatMessage]) -> Result<String> {
        let template = self.chat.as_ref().ok_or_else(|| {
            Error::ChatTemplate("tokenizer_config.json has no chat_template".into())
        })?;
        template.render(messages, true)
    }

    /// Token ids of a prompt. Plain text gets the tokenizer's special tokens (BOS); a chat
    /// prompt's template writes its own.
    pub fn prompt_ids(&self, prompt: &Prompt) -> Result<Vec<u32>> {
        let ids = match prompt {
            Prompt::Ids(ids) => ids.clone(),
            Prompt::Text(text) => self.tokenizer.encode(text, true)?,
            Prompt::Chat(messages) => self.tokenizer.encode(&self.render_chat(messages)?, false)?,
        };
        if ids.is_empty() {
            return Err(Error::EmptyPrompt);
        }
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= self.info.vocab) {
            return Err(Error::TokenOutOfRange {
                id,
                vocab: self.info.vocab,
            });
        }
        Ok(ids)
    }

    /// Logits for `ids` from position 0: every position's when `all`, else the last one's.
    pub async fn logits(&mut self, ids: &[u32], all: bool) -> Result<Vec<Vec<f32>>> {
        let ids = self.prompt_ids(&Prompt::Ids(ids.to_vec()))?;
        self.cached.clear();
        let result = match &mut self.model {
            Model::Gpu(m) => logits_of(m, &ids, all, self.prefill_chunk).await,
            #[cfg(feature = "cpu")]
            Model::Cpu(m) => logits_of(m, &ids, all, self.prefill_chunk).await,
        };
        if result.is_ok() {
            self.cached = ids;
        }
        result
    }

    /// Generates text; `on_token(id, text)` is called for each token with the text it completes
    /// (possibly empty while a UTF-8 character or a possible stop string is incomplete) and
    /// returns `false` to abort, which ends the call with [`Error::Aborted`]. The streamed texts
    /// add up to the final text; when an end-of-sequence token arrives while text is held back
    /// for a possible stop string, one last call repeats the last id with that text.
    pub async fn generate(
        &mut self,
        request: &GenerateRequest,
        on_token: &mut dyn FnMut(u32, &str) -> bool,
    ) -> Result<Generation> {
        let started = Instant::now();
        let prompt = self.prompt_ids(&request.prompt)?;
        let mut sampler = Sampler::new(request.sampling.clone())?;
        let context = self.info.context;
        if prompt.len() > context {
            return Err(Error::ContextOverflow {
                prompt: prompt.len(),
                context,
            });
        }
        let mut job = Job {
            tokenizer: &self.tokenizer,
            eos_ids: if request.ignore_eos {
                &[]
            } else {
                &self.eos_ids
            },
            prefill_chunk: self.prefill_chunk,
            yield_hook: self.yield_hook.as_ref(),
            request,
            cached: &mut self.cached,
            started,
        };
        let result = match &mut self.model {
            Model::Gpu(m) => job.run(m, &prompt, &mut sampler, on_token).await,
            #[cfg(feature = "cpu")]
            Model::Cpu(m) => job.run(m, &prompt, &mut sampler, on_token).await,
        };
        if result.is_err() {
            // The cache may hold a partial forward pass.
            self.cached.clear();
        }
        result
    }
}

/// What a model source holds.
enum ModelFormat {
    HuggingFace,
    /// The one `.gguf` file of the source.
    Gguf(String),
}

/// A folder with `config.json` is a Hugging Face model; otherwise the source must hold exactly
/// one `.gguf` file.
fn model_format(files: &dyn ModelFiles) -> Result<ModelFormat> {
    if files.exists("config.json") {
        return Ok(ModelFormat::HuggingFace);
    }
    let mut ggufs: Vec<String> = files
        .list()?
        .into_iter()
        .filter(|name| name.to_ascii_lowercase().ends_with(".gguf"))
        .collect();
    match ggufs.len() {
        1 => Ok(ModelFormat::Gguf(ggufs.remove(0))),
        0 => Err(Error::Io {
            path: files.describe("config.json").into(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no config.json and no .gguf file: not a model",
            ),
        }),
        _ => Err(Error::InvalidArgument(format!(
            "{} holds several .gguf files ({}); name one",
            files.describe(""),
            ggufs.join(", ")
        ))),
    }
}

/// Everything read from a model source before weights go to a device.
struct ModelParts<'a> {
    config: DecoderConfig,
    tokenizer: Tokenizer,
    eos_ids: Vec<u32>,
    checkpoint: Checkpoint<'a>,
    format: &'static str,
}

fn read_hugging_face(files: &dyn ModelFiles) -> Result<ModelParts<'_>> {
    let config_text = files.read_text("config.json")?;
    let config = DecoderConfig::from_json(&config_text).map_err(|e| match e {
        Error::Json { message, .. } => Error::json(files.describe("config.json"), message),
        other => other,
    })?;
    let tokenizer = read_tokenizer_json(files)?;
    let generation = files.read_json_optional("generation_config.json")?;
    let mut eos_ids = token_ids(generation.as_ref().and_then(|g| g.get("eos_token_id")));
    eos_ids.extend(&config.eos_token_ids);
    Ok(ModelParts {
        config,
        tokenizer,
        eos_ids,
        checkpoint: Checkpoint::open(files)?,
        format: "safetensors",
    })
}

fn read_tokenizer_json(files: &dyn ModelFiles) -> Result<Tokenizer> {
    let tokenizer_config = if files.exists("tokenizer_config.json") {
        Some(files.read_text("tokenizer_config.json")?)
    } else {
        None
    };
    Tokenizer::from_bytes(&files.read("tokenizer.json")?, tokenizer_config.as_deref())
        .map_err(|e| Error::Tokenizer(format!("{}: {e}", files.describe("tokenizer.json"))))
}

/// A GGUF file: config from its metadata, tensors under Hugging Face names (q/k rows of the
/// `llama` architecture put back in Hugging Face order), and the tokenizer from its metadata
/// unless a `tokenizer.json` sits beside it.
fn read_gguf<'a>(files: &'a dyn ModelFiles, name: &str) -> Result<ModelParts<'a>> {
    let gguf = Gguf::open(files, name)?;
    let arch = gguf.architecture()?;
    Architecture::from_gguf(arch)?;
    let heads = |key: &str| {
        gguf.meta(&format!("{arch}.{key}"))
            .and_then(|v| v.as_u64())
            .map(|v| v as usize)
    };
    let (n_heads, n_kv_heads) = (
        heads("attention.head_count"),
        heads("attention.head_count_kv"),
    );
    let permuted = permutes_qk(arch);
    let unpermute = |tensor: &str| {
        if !permuted {
            return None;
        }
        if tensor.contains(".self_attn.q_proj.") {
            n_heads
        } else if tensor.contains(".self_attn.k_proj.") {
            n_kv_heads.or(n_heads)
        } else {
            None
        }
    };
    let rename = |tensor: &str| hf_tensor_name(arch, tensor);
    let checkpoint = Checkpoint::from_gguf(files, name, &gguf, rename, unpermute)?;
    let (_, embedding_shape) = checkpoint.meta("model.embed_tokens.weight")?;
    let vocab = embedding_shape[0];
    let tied = !checkpoint.contains("lm_head.weight");
    let factors = |name: &str| -> Result<Option<Vec<f32>>> {
        if !checkpoint.contains(name) {
            return Ok(None);
        }
        let shape = checkpoint.meta(name)?.1.to_vec();
        Ok(Some(checkpoint.tensor(name, &shape)?.view().to_f32()))
    };
    let rope = RopeTensors {
        freqs: factors("rope_freqs.weight")?,
        short: factors("rope_factors_short.weight")?,
        long: factors("rope_factors_long.weight")?,
    };
    let config = DecoderConfig::from_gguf(&gguf, vocab, tied, rope)?;
    let tokenizer = if files.exists("tokenizer.json") {
        read_tokenizer_json(files)?
    } else {
        tokenizer_from_gguf(&vocab_from_gguf(&gguf)?)?
    };
    let eos_ids = config.eos_token_ids.clone();
    Ok(ModelParts {
        config,
        tokenizer,
        eos_ids,
        checkpoint,
        format: "gguf",
    })
}

/// Fails before any allocation when a checkpoint tensor exceeds what the adapter can bind.
pub(crate) fn check_tensors_fit(gpu: &Gpu, checkpoint: &Checkpoint<'_>) -> Result<()> {
    let max = gpu.max_buffer_bytes();
    match checkpoint.sizes().find(|&(_, bytes)| bytes > max) {
        Some((name, bytes)) => Err(Error::DeviceLimit(format!(
            "tensor `{name}` is {bytes} bytes; the adapter binds at most {max} bytes per buffer"
        ))),
        None => Ok(()),
    }
}

/// Fails before any allocation when a tensor or a layer's KV cache exceeds what the adapter can
/// bind.
fn check_fits(
    gpu: &Gpu,
    checkpoint: &Checkpoint<'_>,
    config: &DecoderConfig,
    context: usize,
) -> Result<()> {
    check_tensors_fit(gpu, checkpoint)?;
    let max = gpu.max_buffer_bytes();
    let kv_bytes = (context * config.kv_dim() * 4) as u64;
    if kv_bytes > max {
        return Err(Error::DeviceLimit(format!(
            "a {context}-token KV cache needs {kv_bytes} bytes per layer; the adapter binds at most {max} bytes per buffer (ask for a shorter context)"
        )));
    }
    Ok(())
}

async fn logits_of<B: Backend>(
    m: &mut Loaded<B>,
    ids: &[u32],
    all: bool,
    chunk_len: usize,
) -> Result<Vec<Vec<f32>>> {
    let mut rows = Vec::new();
    let mut start = 0;
    for chunk in ids.chunks(chunk_len) {
        let is_last = start + chunk.len() == ids.len();
        let logits = m.model.forward(&mut m.backend, chunk, start, all)?;
        if all || is_last {
            let (n, vocab) = m.backend.shape(&logits);
            let values = m.backend.read(&logits).await?;
            rows.extend((0..n).map(|r| values[r * vocab..(r + 1) * vocab].to_vec()));
        }
        start += chunk.len();
    }
    Ok(rows)
}

/// One generation request in flight.
struct Job<'a> {
    tokenizer: &'a Tokenizer,
    eos_ids: &'a [u32],
    prefill_chunk: usize,
    yield_hook: Option<&'a YieldHook>,
    request: &'a GenerateRequest,
    cached: &'a mut Vec<u32>,
    started: Instant,
}

/// Length of the longest suffix of `text` that is a proper prefix of some stop string.
fn held_back(text: &str, stop: &[String]) -> usize {
    stop.iter()
        .flat_map(|s| {
            (1..s.len())
                .rev()
                .filter(|&n| s.is_char_boundary(n) && text.ends_with(&s[..n]))
                .take(1)
        })
        .max()
        .unwrap_or(0)
}

impl Job<'_> {
    async fn run<B: Backend>(
        &mut self,
        m: &mut Loaded<B>,
        prompt: &[u32],
        sampler: &mut Sampler,
        on_token: &mut dyn FnMut(u32, &str) -> bool,
    ) -> Result<Generation> {
        let context = m.model.context();
        // Reuse the cached prefix, but always run at least the last prompt token for its logits.
        let reuse = self
            .cached
            .iter()
            .zip(prompt)
            .take_while(|(a, b)| a == b)
            .count()
            .min(prompt.len() - 1);
        self.cached.truncate(reuse);
        let mut logits = None;
        for chunk in prompt[reuse..].chunks(self.prefill_chunk) {
            let start = self.cached.len();
            logits = Some(m.model.forward(&mut m.backend, chunk, start, false)?);
            self.cached.extend_from_slice(chunk);
        }
        let mut logits = logits.expect("the prompt has at least one token to run");
        let params = sampler.params().clone();
        let mut history: Vec<u32> = prompt.to_vec();
        let mut timings = Timings {
            prefill_tokens: prompt.len() - reuse,
            ..Default::default()
        };
        let mut decode_started = None;
        let mut stream = self.tokenizer.decode_stream(true);
        let mut ids = Vec::new();
        let mut text = String::new();
        let mut emitted = 0;
        let mut finish = FinishReason::Length;
        while ids.len() < self.request.max_tokens {
            if params.repetition_penalty != 1.0 {
                m.backend
                    .repetition_penalty(&mut logits, &history, params.repetition_penalty)?;
            }
            let token = if params.is_greedy() {
                m.backend.argmax(&logits).await?
            } else {
                let candidates = match params.device_top_k() {
                    Some(k) => m.backend.top_k(&logits, k).await?,
                    None => sorted_candidates(&m.backend.read(&logits).await?),
                };
                sampler.sample(&candidates)?
            };
            if decode_started.is_none() {
                let elapsed = self.started.elapsed().as_secs_f64();
                timings.first_token_s = elapsed;
                timings.prefill_s = elapsed;
                decode_started = Some(Instant::now());
            }
            if self.eos_ids.contains(&token) {
                finish = FinishReason::Stop;
                break;
            }
            ids.push(token);
            history.push(token);
            if let Some(piece) = stream.step(token)? {
                text.push_str(&piece);
            }
            let stop_at = self
                .request
                .stop
                .iter()
                .filter(|s| !s.is_empty())
                .filter_map(|s| text.find(s.as_str()))
                .min();
            if let Some(at) = stop_at {
                text.truncate(at.max(emitted));
                on_token(token, &text[emitted..]);
                emitted = text.len();
                finish = FinishReason::Stop;
                break;
            }
            let last = ids.len() == self.request.max_tokens || self.cached.len() >= context;
            // Text that may be the start of a stop string waits, unless nothing can follow it.
            let safe = if last {
                text.len()
            } else {
                text.len() - held_back(&text, &self.request.stop)
            };
            let keep_going = on_token(token, &text[emitted..safe.max(emitted)]);
            emitted = safe.max(emitted);
            if let Some(hook) = self.yield_hook {
                hook().await;
            }
            if !keep_going {
                return Err(Error::Aborted);
            }
            if last {
                break;
            }
            let position = self.cached.len();
            logits = m.model.forward(&mut m.backend, &[token], position, false)?;
            self.cached.push(token);
        }
        if let (Some(&last_id), true) = (ids.last(), emitted < text.len()) {
            // An end-of-sequence token ended generation while text was held back.
            on_token(last_id, &text[emitted..]);
        }
        if let Some(started) = decode_started {
            timings.decode_s = started.elapsed().as_secs_f64();
            timings.decode_tokens = ids.len().saturating_sub(1);
        }
        Ok(Generation {
            ids,
            text,
            prompt_tokens: prompt.len(),
            finish_reason: finish,
            timings,
        })
    }
}
