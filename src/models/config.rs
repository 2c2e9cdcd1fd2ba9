//! `config.json` of a decoder checkpoint, resolved into the named variation points of the one
//! decoder ([`DecoderConfig`]). Accepts the transformers 4 keys (`rope_theta`, `rope_scaling`,
//! `torch_dtype`) and the transformers 5 keys (`rope_parameters`, `dtype`, `layer_types`).
//! GGUF metadata resolves into the same struct in `config_gguf.rs`.

use serde::Deserialize;
use serde_json::Value;

use crate::backends::ops::Activation;
use crate::error::{Error, Result};
use crate::models::rope::{longrope_attention_factor, Rope, RopeScaling};

/// The decoder families hearth runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    Llama,
    Mistral,
    Qwen2,
    Qwen3,
    Gemma,
    Gemma2,
    Gemma3,
    Olmo2,
    SmolLm3,
    Granite,
    Phi3,
    Gpt2,
}

const ARCHITECTURES: [(Architecture, &str, &str); 12] = [
    (Architecture::Llama, "LlamaForCausalLM", "llama"),
    (Architecture::Mistral, "MistralForCausalLM", "llama"),
    (Architecture::Qwen2, "Qwen2ForCausalLM", "qwen2"),
    (Architecture::Qwen3, "Qwen3ForCausalLM", "qwen3"),
    (Architecture::Gemma, "GemmaForCausalLM", "gemma"),
    (Architecture::Gemma2, "Gemma2ForCausalLM", "gemma2"),
    (Architecture::Gemma3, "Gemma3ForCausalLM", "gemma3"),
    (Architecture::Olmo2, "Olmo2ForCausalLM", "olmo2"),
    (Architecture::SmolLm3, "SmolLM3ForCausalLM", "smollm3"),
    (Architecture::Granite, "GraniteForCausalLM", "granite"),
    (Architecture::Phi3, "Phi3ForCausalLM", "phi3"),
    (Architecture::Gpt2, "GPT2LMHeadModel", "gpt2"),
];

impl Architecture {
    fn from_name(name: &str) -> Result<Self> {
        // Gemma 3's multimodal checkpoints (4B and up) hold the same text model.
        let name = match name {
            "Gemma3ForConditionalGeneration" => "Gemma3ForCausalLM",
            other => other,
        };
        ARCHITECTURES
            .iter()
            .find(|(_, hf, _)| *hf == name)
            .map(|(arch, _, _)| *arch)
            .ok_or_else(|| Error::UnsupportedArchitecture(name.to_string()))
    }

    /// llama.cpp's `general.architecture` names (Mistral models are `llama` there).
    pub fn from_gguf(name: &str) -> Result<Self> {
        ARCHITECTURES
            .iter()
            .find(|(_, _, gguf)| *gguf == name)
            .map(|(arch, _, _)| *arch)
            .ok_or_else(|| {
                let mut names: Vec<&str> = ARCHITECTURES.iter().map(|(_, _, g)| *g).collect();
                names.dedup();
                Error::UnsupportedArchitecture(format!(
                    "{name} (GGUF; supported there: {})",
                    names.join(", ")
                ))
            })
    }

    pub fn name(self) -> &'static str {
        ARCHITECTURES
            .iter()
            .find(|(arch, _, _)| *arch == self)
            .map(|(_, hf, _)| *hf)
            .unwrap_or("unknown")
    }

    /// Gemma's RMSNorm multiplies by `1 + w` (transformers stores `w`; llama.cpp's converter
    /// stores `1 + w`).
    pub fn norm_adds_one(self) -> bool {
        matches!(self, Self::Gemma | Self::Gemma2 | Self::Gemma3)
    }

    /// LayerNorm with biases for GPT-2, RMSNorm for every other family.
    pub fn norm_kind(self) -> NormKind {
        if self == Self::Gpt2 {
            NormKind::Layer
        } else {
            NormKind::Rms
        }
    }

    pub fn norm_placement(self) -> NormPlacement {
        match self {
            Self::Gemma2 | Self::Gemma3 => NormPlacement::Sandwich,
            Self::Olmo2 => NormPlacement::Post,
            _ => NormPlacement::Pre,
        }
    }
}

/// Which normalization a family uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NormKind {
    Rms,
    /// LayerNorm with a bias (GPT-2).
    Layer,
}

/// Where a layer's norms sit around its two residual branches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NormPlacement {
    /// Before each branch (Llama and most families).
    Pre,
    /// Before and after each branch, inside the residual (Gemma 2 and 3).
    Sandwich,
    /// After each branch only, inside the residual (OLMo 2).
    Post,
}

/// One layer's attention: its window and which rotary embedding it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerKind {
    /// Sliding window in tokens; 0 for global attention.
    pub window: usize,
    /// Index into [`DecoderConfig::ropes`]; `None` for a layer without RoPE.
    pub rope: Option<usize>,
}

/// Everything the forward pass needs: sizes and each named variation point.
#[derive(Debug, Clone)]
pub struct DecoderConfig {
    pub architecture: Architecture,
    pub hidden: usize,
    pub intermediate: usize,
    pub n_layers: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    pub vocab: usize,
    pub norm: NormKind,
    pub norm_eps: f32,
    /// Added to every norm weight on load (Gemma's `1 + w` from safetensors; 0 otherwise).
    pub norm_weight_offset: f32,
    pub norm_placement: NormPlacement,
    /// Q/K norms over the whole projection (OLMo 2) rather than per head (Qwen3, Gemma 3).
    pub qk_norm_whole: bool,
    pub activation: Activation,
    /// `act(gate) * up` (most families) or `act(up)` (GPT-2).
    pub gated_mlp: bool,
    /// Multiplies the token embeddings (Gemma's sqrt(hidden), Granite's multiplier).
    pub embedding_scale: f32,
    /// Multiplies each branch before it joins the residual (Granite).
    pub residual_scale: f32,
    /// Multiplies `q . k`.
    pub attention_scale: f32,
    /// Gemma 2's attention-logit soft cap; 0 for none.
    pub attention_softcap: f32,
    /// Multiplies the logits (Granite's `1 / logits_scaling`).
    pub logit_scale: f32,
    /// Gemma 2's final-logit soft cap; 0 for none.
    pub final_softcap: f32,
    pub layers: Vec<LayerKind>,
    pub ropes: Vec<Rope>,
    pub max_position_embeddings: usize,
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
    hidden_size: Option<usize>,
    intermediate_size: Option<usize>,
    num_hidden_layers: Option<usize>,
    num_attention_heads: Option<usize>,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    vocab_size: Option<usize>,
    rms_norm_eps: Option<f32>,
    rope_theta: Option<f32>,
    rope_scaling: Option<Value>,
    rope_parameters: Option<Value>,
    rope_local_base_freq: Option<f32>,
    partial_rotary_factor: Option<f32>,
    original_max_position_embeddings: Option<usize>,
    max_position_embeddings: Option<usize>,
    sliding_window: Option<usize>,
    use_sliding_window: Option<bool>,
    sliding_window_pattern: Option<usize>,
    layer_types: Option<Vec<String>>,
    no_rope_layers: Option<Vec<u32>>,
    no_rope_layer_interval: Option<usize>,
    tie_word_embeddings: Option<bool>,
    bos_token_id: Option<Value>,
    eos_token_id: Option<Value>,
    torch_dtype: Option<String>,
    dtype: Option<String>,
    hidden_act: Option<String>,
    hidden_activation: Option<String>,
    query_pre_attn_scalar: Option<f32>,
    attn_logit_softcapping: Option<f32>,
    final_logit_softcapping: Option<f32>,
    embedding_multiplier: Option<f32>,
    attention_multiplier: Option<f32>,
    residual_multiplier: Option<f32>,
    logits_scaling: Option<f32>,
    // GPT-2's names.
    n_embd: Option<usize>,
    n_layer: Option<usize>,
    n_head: Option<usize>,
    n_inner: Option<usize>,
    n_positions: Option<usize>,
    layer_norm_epsilon: Option<f32>,
    activation_function: Option<String>,
    /// Gemma 3's multimodal checkpoints nest the text model's config.
    text_config: Option<Box<RawConfig>>,
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

fn factors(object: &Value, key: &str) -> Result<Vec<f32>> {
    object
        .get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_f64)
                .map(|v| v as f32)
                .collect()
        })
        .ok_or_else(|| Error::Config(format!("longrope scaling needs `{key}`")))
}

/// The rope of one `rope_scaling`/`rope_parameters` object (or none) with `theta`.
fn parse_rope(
    scaling: Option<&Value>,
    theta: f32,
    rotary_dim: usize,
    raw: &RawConfig,
    max_positions: usize,
) -> Result<Rope> {
    let theta = scaling
        .and_then(|s| number(s, "rope_theta"))
        .unwrap_or(theta);
    let kind = scaling
        .and_then(|s| s.get("rope_type").or_else(|| s.get("type")))
        .and_then(Value::as_str)
        .unwrap_or("default");
    let factor = || {
        scaling
            .and_then(|s| number(s, "factor"))
            .ok_or_else(|| Error::Config(format!("rope scaling `{kind}` needs a `factor`")))
    };
    let scaling = match (kind, scaling) {
        ("default", _) | (_, None) => RopeScaling::None,
        ("linear", _) => RopeScaling::Linear { factor: factor()? },
        ("llama3", Some(s)) => RopeScaling::Llama3 {
            factor: factor()?,
            low_freq_factor: number(s, "low_freq_factor").unwrap_or(1.0),
            high_freq_factor: number(s, "high_freq_factor").unwrap_or(4.0),
            original_max_position_embeddings: number(s, "original_max_position_embeddings")
                .unwrap_or(8192.0),
        },
        ("longrope" | "su", Some(s)) => {
            let original = s
                .get("original_max_position_embeddings")
                .and_then(Value::as_u64)
                .map(|v| v as usize)
                .or(raw.original_max_position_embeddings)
                .filter(|&v| v > 0)
                .ok_or_else(|| {
                    Error::Config("longrope needs original_max_position_embeddings".into())
                })?;
            let attention_factor = number(s, "attention_factor")
                .unwrap_or_else(|| longrope_attention_factor(max_positions, original));
            RopeScaling::LongRope {
                short_factor: factors(s, "short_factor")?,
                long_factor: factors(s, "long_factor")?,
                original_max_position_embeddings: original,
                attention_factor,
            }
        }
        (other, _) => {
            return Err(Error::Config(format!(
                "unsupported rope scaling type `{other}` (supported: default, linear, llama3, longrope)"
            )))
        }
    };
    let rope = Rope {
        theta,
        scaling,
        rotary_dim,
    };
    rope.validate()?;
    Ok(rope)
}

/// The activation a config names.
fn activation(name: &str) -> Result<Activation> {
    match name {
        "silu" | "swish" => Ok(Activation::Silu),
        "gelu" => Ok(Activation::Gelu),
        "gelu_pytorch_tanh" | "gelu_new" | "gelu_fast" | "gelu_python_tanh" => {
            Ok(Activation::GeluTanh)
        }
        other => Err(Error::Config(format!(
            "unsupported activation `{other}` (supported: silu, gelu, gelu_pytorch_tanh, gelu_new)"
        ))),
    }
}

fn required(value: Option<usize>, key: &str) -> Result<usize> {
    value
        .filter(|&v| v > 0)
        .ok_or_else(|| Error::Config(format!("`{key}` must be a positive integer")))
}

impl DecoderConfig {
    pub fn from_json(text: &str) -> Result<Self> {
        let outer: RawConfig =
            serde_json::from_str(text).map_err(|e| Error::json("config.json", e))?;
        let arch_name = outer
            .architectures
            .first()
            .ok_or_else(|| Error::Config("no `architectures` entry".into()))?
            .clone();
        let architecture = Architecture::from_name(&arch_name)?;
        let raw = match outer.text_config {
            Some(text) if architecture == Architecture::Gemma3 => *text,
            _ => outer,
        };
        Self::from_raw(architecture, raw)
    }

    fn from_raw(architecture: Architecture, raw: RawConfig) -> Result<Self> {
        use Architecture::*;
        let hidden = required(raw.hidden_size.or(raw.n_embd), "hidden_size")?;
        let n_layers = required(raw.num_hidden_layers.or(raw.n_layer), "num_hidden_layers")?;
        let n_heads = required(
            raw.num_attention_heads.or(raw.n_head),
            "num_attention_heads",
        )?;
        let vocab = required(raw.vocab_size, "vocab_size")?;
        let intermediate = match architecture {
            Gpt2 => raw.n_inner.unwrap_or(4 * hidden),
            _ => required(raw.intermediate_size, "intermediate_size")?,
        };
        let n_kv_heads = raw.num_key_value_heads.unwrap_or(n_heads);
        if n_kv_heads == 0 || !n_heads.is_multiple_of(n_kv_heads) {
            return Err(Error::Config(format!(
                "num_attention_heads {n_heads} is not a multiple of num_key_value_heads {n_kv_heads}"
            )));
        }
        let head_dim = raw.head_dim.unwrap_or(hidden / n_heads);
        if head_dim == 0 || !head_dim.is_multiple_of(2) {
            return Err(Error::Config(format!("head_dim {head_dim} must be even")));
        }
        let act_name = raw
            .hidden_activation
            .as_deref()
            .or(raw.hidden_act.as_deref())
            .or(raw.activation_function.as_deref());
        let activation = match (architecture, act_name) {
            (_, Some(name)) => activation(name)?,
            (Gemma | Gemma2 | Gemma3 | Gpt2, None) => Activation::GeluTanh,
            (_, None) => Activation::Silu,
        };
        let max_positions = raw
            .max_position_embeddings
            .or(raw.n_positions)
            .unwrap_or(2048);
        // transformers 5 moves the partial rotary factor into `rope_parameters`.
        let partial_rotary_factor = raw.partial_rotary_factor.or_else(|| {
            raw.rope_parameters
                .as_ref()
                .and_then(|p| number(p, "partial_rotary_factor"))
        });
        let rotary_dim = match partial_rotary_factor {
            Some(f) if f > 0.0 && f <= 1.0 => (head_dim as f32 * f) as usize,
            Some(f) => return Err(Error::Config(format!("partial_rotary_factor {f}"))),
            None => head_dim,
        };

        // Rotary embeddings: one for global layers and, for Gemma 3, one for local layers.
        let params = raw.rope_parameters.as_ref().filter(|v| v.is_object());
        let per_type = params.filter(|p| p.get("full_attention").is_some());
        let theta = raw
            .rope_theta
            .or_else(|| params.and_then(|p| number(p, "rope_theta")))
            .unwrap_or(10_000.0);
        let global_scaling = per_type
            .and_then(|p| p.get("full_attention"))
            .or(raw.rope_scaling.as_ref().filter(|v| v.is_object()))
            .or(params);
        let global = parse_rope(global_scaling, theta, rotary_dim, &raw, max_positions)?;
        let mut ropes = vec![global];
        let local_rope = match (
            per_type.and_then(|p| p.get("sliding_attention")),
            architecture,
        ) {
            (Some(local), _) => Some(parse_rope(
                Some(local),
                theta,
                rotary_dim,
                &raw,
                max_positions,
            )?),
            (None, Gemma3) => Some(Rope {
                theta: raw.rope_local_base_freq.unwrap_or(10_000.0),
                scaling: RopeScaling::None,
                rotary_dim,
            }),
            _ => None,
        };
        if let Some(local) = local_rope {
            ropes.push(local);
        }
        let local_index = ropes.len() - 1;

        // Which layers slide, and which skip RoPE.
        let window = match architecture {
            // Qwen2/3 declare a window but only use it with `use_sliding_window`.
            Qwen2 | Qwen3 => raw
                .sliding_window
                .filter(|_| raw.use_sliding_window.unwrap_or(false)),
            _ => raw.sliding_window,
        }
        .unwrap_or(0);
        let sliding: Vec<bool> = match (&raw.layer_types, architecture) {
            (Some(types), _) => {
                if types.len() != n_layers {
                    return Err(Error::Config(format!(
                        "layer_types has {} entries for {n_layers} layers",
                        types.len()
                    )));
                }
                types.iter().map(|t| t == "sliding_attention").collect()
            }
            (None, Gemma2) => (0..n_layers).map(|i| i % 2 == 0).collect(),
            (None, Gemma3) => {
                let pattern = raw.sliding_window_pattern.unwrap_or(6).max(1);
                (0..n_layers).map(|i| (i + 1) % pattern != 0).collect()
            }
            (None, _) => vec![window > 0; n_layers],
        };
        let uses_rope: Vec<bool> = match (&raw.no_rope_layers, architecture) {
            (Some(flags), _) if flags.len() >= n_layers => {
                flags[..n_layers].iter().map(|&f| f != 0).collect()
            }
            (Some(flags), _) => {
                return Err(Error::Config(format!(
                    "no_rope_layers has {} entries for {n_layers} layers",
                    flags.len()
                )))
            }
            (None, SmolLm3) => {
                let interval = raw.no_rope_layer_interval.unwrap_or(4).max(1);
                (0..n_layers).map(|i| (i + 1) % interval != 0).collect()
            }
            (None, Gpt2) => vec![false; n_layers],
            (None, _) => vec![true; n_layers],
        };
        let layers = (0..n_layers)
            .map(|i| {
                let slides = sliding[i] && window > 0;
                LayerKind {
                    window: if slides { window } else { 0 },
                    rope: uses_rope[i].then_some(if slides { local_index } else { 0 }),
                }
            })
            .collect();

        let is_gemma = architecture.norm_adds_one();
        let attention_scale = match (architecture, raw.query_pre_attn_scalar) {
            (Gemma2 | Gemma3, Some(s)) if s > 0.0 => 1.0 / s.sqrt(),
            (Granite, _) => raw
                .attention_multiplier
                .unwrap_or(1.0 / (head_dim as f32).sqrt()),
            _ => 1.0 / (head_dim as f32).sqrt(),
        };
        let norm_eps = match architecture {
            Gpt2 => raw.layer_norm_epsilon.unwrap_or(1e-5),
            _ => raw.rms_norm_eps.unwrap_or(1e-6),
        };
        Ok(Self {
            architecture,
            hidden,
            intermediate,
            n_layers,
            n_heads,
            n_kv_heads,
            head_dim,
            vocab,
            norm: architecture.norm_kind(),
            norm_eps,
            norm_weight_offset: if is_gemma { 1.0 } else { 0.0 },
            norm_placement: architecture.norm_placement(),
            qk_norm_whole: architecture == Olmo2,
            activation,
            gated_mlp: architecture != Gpt2,
            // transformers rounds sqrt(hidden) to the compute dtype; hearth computes in f32.
            embedding_scale: match architecture {
                Gemma | Gemma2 | Gemma3 => (hidden as f32).sqrt(),
                Granite => raw.embedding_multiplier.unwrap_or(1.0),
                _ => 1.0,
            },
            residual_scale: match architecture {
                Granite => raw.residual_multiplier.unwrap_or(1.0),
                _ => 1.0,
            },
            attention_scale,
            attention_softcap: match architecture {
                Gemma2 => raw.attn_logit_softcapping.unwrap_or(0.0),
                _ => 0.0,
            },
            logit_scale: match (architecture, raw.logits_scaling) {
                (Granite, Some(s)) if s != 0.0 => 1.0 / s,
                _ => 1.0,
            },
            final_softcap: match architecture {
                Gemma2 | Gemma3 => raw.final_logit_softcapping.unwrap_or(0.0),
                _ => 0.0,
            },
            layers,
            ropes,
            max_position_embeddings: max_positions,
            tie_word_embeddings: raw
                .tie_word_embeddings
                .unwrap_or(matches!(architecture, Gemma | Gemma2 | Gemma3 | Gpt2)),
            bos_token_id: token_ids(raw.bos_token_id.as_ref()).first().copied(),
            eos_token_ids: token_ids(raw.eos_token_id.as_ref()),
            declared_dtype: raw.dtype.or(raw.torch_dtype),
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

    /// The longest context this model supports. Sliding-window layers mask keys outside their
    /// window, so the window no longer caps the context.
    pub fn max_context(&self) -> usize {
        self.max_position_embeddings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#""hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "vocab_size": 100"#;

    fn base_without_layers() -> String {
        BASE.replace(r#""num_hidden_layers": 2,"#, "")
    }

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
        let old = DecoderConfig::from_json(&old).unwrap();
        let new = DecoderConfig::from_json(&new).unwrap();
        assert_eq!(old.ropes[0].theta, 500000.0);
        assert_eq!(new.ropes[0].theta, 500000.0);
        assert_eq!(old.ropes, new.ropes);
        assert_eq!(old.declared_dtype.as_deref(), Some("bfloat16"));
        assert_eq!(new.declared_dtype.as_deref(), Some("bfloat16"));
        assert_eq!(old.head_dim, 16);
        assert_eq!(old.n_kv_heads, 4);
    }

    #[test]
    fn rejects_unknown_architecture_by_name() {
        let text = format!(r#"{{"architectures": ["FalconForCausalLM"], {BASE}}}"#);
        let err = DecoderConfig::from_json(&text).unwrap_err();
        assert!(err.to_string().contains("FalconForCausalLM"), "{err}");
    }

    #[test]
    fn rejects_unknown_rope_type() {
        let text = format!(
            r#"{{"architectures": ["LlamaForCausalLM"], {BASE}, "rope_scaling": {{"type": "yarn", "factor": 4.0}}}}"#
        );
        let err = DecoderConfig::from_json(&text).unwrap_err();
        assert!(err.to_string().contains("yarn"), "{err}");
    }

    #[test]
    fn gemma3_layers_alternate_five_local_to_one_global() {
        let text = format!(
            r#"{{"architectures": ["Gemma3ForCausalLM"], {}, "num_hidden_layers": 7,
            "sliding_window": 512, "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0,
            "rope_scaling": {{"rope_type": "linear", "factor": 8.0}}, "query_pre_attn_scalar": 256}}"#,
            base_without_layers()
        );
        let c = DecoderConfig::from_json(&text).unwrap();
        let windows: Vec<usize> = c.layers.iter().map(|l| l.window).collect();
        assert_eq!(windows, [512, 512, 512, 512, 512, 0, 512]);
        assert_eq!(
            c.ropes[c.layers[5].rope.unwrap()].scaling,
            RopeScaling::Linear { factor: 8.0 }
        );
        assert_eq!(c.ropes[c.layers[0].rope.unwrap()].theta, 10000.0);
        assert_eq!(c.attention_scale, 1.0 / 16.0);
        assert_eq!(c.embedding_scale, 8.0);
        assert!(c.tie_word_embeddings);
    }

    #[test]
    fn smollm3_skips_rope_on_flagged_layers() {
        let text = format!(
            r#"{{"architectures": ["SmolLM3ForCausalLM"], {}, "num_hidden_layers": 4,
            "no_rope_layers": [1, 1, 1, 0]}}"#,
            base_without_layers()
        );
        let c = DecoderConfig::from_json(&text).unwrap();
        let ropes: Vec<bool> = c.layers.iter().map(|l| l.rope.is_some()).collect();
        assert_eq!(ropes, [true, true, true, false]);
    }
}
