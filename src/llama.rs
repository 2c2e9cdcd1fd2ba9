//! One Llama-family decoder for Llama 2/3, SmolLM, TinyLlama, Mistral, Qwen2 and Qwen3, driven by
//! the config and by which tensors the checkpoint has (q/k/v biases, per-head q/k norms, a
//! separate `lm_head`). Written once against [`Backend`]; tensors keep their checkpoint names.

use crate::config::LlamaConfig;
use crate::error::{Error, Result};
use crate::ops::{AttentionShape, Backend, RopeLayout};
use crate::weights::{Checkpoint, DType, TensorView};

struct Linear<B: Backend> {
    weight: B::Weight,
    bias: Option<B::Weight>,
}

struct Layer<B: Backend> {
    input_layernorm: B::Weight,
    q_proj: Linear<B>,
    k_proj: Linear<B>,
    v_proj: Linear<B>,
    o_proj: Linear<B>,
    /// Qwen3's per-head RMSNorm on queries and keys, before RoPE.
    q_norm: Option<B::Weight>,
    k_norm: Option<B::Weight>,
    post_attention_layernorm: B::Weight,
    gate_proj: Linear<B>,
    up_proj: Linear<B>,
    down_proj: Linear<B>,
}

pub struct Llama<B: Backend> {
    config: LlamaConfig,
    embed_tokens: B::Weight,
    layers: Vec<Layer<B>>,
    norm: B::Weight,
    /// `None` when the output projection is tied to `embed_tokens`.
    lm_head: Option<B::Weight>,
    /// (cos, sin) for every position of the context and every pair of a head.
    rope_table: B::Weight,
    cache: B::KvCache,
    context: usize,
}

/// Loads checkpoint tensors by name, checking their shapes.
struct Loader<'a, B: Backend> {
    backend: &'a mut B,
    checkpoint: &'a Checkpoint<'a>,
}

impl<B: Backend> Loader<'_, B> {
    fn weight(&mut self, name: &str, shape: &[usize]) -> Result<B::Weight> {
        let tensor = self.checkpoint.tensor(name, shape)?;
        self.backend.upload_weight(name, tensor.view())
    }

    fn optional(&mut self, name: &str, shape: &[usize]) -> Result<Option<B::Weight>> {
        if self.checkpoint.contains(name) {
            self.weight(name, shape).map(Some)
        } else {
            Ok(None)
        }
    }

    /// `{prefix}.weight: [out, in]` and, if present, `{prefix}.bias: [out]`.
    fn linear(&mut self, prefix: &str, out: usize, input: usize) -> Result<Linear<B>> {
        Ok(Linear {
            weight: self.weight(&format!("{prefix}.weight"), &[out, input])?,
            bias: self.optional(&format!("{prefix}.bias"), &[out])?,
        })
    }
}

impl<B: Backend> Linear<B> {
    /// x: [seq, in] -> [seq, out]
    fn forward(&self, backend: &mut B, x: &B::Tensor) -> Result<B::Tensor> {
        let mut y = backend.linear(x, &self.weight)?;
        if let Some(bias) = &self.bias {
            backend.add_bias(&mut y, bias)?;
        }
        Ok(y)
    }
}

/// (cos, sin) of `position * inv_freq` for every position below `context`, as the reference
/// computes them: the angle rounded to f32, its cosine and sine exact.
fn rope_table(config: &LlamaConfig, context: usize) -> Vec<f32> {
    let inv_freq = config.rope_inv_freq();
    let mut table = Vec::with_capacity(context * inv_freq.len() * 2);
    for pos in 0..context {
        for &f in &inv_freq {
            let angle = (pos as f32 * f) as f64;
            table.push(angle.cos() as f32);
            table.push(angle.sin() as f32);
        }
    }
    table
}

impl<B: Backend> Llama<B> {
    /// Uploads the weights and allocates a KV cache of `context` positions.
    pub fn load(
        backend: &mut B,
        config: LlamaConfig,
        checkpoint: &Checkpoint<'_>,
        context: usize,
    ) -> Result<Self> {
        let c = &config;
        if context == 0 || context > c.max_context() {
            return Err(Error::InvalidArgument(format!(
                "context of {context} tokens; this model supports 1 to {}",
                c.max_context()
            )));
        }
        let mut load = Loader {
            backend: &mut *backend,
            checkpoint,
        };
        let embed_tokens = load.weight("model.embed_tokens.weight", &[c.vocab, c.hidden])?;
        let mut layers = Vec::with_capacity(c.n_layers);
        for i in 0..c.n_layers {
            let p = format!("model.layers.{i}");
            layers.push(Layer {
                input_layernorm: load
                    .weight(&format!("{p}.input_layernorm.weight"), &[c.hidden])?,
                q_proj: load.linear(&format!("{p}.self_attn.q_proj"), c.q_dim(), c.hidden)?,
                k_proj: load.linear(&format!("{p}.self_attn.k_proj"), c.kv_dim(), c.hidden)?,
                v_proj: load.linear(&format!("{p}.self_attn.v_proj"), c.kv_dim(), c.hidden)?,
                o_proj: load.linear(&format!("{p}.self_attn.o_proj"), c.hidden, c.q_dim())?,
                q_norm: load.optional(&format!("{p}.self_attn.q_norm.weight"), &[c.head_dim])?,
                k_norm: load.optional(&format!("{p}.self_attn.k_norm.weight"), &[c.head_dim])?,
                post_attention_layernorm: load
                    .weight(&format!("{p}.post_attention_layernorm.weight"), &[c.hidden])?,
                gate_proj: load.linear(&format!("{p}.mlp.gate_proj"), c.intermediate, c.hidden)?,
                up_proj: load.linear(&format!("{p}.mlp.up_proj"), c.intermediate, c.hidden)?,
                down_proj: load.linear(&format!("{p}.mlp.down_proj"), c.hidden, c.intermediate)?,
            });
        }
        let norm = load.weight("model.norm.weight", &[c.hidden])?;
        // Tied checkpoints omit lm_head; some untied configs still share it.
        let lm_head = if c.tie_word_embeddings {
            None
        } else {
            load.optional("lm_head.weight", &[c.vocab, c.hidden])?
        };
        let table = rope_table(c, context);
        let shape = [context, c.head_dim / 2, 2];
        let rope_table = backend.upload_weight(
            "rope_table",
            TensorView {
                dtype: DType::F32,
                shape: &shape,
                bytes: bytemuck::cast_slice(&table),
            },
        )?;
        let cache = backend.kv_cache(c.n_layers, context, c.kv_dim())?;
        Ok(Self {
            config,
            embed_tokens,
            layers,
            norm,
            lm_head,
            rope_table,
            cache,
            context,
        })
    }

    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// Positions the KV cache holds.
    pub fn context(&self) -> usize {
        self.context
    }

    /// Runs `ids` at positions `start_pos..`, filling the KV cache.
    /// ids: [seq] -> logits [seq, vocab] when `all_logits`, else [1, vocab] for the last token.
    pub fn forward(
        &mut self,
        b: &mut B,
        ids: &[u32],
        start_pos: usize,
        all_logits: bool,
    ) -> Result<B::Tensor> {
        let c = &self.config;
        if ids.is_empty() {
            return Err(Error::EmptyPrompt);
        }
        if start_pos + ids.len() > self.context {
            return Err(Error::ContextOverflow {
                prompt: start_pos + ids.len(),
                context: self.context,
            });
        }
        let attention = AttentionShape {
            n_heads: c.n_heads,
            n_kv_heads: c.n_kv_heads,
            head_dim: c.head_dim,
            start_pos,
        };
        // x: [seq, hidden]
        let mut x = b.embedding(&self.embed_tokens, ids)?;
        for (i, layer) in self.layers.iter().enumerate() {
            let h = b.rms_norm(&x, &layer.input_layernorm, c.rms_norm_eps)?;
            let mut q = layer.q_proj.forward(b, &h)?; // [seq, n_heads * head_dim]
            let mut k = layer.k_proj.forward(b, &h)?; // [seq, n_kv_heads * head_dim]
            let v = layer.v_proj.forward(b, &h)?; // [seq, n_kv_heads * head_dim]
            drop(h);
            if let (Some(q_norm), Some(k_norm)) = (&layer.q_norm, &layer.k_norm) {
                q = b.rms_norm(&q, q_norm, c.rms_norm_eps)?;
                k = b.rms_norm(&k, k_norm, c.rms_norm_eps)?;
            }
            let layout = RopeLayout::HalfSplit;
            b.rope(&mut q, &self.rope_table, c.head_dim, start_pos, layout)?;
            b.rope(&mut k, &self.rope_table, c.head_dim, start_pos, layout)?;
            b.write_kv(&mut self.cache, i, &k, &v, start_pos)?;
            drop((k, v));
            let attended = b.attention(&q, &self.cache, i, attention)?; // [seq, n_heads * head_dim]
            drop(q);
            let o = layer.o_proj.forward(b, &attended)?; // [seq, hidden]
            drop(attended);
            b.add(&mut x, &o)?;
            drop(o);

            let h = b.rms_norm(&x, &layer.post_attention_layernorm, c.rms_norm_eps)?;
            let gate = layer.gate_proj.forward(b, &h)?; // [seq, intermediate]
            let up = layer.up_proj.forward(b, &h)?; // [seq, intermediate]
            drop(h);
            let act = b.silu_mul(&gate, &up)?;
            drop((gate, up));
            let down = layer.down_proj.forward(b, &act)?; // [seq, hidden]
            drop(act);
            b.add(&mut x, &down)?;
        }
        if !all_logits {
            x = b.last_row(&x)?;
        }
        let x = b.rms_norm(&x, &self.norm, c.rms_norm_eps)?;
        let head = self.lm_head.as_ref().unwrap_or(&self.embed_tokens);
        b.linear(&x, head) // [seq or 1, vocab]
    }
}
