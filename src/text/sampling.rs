//! Choosing the next token. Greedy decoding and top-k candidates come from the device (an
//! argmax or top-k kernel reads back a few bytes); temperature, top-p and min-p then act on
//! those candidates on the host, in transformers' order: temperature, top-k, top-p, min-p.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct SamplingParams {
    /// 0 is greedy.
    pub temperature: f32,
    /// 0 keeps every token.
    pub top_k: usize,
    /// 1 keeps every token.
    pub top_p: f32,
    /// 0 keeps every token.
    pub min_p: f32,
    /// 1 is off.
    pub repetition_penalty: f32,
    /// The same seed gives the same tokens; `None` draws one.
    pub seed: Option<u64>,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            repetition_penalty: 1.0,
            seed: None,
        }
    }
}

/// Above this many candidates the whole row of logits is read back instead of a top-k.
pub const MAX_DEVICE_TOP_K: usize = 256;

impl SamplingParams {
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::InvalidArgument(what.to_string()));
        if !(self.temperature >= 0.0 && self.temperature.is_finite()) {
            return bad("temperature must be a finite number >= 0");
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad("top_p must be in (0, 1]");
        }
        if !(0.0..=1.0).contains(&self.min_p) {
            return bad("min_p must be in [0, 1]");
        }
        if !(self.repetition_penalty > 0.0 && self.repetition_penalty.is_finite()) {
            return bad("repetition_penalty must be a finite number > 0");
        }
        Ok(())
    }

    pub fn is_greedy(&self) -> bool {
        self.temperature == 0.0 || self.top_k == 1
    }

    /// How many candidates the device should return, or `None` for the whole row.
    pub fn device_top_k(&self) -> Option<usize> {
        (self.top_k > 0 && self.top_k <= MAX_DEVICE_TOP_K).then_some(self.top_k)
    }
}

pub struct Sampler {
    params: SamplingParams,
    rng: SmallRng,
}

fn random_seed() -> u64 {
    let mut bytes = [0u8; 8];
    // Without an entropy source the seed is fixed; generation still works.
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes)
}

impl Sampler {
    pub fn new(params: SamplingParams) -> Result<Self> {
        params.validate()?;
        let seed = params.seed.unwrap_or_else(random_seed);
        Ok(Self {
            params,
            rng: SmallRng::seed_from_u64(seed),
        })
    }

    pub fn params(&self) -> &SamplingParams {
        &self.params
    }

    /// Picks one id from `candidates` (id, logit), sorted by descending logit.
    pub fn sample(&mut self, candidates: &[(u32, f32)]) -> Result<u32> {
        let Some(&(best, best_logit)) = candidates.first() else {
            return Err(Error::InvalidArgument("no candidate tokens".into()));
        };
        let p = &self.params;
        let mut kept = if p.top_k > 0 {
            &candidates[..p.top_k.min(candidates.len())]
        } else {
            candidates
        };
        let weights: Vec<f64> = kept
            .iter()
            .map(|&(_, logit)| (((logit - best_logit) / p.temperature) as f64).exp())
            .collect();
        let total: f64 = weights.iter().sum();
        if !total.is_finite() || total <= 0.0 {
            return Ok(best);
        }
        // top-p: the shortest prefix whose probability reaches top_p.
        let mut count = kept.len();
        if p.top_p < 1.0 {
            let mut cumulative = 0.0;
            for (i, w) in weights.iter().enumerate() {
                cumulative += w / total;
                if cumulative >= p.top_p as f64 {
                    count = i + 1;
                    break;
                }
            }
        }
        // min-p: drop tokens less likely than min_p times the most likely one (weight 1).
        if p.min_p > 0.0 {
            count = count.min(weights.iter().take_while(|&&w| w >= p.min_p as f64).count());
        }
        kept = &kept[..count.max(1)];
        let total: f64 = weights[..kept.len()].iter().sum();
        let mut target = self.rng.random::<f64>() * total;
        for (&(id, _), w) in kept.iter().zip(&weights) {
            if target < *w {
                return Ok(id);
            }
            target -= w;
        }
        Ok(kept[kept.len() - 1].0)
    }
}

/// All (id, logit) pairs of a row, sorted by descending logit (lower id first on ties).
pub fn sorted_candidates(logits: &[f32]) -> Vec<(u32, f32)> {
    let mut pairs: Vec<(u32, f32)> = logits
        .iter()
        .enumerate()
        .map(|(i, &v)| (i as u32, v))
        .collect();
    pairs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(temperature: f32, top_k: usize, top_p: f32, min_p: f32) -> SamplingParams {
        SamplingParams {
            temperature,
            top_k,
            top_p,
            min_p,
            seed: Some(7),
            ..Default::default()
        }
    }

    fn draws(p: SamplingParams, logits: &[f32], n: usize) -> Vec<u32> {
        let candidates = sorted_candidates(logits);
        let mut sampler = Sampler::new(p).unwrap();
        (0..n)
            .map(|_| sampler.sample(&candidates).unwrap())
            .collect()
    }

    #[test]
    fn same_seed_same_draws() {
        let logits = [0.1, 0.5, 0.2, 0.9, 0.3];
        assert_eq!(
            draws(params(1.0, 0, 1.0, 0.0), &logits, 50),
            draws(params(1.0, 0, 1.0, 0.0), &logits, 50)
        );
    }

    #[test]
    fn filters_restrict_the_support() {
        let logits = [0.0, 1.0, 2.0, 3.0, 4.0];
        let top2 = draws(params(1.0, 2, 1.0, 0.0), &logits, 300);
        assert!(top2.iter().all(|&id| id == 4 || id == 3));
        assert!(top2.contains(&3) && top2.contains(&4));
        // p(4) = 0.636 at temperature 1, so top_p 0.5 keeps only it.
        assert!(draws(params(1.0, 0, 0.5, 0.0), &logits, 100)
            .iter()
            .all(|&id| id == 4));
        // min_p 0.3 keeps tokens with p >= 0.3 p(4): only 4 and 3 (exp(-1) = 0.37).
        let min_p = draws(params(1.0, 0, 1.0, 0.3), &logits, 300);
        assert!(min_p.iter().all(|&id| id == 4 || id == 3));
        // A low temperature concentrates on the best token.
        assert!(draws(params(0.01, 0, 1.0, 0.0), &logits, 100)
            .iter()
            .all(|&id| id == 4));
    }

    #[test]
    fn sampling_follows_the_distribution() {
        let logits = [0.0, (3.0f32).ln()];
        let ones = draws(params(1.0, 0, 1.0, 0.0), &logits, 4000)
            .iter()
            .filter(|&&id| id == 1)
            .count();
        let frequency = ones as f64 / 4000.0;
        assert!((frequency - 0.75).abs() < 0.03, "{frequency}");
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(Sampler::new(params(-1.0, 0, 1.0, 0.0)).is_err());
        assert!(Sampler::new(params(1.0, 0, 0.0, 0.0)).is_err());
        assert!(Sampler::new(params(1.0, 0, 1.0, 2.0)).is_err());
    }
}
