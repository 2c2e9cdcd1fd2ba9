//! A [`DecoderConfig`] from GGUF metadata, with llama.cpp's keys and its per-family
//! conventions (what llama.cpp hard-codes instead of storing: Gemma's layer patterns and local
//! RoPE base, SmolLM3's no-RoPE interval).

use crate::backends::ops::Activation;
use crate::error::Result;
use crate::formats::gguf::{Gguf, MetaValue};
use crate::models::config::{Architecture, DecoderConfig, LayerKind};
use crate::models::rope::{longrope_attention_factor, Rope, RopeScaling};

/// RoPE factors a GGUF file stores as tensors.
#[derive(Debug, Default)]
pub struct RopeTensors {
    /// `rope_freqs.weight`: Llama 3.1's scaling as per-frequency divisors.
    pub freqs: Option<Vec<f32>>,
    /// `rope_factors_short.weight` and `rope_factors_long.weight`: Phi-3's LongRoPE.
    pub short: Option<Vec<f32>>,
    pub long: Option<Vec<f32>>,
}

impl DecoderConfig {
    /// The config of a GGUF file. `vocab` and `tied` come from the tensors (`token_embd`,
    /// `output`).
    pub fn from_gguf(gguf: &Gguf, vocab: usize, tied: bool, rope: RopeTensors) -> Result<Self> {
        use Architecture::*;
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
        let n_layers = size("block_count")?;
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
        if value_dim != head_dim
            || rotary_dim > head_dim
            || !head_dim.is_multiple_of(2)
            || !rotary_dim.is_multiple_of(2)
        {
            return Err(gguf.error(format!(
                "key length {head_dim}, value length {value_dim} and rotary dimensions {rotary_dim}: keys and values must match, rotary dimensions fit in a head, all even"
            )));
        }
        let max_positions = size("context_length")?;
        let theta = number("rope.freq_base").unwrap_or(10_000.0);
        let scaling = match (&rope.freqs, &rope.long, &rope.short) {
            (Some(factors), _, _) => RopeScaling::FreqFactors(factors.clone()),
            (None, Some(long), Some(short)) => {
                let original = optional_size("rope.scaling.original_context_length")?
                    .unwrap_or(max_positions);
                RopeScaling::LongRope {
                    short_factor: short.clone(),
                    long_factor: long.clone(),
                    original_max_position_embeddings: original,
                    attention_factor: number("rope.scaling.attn_factor")
                        .unwrap_or_else(|| longrope_attention_factor(max_positions, original)),
                }
            }
            _ => match gguf.meta(&key("rope.scaling.type")).and_then(MetaValue::as_str) {
                None | Some("none") => RopeScaling::None,
                Some("linear") => RopeScaling::Linear {
                    factor: number("rope.scaling.factor")
                        .filter(|&f| f > 0.0)
                        .ok_or_else(|| gguf.error("linear rope scaling needs a factor"))?,
                },
                Some(kind) => {
                    return Err(gguf.error(format!(
                        "unsupported rope scaling {kind:?} (supported: none, linear, llama3 frequency factors, longrope factors)"
                    )))
                }
            },
        };
        let global = Rope {
            theta,
            scaling,
            rotary_dim,
        };
        global.validate().map_err(|e| gguf.error(e.to_string()))?;
        let mut ropes = vec![global];
        // llama.cpp runs Gemma 3's local layers at base 10000 without scaling.
        if architecture == Gemma3 {
            ropes.push(Rope {
                theta: number("rope.freq_base_swa").unwrap_or(10_000.0),
                scaling: RopeScaling::None,
                rotary_dim,
            });
        }
        let local = ropes.len() - 1;

        // Phi-3 converters write 0 for "no window".
        let window = match gguf.meta(&key("attention.sliding_window")) {
            None => 0,
            Some(value) => value
                .as_u64()
                .and_then(|v| usize::try_from(v).ok())
                .ok_or_else(|| {
                    gguf.error(format!(
                        "`{}` is {value:?}",
                        key("attention.sliding_window")
                    ))
                })?,
        };
        let layers = (0..n_layers)
            .map(|i| {
                // llama.cpp's fixed layer patterns: Gemma 2 alternates from a local layer,
                // Gemma 3 has five local layers to one global, SmolLM3 skips RoPE every 4th.
                let slides = window > 0
                    && match architecture {
                        Gemma2 => i % 2 == 0,
                        Gemma3 => i % 6 != 5,
                        _ => true,
                    };
                let uses_rope = match architecture {
                    SmolLm3 => (i + 1) % 4 != 0,
                    Gpt2 => false,
                    _ => true,
                };
                LayerKind {
                    window: if slides { window } else { 0 },
                    rope: uses_rope.then_some(if slides { local } else { 0 }),
                }
            })
            .collect();

        let token = |name: &str| {
            gguf.meta(&format!("tokenizer.ggml.{name}"))
                .and_then(MetaValue::as_u64)
                .map(|id| id as u32)
        };
        let eos_token_ids = ["eos_token_id", "eot_token_id", "eom_token_id"]
            .iter()
            .filter_map(|name| token(name))
            .collect();
        let is_gemma = architecture.norm_adds_one();
        let norm_eps = match architecture {
            Gpt2 => number("attention.layer_norm_epsilon").unwrap_or(1e-5),
            _ => number("attention.layer_norm_rms_epsilon").unwrap_or(1e-5),
        };
        let intermediate = size("feed_forward_length")?;
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
            // llama.cpp's converter has already added Gemma's 1 into the norm weights.
            norm_weight_offset: 0.0,
            norm_placement: architecture.norm_placement(),
            qk_norm_whole: architecture == Olmo2,
            activation: if is_gemma || architecture == Gpt2 {
                Activation::GeluTanh
            } else {
                Activation::Silu
            },
            gated_mlp: architecture != Gpt2,
            embedding_scale: match architecture {
                Gemma | Gemma2 | Gemma3 => (hidden as f32).sqrt(),
                Granite => number("embedding_scale").unwrap_or(1.0),
                _ => 1.0,
            },
            residual_scale: match architecture {
                Granite => number("residual_scale").unwrap_or(1.0),
                _ => 1.0,
            },
            // llama.cpp scales Gemma 2/3 queries by 1/sqrt(head_dim) (hidden / heads for the
            // 27B models, which it recognizes by size).
            attention_scale: match architecture {
                Granite => number("attention.scale").unwrap_or(1.0 / (head_dim as f32).sqrt()),
                _ => 1.0 / (head_dim as f32).sqrt(),
            },
            attention_softcap: number("attn_logit_softcapping").unwrap_or(0.0),
            logit_scale: match number("logit_scale") {
                Some(s) if s != 0.0 => 1.0 / s,
                _ => 1.0,
            },
            final_softcap: number("final_logit_softcapping").unwrap_or(0.0),
            layers,
            ropes,
            max_position_embeddings: max_positions,
            tie_word_embeddings: tied,
            bos_token_id: token("bos_token_id"),
            eos_token_ids,
            declared_dtype: None,
        })
    }
}
