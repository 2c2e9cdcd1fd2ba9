//! Sentence embeddings from BERT checkpoints, as sentence-transformers computes them: WordPiece
//! tokens truncated to `max_seq_length` (special tokens included), a padded batch through the
//! encoder, pooling over each text's real tokens, and L2 normalization when `modules.json`
//! lists a `Normalize` module. A plain `BertModel` folder (no sentence-transformers files)
//! gets mean pooling and normalization.

use serde_json::Value;

#[cfg(feature = "cpu")]
use crate::backends::cpu::Cpu;
use crate::backends::gpu::{Gpu, GpuOptions};
use crate::backends::ops::Backend;
use crate::engine::{check_tensors_fit, DeviceKind};
use crate::error::{Error, Result};
use crate::formats::weights::{Checkpoint, DType, ModelFiles};
use crate::models::bert::{is_bert_config, Batch, Bert, BertConfig};
use crate::text::tokenizer::Tokenizer;

/// How token vectors become one text vector. Several modes concatenate, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// The first token (`[CLS]`).
    Cls,
    /// Elementwise maximum over the real tokens.
    Max,
    /// Mean over the real tokens.
    Mean,
    /// Sum over the real tokens divided by the square root of their number.
    MeanSqrtLen,
    /// The last real token.
    LastToken,
}

impl Pooling {
    pub fn name(self) -> &'static str {
        match self {
            Pooling::Cls => "cls",
            Pooling::Max => "max",
            Pooling::Mean => "mean",
            Pooling::MeanSqrtLen => "mean_sqrt_len",
            Pooling::LastToken => "lasttoken",
        }
    }
}

#[derive(Debug, Clone)]
pub struct EmbedOptions {
    pub device: DeviceKind,
    pub gpu: GpuOptions,
    /// Texts per forward pass at most (fewer when long texts would need too much memory).
    pub max_batch: usize,
    /// Quantize float weight matrices to this type (Q8_0 or Q4_0) while loading.
    pub quantize: Option<DType>,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        Self {
            device: DeviceKind::Gpu,
            gpu: GpuOptions::default(),
            max_batch: 32,
            quantize: None,
        }
    }
}

/// What `hearth info` and `engine.info()` report about an embedding model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EmbedderInfo {
    pub architecture: String,
    pub parameters: u64,
    pub dtypes: Vec<String>,
    pub backend: String,
    pub adapter: String,
    /// Length of each embedding.
    pub dimensions: usize,
    pub max_seq_length: usize,
    pub pooling: Vec<String>,
    pub normalize: bool,
    pub weights_bytes: u64,
    pub layers: usize,
    pub hidden: usize,
    pub heads: usize,
    pub vocab: usize,
}

struct Loaded<B: Backend> {
    backend: B,
    bert: Bert<B>,
}

enum Model {
    Gpu(Box<Loaded<Gpu>>),
    #[cfg(feature = "cpu")]
    Cpu(Box<Loaded<Cpu>>),
}

pub struct Embedder {
    model: Model,
    tokenizer: Tokenizer,
    pooling: Vec<Pooling>,
    normalize: bool,
    max_seq_length: usize,
    /// `do_lower_case` of `sentence_bert_config.json`: texts are lowercased before tokenizing.
    lowercase: bool,
    max_batch: usize,
    /// Columns of the widest activation (the intermediate layer's).
    widest: usize,
    pad_id: u32,
    info: EmbedderInfo,
}

/// Bytes of attention scores one batch may use (`batch * heads * seq^2 * 4`; the CPU backend
/// stores them, the GPU kernel does not).
const SCORES_BUDGET: usize = 64 << 20;

/// Bytes the largest activation of one batch may use (`batch * seq * intermediate * 4`), well
/// inside browsers' default 128 MiB storage-binding limit.
const ACTIVATION_BUDGET: usize = 64 << 20;

/// Whether the folder holds a model [`Embedder`] loads (a BERT `config.json`).
pub fn is_embedding_model(files: &dyn ModelFiles) -> Result<bool> {
    Ok(files
        .read_json_optional("config.json")?
        .is_some_and(|c| is_bert_config(&c)))
}

/// The pooling modes of a sentence-transformers `Pooling` module's config.
fn pooling_modes(config: &Value, file: &str) -> Result<Vec<Pooling>> {
    let flag = |key: &str| config.get(key).and_then(Value::as_bool) == Some(true);
    if flag("pooling_mode_weightedmean_tokens") {
        return Err(Error::UnsupportedArchitecture(format!(
            "weighted-mean pooling ({file})"
        )));
    }
    let mut modes: Vec<Pooling> = [
        ("pooling_mode_cls_token", Pooling::Cls),
        ("pooling_mode_max_tokens", Pooling::Max),
        ("pooling_mode_mean_tokens", Pooling::Mean),
        ("pooling_mode_mean_sqrt_len_tokens", Pooling::MeanSqrtLen),
        ("pooling_mode_lasttoken", Pooling::LastToken),
    ]
    .into_iter()
    .filter(|(key, _)| flag(key))
    .map(|(_, mode)| mode)
    .collect();
    if modes.is_empty() {
        let mode = config.get("pooling_mode").and_then(Value::as_str);
        modes.push(match mode {
            Some("cls") => Pooling::Cls,
            Some("max") => Pooling::Max,
            Some("mean") | None => Pooling::Mean,
            Some("mean_sqrt_len_tokens") => Pooling::MeanSqrtLen,
            Some("lasttoken") => Pooling::LastToken,
            Some(other) => {
                return Err(Error::UnsupportedArchitecture(format!(
                    "pooling mode `{other}` ({file})"
                )))
            }
        });
    }
    Ok(modes)
}

/// (pooling, normalize) from `modules.json` and the Pooling module's config; mean pooling and
/// normalization for a plain model folder.
fn pipeline(files: &dyn ModelFiles) -> Result<(Vec<Pooling>, bool)> {
    let Some(modules) = files.read_json_optional("modules.json")? else {
        return Ok((vec![Pooling::Mean], true));
    };
    let modules = modules
        .as_array()
        .ok_or_else(|| Error::json(files.describe("modules.json"), "expected a list of modules"))?;
    let mut pooling = None;
    let mut normalize = false;
    for module in modules {
        let kind = module.get("type").and_then(Value::as_str).unwrap_or("");
        let path = module.get("path").and_then(Value::as_str).unwrap_or("");
        let kind_name = kind.rsplit('.').next().unwrap_or(kind);
        match kind_name {
            "Transformer" if path.is_empty() => {}
            "Pooling" => {
                let name = if path.is_empty() {
                    "config.json".to_string()
                } else {
                    format!("{path}/config.json")
                };
                if path.contains("..") || path.starts_with('/') {
                    return Err(Error::json(
                        files.describe("modules.json"),
                        format!("module path `{path}` leaves the model folder"),
                    ));
                }
                let config = files.read_json_optional(&name)?.unwrap_or(Value::Null);
                pooling = Some(pooling_modes(&config, &files.describe(&name))?);
            }
            "Normalize" => normalize = true,
            _ => {
                return Err(Error::UnsupportedArchitecture(format!(
                    "sentence-transformers module `{kind}` at `{path}` (modules.json)"
                )))
            }
        }
    }
    let pooling = pooling.ok_or_else(|| {
        Error::UnsupportedArchitecture("a modules.json without a Pooling module".into())
    })?;
    Ok((pooling, normalize))
}

/// (longest input in tokens, lowercase): `max_seq_length` of `sentence_bert_config.json`, else
/// the tokenizer's `model_max_length`, never past the position embeddings; and its
/// `do_lower_case`.
fn input_settings(files: &dyn ModelFiles, config: &BertConfig) -> Result<(usize, bool)> {
    let sentence = files.read_json_optional("sentence_bert_config.json")?;
    let tokenizer = files.read_json_optional("tokenizer_config.json")?;
    let number = |value: &Option<Value>, key: &str| {
        value
            .as_ref()
            .and_then(|v| v.get(key).and_then(Value::as_u64))
            .map(|n| n as usize)
    };
    let limit = config.max_position_embeddings;
    let max_seq_length = number(&sentence, "max_seq_length")
        .or(number(&tokenizer, "model_max_length"))
        .unwrap_or(limit)
        .min(limit);
    let lowercase = sentence
        .as_ref()
        .and_then(|v| v.get("do_lower_case").and_then(Value::as_bool))
        .unwrap_or(false);
    Ok((max_seq_length, lowercase))
}

impl Embedder {
    /// Loads a BERT folder (sentence-transformers layout or plain) onto `device`.
    pub async fn load(files: &dyn ModelFiles, device: DeviceKind) -> Result<Self> {
        let options = EmbedOptions {
            device,
            ..Default::default()
        };
        Self::load_with(files, &options).await
    }

    pub async fn load_with(files: &dyn ModelFiles, options: &EmbedOptions) -> Result<Self> {
        let config =
            BertConfig::from_json(&files.read_text("config.json")?).map_err(|e| match e {
                Error::Json { message, .. } => Error::json(files.describe("config.json"), message),
                other => other,
            })?;
        let (pooling, normalize) = pipeline(files)?;
        let (max_seq_length, lowercase) = input_settings(files, &config)?;
        let tokenizer_config = if files.exists("tokenizer_config.json") {
            Some(files.read_text("tokenizer_config.json")?)
        } else {
            None
        };
        let tokenizer =
            Tokenizer::from_bytes(&files.read("tokenizer.json")?, tokenizer_config.as_deref())
                .and_then(|mut t| t.truncate_to(max_seq_length).map(|()| t))
                .map_err(|e| {
                    Error::Tokenizer(format!("{}: {e}", files.describe("tokenizer.json")))
                })?;
        let pad_id = config
            .pad_token_id
            .or_else(|| tokenizer.token_to_id("[PAD]"))
            .unwrap_or(0)
            .min(config.vocab_size as u32 - 1);

        let mut checkpoint = Checkpoint::open(files)?;
        if let Some(dtype) = options.quantize {
            checkpoint.quantize_to(dtype)?;
        }
        let parameters = checkpoint.parameter_count();
        let dtypes = checkpoint.dtype_names();
        let model = match options.device {
            DeviceKind::Gpu => {
                let mut backend = Gpu::new(&options.gpu).await?;
                check_tensors_fit(&backend, &checkpoint)?;
                let bert = Bert::load(&mut backend, config.clone(), &checkpoint)?;
                Model::Gpu(Box::new(Loaded { backend, bert }))
            }
            #[cfg(not(feature = "cpu"))]
            DeviceKind::Cpu => return Err(crate::engine::no_cpu_backend()),
            #[cfg(feature = "cpu")]
            DeviceKind::Cpu => {
                let mut backend = Cpu::new();
                let bert = Bert::load(&mut backend, config.clone(), &checkpoint)?;
                Model::Cpu(Box::new(Loaded { backend, bert }))
            }
        };
        let (backend, adapter, memory) = match &model {
            Model::Gpu(m) => ("webgpu", m.backend.device_name(), m.backend.memory()),
            #[cfg(feature = "cpu")]
            Model::Cpu(m) => ("cpu", m.backend.device_name(), m.backend.memory()),
        };
        let info = EmbedderInfo {
            architecture: config.architecture().to_string(),
            parameters,
            dtypes,
            backend: backend.to_string(),
            adapter,
            dimensions: config.hidden_size * pooling.len(),
            max_seq_length,
            pooling: pooling.iter().map(|p| p.name().to_string()).collect(),
            normalize,
            weights_bytes: memory.weights,
            layers: config.num_hidden_layers,
            hidden: config.hidden_size,
            heads: config.num_attention_heads,
            vocab: config.vocab_size,
        };
        Ok(Self {
            model,
            tokenizer,
            pooling,
            normalize,
            max_seq_length,
            lowercase,
            max_batch: options.max_batch.max(1),
            widest: config.intermediate_size.max(config.hidden_size),
            pad_id,
            info,
        })
    }

    pub fn info(&self) -> &EmbedderInfo {
        &self.info
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Token ids of `text` as the model sees it: special tokens added, truncated to
    /// `max_seq_length`.
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self.encode(text)?.0)
    }

    /// (ids, token type ids) of `text`.
    fn encode(&self, text: &str) -> Result<(Vec<u32>, Vec<u32>)> {
        if self.lowercase {
            self.tokenizer.encode_with_type_ids(&text.to_lowercase())
        } else {
            self.tokenizer.encode_with_type_ids(text)
        }
    }

    /// One embedding per text, in the order of `texts`.
    pub async fn embed(&mut self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let encoded = texts
            .iter()
            .map(|t| self.encode(t))
            .collect::<Result<Vec<_>>>()?;
        self.embed_encoded(&encoded).await
    }

    /// One embedding per sequence of token ids (special tokens included, token type 0).
    pub async fn embed_ids(&mut self, ids: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let encoded: Vec<(Vec<u32>, Vec<u32>)> = ids
            .iter()
            .map(|ids| (ids.clone(), vec![0; ids.len()]))
            .collect();
        self.embed_encoded(&encoded).await
    }

    /// (ids, token type ids) per text -> one embedding per text.
    async fn embed_encoded(&mut self, encoded: &[(Vec<u32>, Vec<u32>)]) -> Result<Vec<Vec<f32>>> {
        let limit = self.max_seq_length;
        for (ids, types) in encoded {
            if ids.is_empty() {
                return Err(Error::EmptyPrompt);
            }
            if ids.len() > limit {
                return Err(Error::ContextOverflow {
                    prompt: ids.len(),
                    context: limit,
                });
            }
            if types.len() != ids.len() {
                return Err(Error::InvalidArgument(
                    "token type ids and ids differ in length".into(),
                ));
            }
        }
        // Longest first, so each batch pads to little more than its own lengths.
        let mut order: Vec<usize> = (0..encoded.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(encoded[i].0.len()));
        let mut out = vec![Vec::new(); encoded.len()];
        let mut start = 0;
        while start < order.len() {
            let seq = encoded[order[start]].0.len();
            let scores = self.info.heads * seq * seq * 4;
            let activation = seq * self.widest * 4;
            let fit = (SCORES_BUDGET / scores.max(1)).min(ACTIVATION_BUDGET / activation.max(1));
            let cap = self.max_batch.min(fit.max(1));
            // A text less than half as long as the batch's longest starts a new batch, so
            // padding at most doubles the work.
            let mut end = start + 1;
            while end < order.len() && end - start < cap && 2 * encoded[order[end]].0.len() >= seq {
                end += 1;
            }
            let members = &order[start..end];
            let embeddings = self
                .embed_batch(members.iter().map(|&i| &encoded[i]), seq)
                .await?;
            for (&i, e) in members.iter().zip(embeddings) {
                out[i] = e;
            }
            start = end;
        }
        Ok(out)
    }

    /// One padded forward pass over texts of at most `seq` tokens.
    async fn embed_batch<'a>(
        &mut self,
        texts: impl Iterator<Item = &'a (Vec<u32>, Vec<u32>)>,
        seq: usize,
    ) -> Result<Vec<Vec<f32>>> {
        let (mut ids, mut types, mut lengths) = (Vec::new(), Vec::new(), Vec::new());
        for (text_ids, text_types) in texts {
            ids.extend_from_slice(text_ids);
            ids.resize(ids.len() + seq - text_ids.len(), self.pad_id);
            types.extend_from_slice(text_types);
            types.resize(ids.len(), 0);
            lengths.push(text_ids.len() as u32);
        }
        let batch = Batch {
            ids: &ids,
            token_type_ids: &types,
            lengths: &lengths,
            seq,
        };
        let hidden = match &mut self.model {
            Model::Gpu(m) => last_hidden_state(m, &batch).await?,
            #[cfg(feature = "cpu")]
            Model::Cpu(m) => last_hidden_state(m, &batch).await?,
        };
        let width = self.info.hidden;
        Ok(lengths
            .iter()
            .enumerate()
            .map(|(b, &len)| {
                let rows = &hidden[b * seq * width..(b * seq + len as usize) * width];
                let mut v = pool(rows, width, &self.pooling);
                if self.normalize {
                    normalize(&mut v);
                }
                v
            })
            .collect())
    }
}

async fn last_hidden_state<B: Backend>(m: &mut Loaded<B>, batch: &Batch<'_>) -> Result<Vec<f32>> {
    let x = m.bert.forward(&mut m.backend, batch)?;
    m.backend.read(&x).await
}

/// rows: [len, width] (the real tokens of one text) -> [width * modes.len()].
fn pool(rows: &[f32], width: usize, modes: &[Pooling]) -> Vec<f32> {
    let len = rows.len() / width;
    let row = |t: usize| &rows[t * width..(t + 1) * width];
    let sum = || {
        let mut s = vec![0.0f64; width];
        for t in 0..len {
            for (acc, &v) in s.iter_mut().zip(row(t)) {
                *acc += v as f64;
            }
        }
        s
    };
    let mut out = Vec::with_capacity(width * modes.len());
    for mode in modes {
        match mode {
            Pooling::Cls => out.extend_from_slice(row(0)),
            Pooling::LastToken => out.extend_from_slice(row(len - 1)),
            Pooling::Max => out.extend((0..width).map(|c| {
                (0..len)
                    .map(|t| row(t)[c])
                    .fold(f32::NEG_INFINITY, f32::max)
            })),
            Pooling::Mean => out.extend(sum().iter().map(|s| (s / len as f64) as f32)),
            Pooling::MeanSqrtLen => {
                out.extend(sum().iter().map(|s| (s / (len as f64).sqrt()) as f32))
            }
        }
    }
    out
}

/// `v / max(|v|, 1e-12)`, as torch's `F.normalize`.
fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
    let scale = 1.0 / norm.max(1e-12);
    for x in v {
        *x = (*x as f64 * scale) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_over_real_tokens_only() {
        // Two tokens of width 2.
        let rows = [1.0, -2.0, 3.0, 4.0];
        assert_eq!(pool(&rows, 2, &[Pooling::Cls]), vec![1.0, -2.0]);
        assert_eq!(pool(&rows, 2, &[Pooling::Max]), vec![3.0, 4.0]);
        assert_eq!(pool(&rows, 2, &[Pooling::Mean]), vec![2.0, 1.0]);
        assert_eq!(pool(&rows, 2, &[Pooling::LastToken]), vec![3.0, 4.0]);
        let both = pool(&rows, 2, &[Pooling::Cls, Pooling::Mean]);
        assert_eq!(both, vec![1.0, -2.0, 2.0, 1.0]);
        let mut v = vec![3.0, 4.0];
        normalize(&mut v);
        assert_eq!(v, vec![0.6, 0.8]);
    }

    #[test]
    fn reads_pooling_configs() {
        let config = serde_json::json!({
            "pooling_mode_cls_token": true,
            "pooling_mode_mean_tokens": false,
        });
        assert_eq!(pooling_modes(&config, "x").unwrap(), vec![Pooling::Cls]);
        let config = serde_json::json!({"pooling_mode_weightedmean_tokens": true});
        assert!(pooling_modes(&config, "x").is_err());
        assert_eq!(
            pooling_modes(&Value::Null, "x").unwrap(),
            vec![Pooling::Mean]
        );
    }
}
