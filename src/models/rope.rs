//! Rotary position embeddings: the inverse frequencies of each family's scaling and the
//! (cos, sin) table the kernels read.

use crate::error::{Error, Result};

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
    /// Phi-3's LongRoPE: per-frequency divisors for short and long contexts, and a factor that
    /// scales cos and sin. transformers picks the long factors once the sequence passes
    /// `original_max_position_embeddings` (recomputing every position); llama.cpp picks them
    /// when the context window does. hearth follows llama.cpp: a KV cache stays valid as it
    /// fills, and a model loaded with a context past the original length uses the long
    /// factors from its first token.
    LongRope {
        short_factor: Vec<f32>,
        long_factor: Vec<f32>,
        original_max_position_embeddings: usize,
        attention_factor: f32,
    },
}

/// One rotary embedding: the base, its scaling and how many dimensions of a head rotate.
#[derive(Debug, Clone, PartialEq)]
pub struct Rope {
    pub theta: f32,
    pub scaling: RopeScaling,
    /// Dimensions of each head that rotate (all of them unless a partial rotary factor says
    /// otherwise); the rest pass through.
    pub rotary_dim: usize,
}

impl Rope {
    /// Checks the per-frequency factor lists against the rotary dimensions.
    pub fn validate(&self) -> Result<()> {
        let half = self.rotary_dim / 2;
        if self.rotary_dim == 0 || !self.rotary_dim.is_multiple_of(2) {
            return Err(Error::Config(format!(
                "rotary dimensions {} must be positive and even",
                self.rotary_dim
            )));
        }
        let lists: Vec<&Vec<f32>> = match &self.scaling {
            RopeScaling::FreqFactors(f) => vec![f],
            RopeScaling::LongRope {
                short_factor,
                long_factor,
                ..
            } => vec![short_factor, long_factor],
            _ => vec![],
        };
        for list in lists {
            if list.len() != half || list.iter().any(|f| !(*f > 0.0 && f.is_finite())) {
                return Err(Error::Config(format!(
                    "rope frequency factors: {} values, expected {half} positive ones",
                    list.len()
                )));
            }
        }
        Ok(())
    }

    /// Rotary inverse frequencies for a KV cache of `context` positions, one per pair.
    pub fn inv_freq(&self, context: usize) -> Vec<f32> {
        let half = self.rotary_dim / 2;
        (0..half)
            .map(|i| {
                let exponent = (2 * i) as f64 / self.rotary_dim as f64;
                let inv_freq = 1.0 / (self.theta as f64).powf(exponent);
                match &self.scaling {
                    RopeScaling::FreqFactors(factors) => (inv_freq / factors[i] as f64) as f32,
                    RopeScaling::LongRope {
                        short_factor,
                        long_factor,
                        original_max_position_embeddings,
                        ..
                    } => {
                        let factors = if context > *original_max_position_embeddings {
                            long_factor
                        } else {
                            short_factor
                        };
                        // transformers: 1 / (factor * base^(2i/d)), in f32.
                        let base = (self.theta as f64).powf(exponent) as f32;
                        1.0 / (factors[i] * base)
                    }
                    scaling => scale_frequency(inv_freq, scaling) as f32,
                }
            })
            .collect()
    }

    /// What cos and sin are multiplied by (LongRoPE's attention factor; 1 otherwise).
    pub fn attention_factor(&self) -> f32 {
        match self.scaling {
            RopeScaling::LongRope {
                attention_factor, ..
            } => attention_factor,
            _ => 1.0,
        }
    }

    /// (cos, sin) of `position * inv_freq` for every position below `context`,
    /// `[context, rotary_dim / 2, 2]`, as the reference computes them: the angle rounded to
    /// f32, its cosine and sine exact, then times the attention factor in f32.
    pub fn table(&self, context: usize) -> Vec<f32> {
        let inv_freq = self.inv_freq(context);
        let factor = self.attention_factor();
        let mut table = Vec::with_capacity(context * inv_freq.len() * 2);
        for pos in 0..context {
            for &f in &inv_freq {
                let angle = (pos as f32 * f) as f64;
                table.push(angle.cos() as f32 * factor);
                table.push(angle.sin() as f32 * factor);
            }
        }
        table
    }
}

/// The table of a layer that does not rotate (SmolLM3's no-RoPE layers): cos 1, sin 0, so the
/// fused q/k/v kernel can run unchanged.
pub fn identity_table(context: usize, rotary_dim: usize) -> Vec<f32> {
    [1.0, 0.0].repeat(context * rotary_dim / 2)
}

fn scale_frequency(inv_freq: f64, scaling: &RopeScaling) -> f64 {
    match *scaling {
        RopeScaling::None | RopeScaling::FreqFactors(_) | RopeScaling::LongRope { .. } => inv_freq,
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

/// LongRoPE's default attention factor for a context extended by `scale` (transformers and
/// llama.cpp's converter agree): `sqrt(1 + ln(scale) / ln(original))`, 1 without extension.
pub fn longrope_attention_factor(max_positions: usize, original: usize) -> f32 {
    let scale = max_positions as f64 / original as f64;
    if scale <= 1.0 {
        1.0
    } else {
        (1.0 + scale.ln() / (original as f64).ln()).sqrt() as f32
    }
}
