//! GPT-2 from a transformers checkpoint (gpt2, distilgpt2 and kin): its own names and
//! `Conv1D` weights stored `[in, out]`, loaded into the one decoder's layers. The forward pass
//! is the decoder's: LayerNorms with biases before each branch, learned positions, no RoPE,
//! biases on every projection, `act(up)` without a gate. A GGUF file of GPT-2 needs none of
//! this: llama.cpp's converter already writes `[out, in]` matrices under its usual names.

use super::{Decoder, Layer, Linear, Loader, Mlp, Norm, Parts, QkvProj};
use crate::backends::ops::Backend;
use crate::error::Result;
use crate::formats::weights::Checkpoint;
use crate::models::config::DecoderConfig;

/// The prefix of a transformers GPT-2 checkpoint's tensors: `transformer.` as
/// `GPT2LMHeadModel` saves them, nothing for the original OpenAI uploads.
fn root(checkpoint: &Checkpoint<'_>) -> Option<&'static str> {
    ["transformer.", ""]
        .into_iter()
        .find(|root| checkpoint.contains(&format!("{root}wte.weight")))
}

pub(super) fn is_transformers_layout(checkpoint: &Checkpoint<'_>) -> bool {
    root(checkpoint).is_some()
}

impl<B: Backend> Loader<'_, B> {
    /// A `Conv1D`: `{prefix}.weight: [in, out]`, transposed on load, and `{prefix}.bias`.
    fn conv1d(&mut self, prefix: &str, input: usize, out: usize) -> Result<Linear<B>> {
        let name = format!("{prefix}.weight");
        let weight = self.checkpoint.tensor(&name, &[input, out])?.transposed()?;
        let weight = self.backend.upload_weight(&name, weight.view())?;
        Ok(Linear {
            weight,
            bias: self.optional(&format!("{prefix}.bias"), &[out])?,
        })
    }
}

impl<B: Backend> Decoder<B> {
    pub(super) fn load_gpt2(
        backend: &mut B,
        config: DecoderConfig,
        checkpoint: &Checkpoint<'_>,
        context: usize,
    ) -> Result<Self> {
        let c = &config;
        let root = root(checkpoint).unwrap_or("transformer.");
        let mut load = Loader {
            backend: &mut *backend,
            checkpoint,
            norm_offset: 0.0,
        };
        let weights_before = load.backend.memory().weights;
        let embed_tokens = load.weight(&format!("{root}wte.weight"), &[c.vocab, c.hidden])?;
        let embed_bytes = load.backend.memory().weights - weights_before;
        let position_embeddings = Some(load.weight(
            &format!("{root}wpe.weight"),
            &[c.max_position_embeddings, c.hidden],
        )?);
        let mut layers = Vec::with_capacity(c.n_layers);
        for (i, &kind) in c.layers.iter().enumerate() {
            let p = format!("{root}h.{i}");
            layers.push(Layer {
                kind,
                attn_in: Some(load.norm(&format!("{p}.ln_1"), c.hidden)?),
                attn_out: None,
                // c_attn's output columns are q, k and v stacked: the fused layout.
                qkv: QkvProj::Fused(load.conv1d(
                    &format!("{p}.attn.c_attn"),
                    c.hidden,
                    3 * c.hidden,
                )?),
                o_proj: load.conv1d(&format!("{p}.attn.c_proj"), c.hidden, c.hidden)?,
                mlp_in: Some(load.norm(&format!("{p}.ln_2"), c.hidden)?),
                mlp_out: None,
                mlp: Mlp::Plain {
                    up: load.conv1d(&format!("{p}.mlp.c_fc"), c.hidden, c.intermediate)?,
                },
                down_proj: load.conv1d(&format!("{p}.mlp.c_proj"), c.intermediate, c.hidden)?,
            });
        }
        let norm: Norm<B> = load.norm(&format!("{root}ln_f"), c.hidden)?;
        let parts = Parts {
            embed_tokens,
            position_embeddings,
            layers,
            norm,
            // GPT2LMHeadModel ties its head to the token embeddings.
            lm_head: None,
            embed_bytes,
            weights_before,
        };
        Self::finish(backend, config, parts, context)
    }
}
