//! `config.json` of a Llama-family checkpoint, accepting both the transformers 4 keys
//! (`rope_theta`, `rope_scaling`, `torch_dtype`) and the transformers 5 keys (`rope_parameters`,
//! `dtype`).

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::formats::gguf::{Gguf, MetaValue};

/// The architectures one Llama-family implementation covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    Llama,
    Mistral,
    Qwen2,
    Qwen3,
}

impl Architecture {
    fn from_name(name: &str) -> Result<Self> {
        match name {
            "LlamaForCausalLM" => Ok(Self::Llama),
            "MistralForCausalLM" => Ok(Self::Mistral),
            "Qwen2ForCausalLM" => Ok(Self::Qwen2),
            "Qwen3ForCausalLM" => Ok(Self::Qwen3),
            other => Err(Error::UnsupportedArchitecture(other.to_string())),
        }
    }

    /// llama.cpp's `general.architecture` names (Mistral models are `llama` there).
    pub fn from_gguf(name: &str) -> Result<Self> {
        match name {
            "llama" => Ok(Self::Llama),
            "qwen2" => Ok(Self::Qwen2),
            "qwen3" => Ok(Self::Qwen3),
            other => Err(Error::UnsupportedArchitecture(format!(
                "{other} (GGUF; supported there: llama, qwen2, qwen3)"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Llama => "LlamaForCausalLM",
            Self::Mistral => "MistralForCausalLM",
            Self::Qwen2 => "Qwen2ForCausalLM",
            Self::Qwen3 => "Qwen3ForCausalLM",
        }
    }
}

/// How rotary frequencies are scaled for long contexts.
#[derive(Debug, Clone, PartialEq)]
pub enum RopeScaling {
    None,
    /// Positions divided by `factor`.
    Linear {
        factor: f32,
    },
    /// Llama 3.1's frequency-dependent scaling.
    Llama3 {
        factor: f32,
        low_freq_factor: f32,
        high_freq_factor: f32,
        original_max_position_embeddings: f32,
    },
    /// Per-frequency divisors, as GGUF files store Llama 3.1's scaling (`rope_freqs.weight`).
    FreqFactors(Vec<f32>),
}

/// Everything the forward pass needs, resolved from `config.json`.
#[derive(Debug, Clone)]
pub struct LlamaConfig {
    pub architecture: Architecture,
    pub hidden: usize,
    pub intermediate: usize,
    pub n_layers: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    pub vocab: usize,
    pub rms_norm_eps: f32,
    pub rope_theta: f32,
    pub rope_scaling: RopeScaling,
    pub max_position_embeddings: usize,
    pub sliding_window: Option<usize>,
    pub tie_word_embeddings: bool,
    pub bos_token_id: Option<u32>,
    pub eos_token_ids: Vec<u32>,
    /// The dtype the checkpoint declares (informational; tensors carry their own).
    pub declared_dtype: Option<String>,
}

#[derive(Deserialize)]
struct RawConfig {
    #[serde(default)]
    architectures: Vec<String>,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    vocab_size: usize,
    #[serde(default = "default_eps")]
    rms_norm_eps: f32,
    rope_theta: Option<f32>,
    rope_scaling: Option<Value>,
    rope_parameters: Option<Value>,
    #[serde(default = "default_max_positions")]
    max_position_embeddings: usize,
    sliding_window: Option<usize>,
    use_sliding_window: Option<bool>,
    tie_word_embeddings: Option<bool>,
    bos_token_id: Option<Value>,
    eos_token_id: Option<Value>,
    torch_dtype: Option<String>,
    dtype: Option<String>,
    hidden_act: Option<String>,
}

fn default_eps() -> f32 {
    1e-6
}

fn default_max_positions() -> usize {
    2048
}

/// Token ids appear as a number, a list of numbers or null.
pub(crate) fn token_ids(value: Option<&Value>) -> Vec<u32> {
    match value {
        Some(Value::Number(n)) => n.as_u64().map(|id| vec![id as u32]).unwrap_or_default(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_u64().map(|id| id as u32))
            .collect(),
        _ => Vec::new(),
    }
}

fn number(object: &Value, key: &str) -> Option<f32> {
    object.get(key).and_then(Value::as_f64).map(|v| v as f32)
}

fn parse_rope(raw: &RawConfig) -> Result<(f32, RopeScaling)> {
    // transformers 5 folds theta and scaling into `rope_parameters`; older configs split them.
    let params = raw.rope_parameters.as_ref().filter(|v| v.is_object());
    let scaling = raw
        .rope_scaling
        .as_ref()
        .filter(|v| v.is_object())
        .or(params);
    let theta = raw
        .rope_theta
        .or_else(|| params.and_then(|p| number(p, "rope_theta")))
        .unwrap_or(10_000.0);
    let Some(scaling) = scaling else {
        return Ok((theta, RopeScaling::None));
    };
    let kind = scaling
        .get("rope_type")
        .or_else(|| scaling.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("default");
    let factor = || {
        number(scaling, "factor")
            .ok_or_else(|| Error::Config(format!("rope scaling `{kind}` needs a `factor`")))
    };
    let scaling = match kind {
        "default" => RopeScaling::None,
        "linear" => RopeScaling::Linear { factor: factor()? },
        "llama3" => RopeScaling::Llama3 {
            factor: factor()?,
            low_freq_factor: number(scaling, "low_freq_factor").unwrap_or(1.0),
            high_freq_factor: number(scaling, "high_freq_factor").unwrap_or(4.0),
            original_max_position_embeddings: number(scaling, "original_max_position_embeddings")
                .unwrap_or(8192.0),
        },
        other => {
            return Err(Error::Config(format!(
                "unsupported rope scaling type `{other}` (supported: default, linear, llama3)"
            )))
        }
    };
    Ok((theta, scaling))
}

impl LlamaConfig {
    pub fn from_json(text: &str) -> Result<Self> {
        let raw: RawConfig =
            serde_json::from_str(text).map_err(|e| Error::json("config.json", e))?;
        let arch_name = raw
            .architectures
            .first()
            .ok_or_else(|| Error::Config("no `architectures` entry".into()))?;
        let architecture = Architecture::from_name(arch_name)?;
        if let Some(act) = raw.hidden_act.as_deref() {
            if act != "silu" {
                return Err(Error::Config(format!(
                    "unsupported hidden_act `{act}` (supported: silu)"
                )));
            }
        }
        if raw.num_attention_heads == 0 || raw.hidden_size == 0 || raw.num_hidden_layers == 0 {
            return Err(Error::Config("sizes must be positive".into()));
        }
        let n_kv_heads = raw.num_key_value_heads.unwrap_or(raw.num_attention_heads);
        if n_kv_heads == 0 || !raw.num_attention_heads.is_multiple_of(n_kv_heads) {
            return Err(Error::Config(format!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {n_kv_heads}",
                raw.num_attention_heads
            )));
        }
        let head_dim = raw
            .head_dim
            .unwrap_or(raw.hidden_size / raw.num_attention_heads);
        if head_dim == 0 || !head_dim.is_multiple_of(2) {
            return Err(Error::Config(format!("head_dim {head_dim} must be even")));
        }
        let (rope_theta, rope_scaling) = parse_rope(&raw)?;
        // Qwen2 declares a window but only uses it when `use_sliding_window` is set.
        let sliding_window = match architecture {
            Architecture::Qwen2 | Architecture::Qwen3 => raw
                .sliding_window
                .filter(|_| raw.use_sliding_window.unwrap_or(false)),
            _ => raw.sliding_window,
        };
        Ok(Self {
            architecture,
            hidden: raw.hidden_size,
            intermediate: raw.intermediate_size,
            n_layers: raw.num_hidden_layers,
            n_heads: raw.num_attention_heads,
            n_kv_heads,
            head_dim,
            vocab: raw.vocab_size,
            rms_norm_eps: raw.rms_norm_eps,
            rope_theta,
            rope_scaling,
            max_position_embeddings: raw.max_position_embeddings,
            sliding_window,
            tie_word_embeddings: raw.tie_word_embeddings.unwrap_or(false),
            bos_token_id: token_ids(raw.bos_token_id.as_ref()).first().copied(),
            eos_token_ids: token_ids(raw.eos_token_id.as_ref()),
            declared_dtype: raw.dtype.or(raw.torch_dtype),
        })
    }

    /// The config of a GGUF file of architecture `llama`, `qwen2` or `qwen3`, from llama.cpp's
    /// metadata keys. `vocab` and `tied` come from the tensors (`token_embd`, `output`), and
    /// `rope_freqs` is the `rope_freqs.weight` tensor when the file has one.
    pub fn from_gguf(
        gguf: &Gguf,
        vocab: usize,
        tied: bool,
        rope_freqs: Option<Vec<f32>>,
    ) -> Result<Self> {
        let arch = gguf.architecture()?;
        let architecture = Architecture::from_gguf(arch)?;
        let key = |name: &str| format!("{arch}.{name}");
        let size = |name: &str| -> Result<usize> {
            let value = gguf.require_u64(&key(name))?;
            usize::try_from(value)
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| gguf.error(format!("`{}` is {value}", key(name))))
        };
        let optional_size = |name: &str| -> Result<Option<usize>> {
            match gguf.meta(&key(name)) {
                None => Ok(None),
                Some(value) => match value.as_u64().and_then(|v| usize::try_from(v).ok()) {
                    Some(v) if v > 0 => Ok(Some(v)),
                    // llama.cpp allows per-layer lists; one value for all layers is what we run.
                    _ => Err(gguf.error(format!(
                        "`{}` must be one positive integer, found {value:?}",
                        key(name)
                    ))),
                },
            }
        };
        let number = |name: &str| gguf.meta(&key(name)).and_then(MetaValue::as_f32);
        let hidden = size("embedding_length")?;
        let n_heads = size("attention.head_count")?;
        let n_kv_heads = optional_size("attention.head_count_kv")?.unwrap_or(n_heads);
        if !n_heads.is_multiple_of(n_kv_heads) {
            return Err(gguf.error(format!(
                "{n_heads} attention heads are not a multiple of {n_kv_heads} KV heads"
            )));
        }
        let head_dim = optional_size("attention.key_length")?.unwrap_or(hidden / n_heads);
        let value_dim = optional_size("attention.value_length")?.unwrap_or(head_dim);
        let rotary_dim = optional_size("rope.dimension_count")?.unwrap_or(head_dim);
        if value_dim != head_dim || rotary_dim != head_dim || !head_dim.is_multiple_of(2) {
            return Err(gguf.error(format!(
                "key length {head_dim}, value length {value_dim} and rotary dimensions {rotary_dim} must be equal and even"
            )));
        }
        let rope_scaling = match (gguf.meta(&key("rope.scaling.type")), rope_freqs) {
            (_, Some(factors)) => {
                if factors.len() != head_dim / 2 || factors.iter().any(|f| f.is_nan() || *f <= 0.0) {
                    return Err(gguf.error(format!(
                        "rope_freqs has {} positive factors, expected {}",
                        factors.len(),
                        head_dim / 2
                    )));
                }
                RopeScaling::FreqFactors(factors)
            }
            (None, None) => RopeScaling::None,
            (Some(kind), None) => match kind.as_str() {
                Some("none") => RopeScaling::None,
                Some("linear") => RopeScaling::Linear {
                    factor: number("rope.scaling.factor")
                        .filter(|&f| f > 0.0)
                        .ok_or_else(|| gguf.error("linear rope scaling needs a factor"))?,
                },
                _ => {
                    return Err(gguf.error(format!(
                        "unsupported rope scaling {kind:?} (supported: none, linear, llama3 frequency factors)"
                    )))
                }
            },
        };
        let token = |name: &str| {
            gguf.meta(&format!("tokenizer.ggml.{name}"))
                .and_then(MetaValue::as_u64)
                .map(|id| id as u32)
        };
        let eos_token_ids = ["eos_token_id", "eot_token_id", "eom_token_id"]
            .iter()
            .filter_map(|name| token(name))
            .collect();
        Ok(Self {
            architecture,
            hidden,
            intermediate: size("feed_forward_length")?,
            n_layers: size("block_count")?,
            n_heads,
            n_kv_heads,
            head_dim,
            vocab,
            rms_norm_eps: number("attention.layer_norm_rms_epsilon").unwrap_or(1e-5),
            rope_theta: number("rope.freq_base").unwrap_or(10_000.0),
            rope_scaling,
            max_position_embeddings: size("context_length")?,
            sliding_window: None,
            tie_word_embeddings: tied,
            bos_token_id: token("bos_token_id"),
            eos_token_ids,
            declared_dtype: None,
        })
    }

    /// Width of the query projection output.
    pub fn q_dim(&self) -> usize {
        self.n_heads * self.head_dim
    }

    /// Width of each of the key and value projection outputs.
    pub fn kv_dim(&self) -> usize {
        self.n_kv_heads * self.head_dim
    }

    /// Rotary inverse frequencies, one per pair of dimensions, with any scaling applied.
    pub fn rope_inv_freq(&self) -> Vec<f32> {
        let half = self.head_dim / 2;
        (0..half)
            .map(|i| {
                let exponent = (2 * i) as f64 / self.head_dim as f64;
                let inv_freq = 1.0 / (self.rope_theta as f64).powf(exponent);
                match &self.rope_scaling {
                    RopeScaling::FreqFactors(factors) => (inv_freq / factors[i] as f64) as f32,
                    scaling => scale_frequency(inv_freq, scaling) as f32,
                }
            })
            .collect()
    }

    /// The longest context this model can attend over without a sliding-window mask.
    pub fn max_context(&self) -> usize {
        match self.sliding_window {
            Some(window) => window.min(self.max_position_embeddings),
            None => self.max_position_embeddings,
        }
    }
}

fn scale_frequency(inv_freq: f64, scaling: &RopeScaling) -> f64 {
    match *scaling {
        RopeScaling::None | RopeScaling::FreqFactors(_) => inv_freq,
        RopeScaling::Linear { factor } => inv_freq / factor as f64,
        RopeScaling::Llama3 {
            factor,
            low_freq_factor,
            high_freq_factor,
            original_max_position_embeddings,
        } => {
            let (factor, low, high, original) = (
                factor as f64,
                low_freq_factor as f64,
                high_freq_factor as f64,
                original_max_position_embeddings as f64,
            );
            let wavelen = 2.0 * std::f64::consts::PI / inv_freq;
            let low_freq_wavelen = original / low;
            let high_freq_wavelen = original / high;
            if wavelen < high_freq_wavelen {
                inv_freq
            } else if wavelen > low_freq_wavelen {
                inv_freq / factor
            } else {
                let smooth = (original / wavelen - low) / (high - low);
                (1.0 - smooth) * inv_freq / factor + smooth * inv_freq
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#""hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "vocab_size": 100"#;

    #[test]
    fn reads_old_and_new_rope_keys() {
        let old = format!(
            r#"{{"architectures": ["LlamaForCausalLM"], {BASE}, "rope_theta": 500000.0,
            "rope_scaling": {{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}},
            "torch_dtype": "bfloat16"}}"#
        );
        let new = format!(
            r#"{{"architectures": ["LlamaForCausalLM"], {BASE}, "rope_parameters":
            {{"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}, "dtype": "bfloat16"}}"#
        );
        let old = LlamaConfig::from_json(&old).unwrap();
        let new = LlamaConfig::from_json(&new).unwrap();
        assert_eq!(old.rope_theta, 500000.0);
        assert_eq!(new.rope_theta, 500000.0);
        assert_eq!(old.rope_scaling, new.rope_scaling);
        assert_eq!(old.declared_dtype.as_deref(), Some("bfloat16"));
        assert_eq!(new.declared_dtype.as_deref(), Some("bfloat16"));
        assert_eq!(old.rope_inv_freq(), new.rope_inv_freq());
        assert_eq!(old.head_dim, 16);
        assert_eq!(old.n_kv_heads, 4);
    }

    #[test]
    fn rejects_unknown_architecture_by_name() {
        let text = format!(r#"{{"architectures": ["GPT2LMHeadModel"], {BASE}}}"#);
        let err = LlamaConfig::from_json(&text).unwrap_err();
        assert!(err.to_string().contains("GPT2LMHeadModel"), "{err}");
    }

    #[test]
    fn rejects_unknown_rope_type() {
        let text = format!(
            r#"{{"architectures": ["LlamaForCausalLM"], {BASE}, "rope_scaling": {{"type": "yarn", "factor": 4.0}}}}"#
        );
        let err = LlamaConfig::from_json(&text).unwrap_err();
        assert!(err.to_string().contains("yarn"), "{err}");
    }
}
