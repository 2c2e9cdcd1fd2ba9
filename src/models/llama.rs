//! One Llama-family decoder for Llama 2/3, SmolLM, TinyLlama, Mistral, Qwen2 and Qwen3, driven by
//! the config and by which tensors the checkpoint has (q/k/v biases, per-head q/k norms, a
//! separate `lm_head`). Written once against [`Backend`]; tensors keep their checkpoint names.

use crate::models::config::LlamaConfig;
use crate::error::{Error, Result};
use crate::backends::ops::{Activation, AttentionShape, Backend, RopeLayout};
use crate::formats::weights::{Checkpoint, DType, HostTensor, TensorView};

struct Linear<B: Backend> {
    weight: B::Weight,
    bias: Option<B::Weight>,
}

/// The attention's input projections.
enum QkvProj<B: Backend> {
    /// q, k and v rows stacked in one matrix (`[q_dim + 2 * kv_dim, hidden]`): one dispatch for
    /// the three products, one for RoPE and the KV-cache write.
    Fused(Linear<B>),
    /// When the three differ in dtype (mixed-quantization GGUFs) or in having a bias, or
    /// Qwen3 normalizes q and k between the projection and RoPE.
    Separate {
        q: Linear<B>,
        k: Linear<B>,
        v: Linear<B>,
        /// Qwen3's per-head RMSNorms on queries and keys, before RoPE.
        norms: Option<(B::Weight, B::Weight)>,
    },
}

/// The MLP's gate and up projections.
enum GateUp<B: Backend> {
    /// Gate and up rows interleaved in one matrix, for [`Backend::linear_gated`].
    Fused(B::Weight),
    /// When the two differ in dtype or have biases.
    Separate { gate: Linear<B>, up: Linear<B> },
}

struct Layer<B: Backend> {
    input_layernorm: B::Weight,
    qkv: QkvProj<B>,
    o_proj: Linear<B>,
    post_attention_layernorm: B::Weight,
    gate_up: GateUp<B>,
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
    /// Weight bytes one decode step reads (see [`Llama::decode_weight_bytes`]).
    decode_weight_bytes: u64,
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

    /// Whether `names` are all present with one dtype (as loaded), or all absent.
    fn fusable(&self, names: &[String]) -> bool {
        let dtypes: Vec<Option<DType>> = names
            .iter()
            .map(|name| self.checkpoint.meta(name).ok().map(|(dtype, _)| dtype))
            .collect();
        dtypes.windows(2).all(|pair| pair[0] == pair[1])
    }

    /// Linears `{prefix}` of `(prefix, out rows)` whose weights are stacked, or interleaved
    /// row by row, into one `[sum of out, input]` matrix (and their biases, if any, likewise),
    /// uploaded as `name`; `None` when their dtypes or biases differ.
    fn fused(
        &mut self,
        name: &str,
        parts: &[(String, usize)],
        input: usize,
        interleave: bool,
    ) -> Result<Option<Linear<B>>> {
        let weights: Vec<String> = parts.iter().map(|(p, _)| format!("{p}.weight")).collect();
        let biases: Vec<String> = parts.iter().map(|(p, _)| format!("{p}.bias")).collect();
        if !self.fusable(&weights) || !self.fusable(&biases) {
            return Ok(None);
        }
        let read = |names: &[String], matrix: bool| -> Result<Vec<HostTensor>> {
            names
                .iter()
                .zip(parts)
                .map(|(name, &(_, out))| {
                    let shape: &[usize] = if matrix { &[out, input] } else { &[out] };
                    self.checkpoint.tensor(name, shape)
                })
                .collect()
        };
        let join = |tensors: &[HostTensor]| match tensors {
            [a, b] if interleave => HostTensor::interleave_rows(a, b),
            _ => HostTensor::concat_rows(tensors),
        };
        let weight = join(&read(&weights, true)?)?;
        let weight = self
            .backend
            .upload_weight(&format!("{name}.weight"), weight.view())?;
        let bias = if self.checkpoint.contains(&biases[0]) {
            let bias = join(&read(&biases, false)?)?;
            Some(
                self.backend
                    .upload_weight(&format!("{name}.bias"), bias.view())?,
            )
        } else {
            None
        };
        Ok(Some(Linear { weight, bias }))
    }

    fn qkv(&mut self, c: &LlamaConfig, p: &str) -> Result<QkvProj<B>> {
        let a = format!("{p}.self_attn");
        let norms = (
            self.optional(&format!("{a}.q_norm.weight"), &[c.head_dim])?,
            self.optional(&format!("{a}.k_norm.weight"), &[c.head_dim])?,
        );
        let parts = [
            (format!("{a}.q_proj"), c.q_dim()),
            (format!("{a}.k_proj"), c.kv_dim()),
            (format!("{a}.v_proj"), c.kv_dim()),
        ];
        if let (None, None) = norms {
            if let Some(fused) = self.fused(&format!("{a}.qkv_proj"), &parts, c.hidden, false)? {
                return Ok(QkvProj::Fused(fused));
            }
        }
        let [(q, q_dim), (k, kv_dim), (v, _)] = parts;
        Ok(QkvProj::Separate {
            q: self.linear(&q, q_dim, c.hidden)?,
            k: self.linear(&k, kv_dim, c.hidden)?,
            v: self.linear(&v, kv_dim, c.hidden)?,
            norms: match norms {
                (Some(q_norm), Some(k_norm)) => Some((q_norm, k_norm)),
                _ => None,
            },
        })
    }

    fn gate_up(&mut self, c: &LlamaConfig, p: &str) -> Result<GateUp<B>> {
        let gate = format!("{p}.mlp.gate_proj");
        let up = format!("{p}.mlp.up_proj");
        let parts = [(gate.clone(), c.intermediate), (up.clone(), c.intermediate)];
        let name = format!("{p}.mlp.gate_up_proj");
        match self.fused(&name, &parts, c.hidden, true)? {
            Some(Linear { weight, bias: None }) => Ok(GateUp::Fused(weight)),
            _ => Ok(GateUp::Separate {
                gate: self.linear(&gate, c.intermediate, c.hidden)?,
                up: self.linear(&up, c.intermediate, c.hidden)?,
            }),
        }
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

    /// `out += forward(x)`, in one step when there is no bias.
    fn forward_add(&self, backend: &mut B, x: &B::Tensor, out: &mut B::Tensor) -> Result<()> {
        if self.bias.is_none() {
            return backend.linear_add(x, &self.weight, out);
        }
        let y = self.forward(backend, x)?;
        backend.add(out, &y)
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
        let weights_before = load.backend.memory().weights;
        let embed_tokens = load.weight("model.embed_tokens.weight", &[c.vocab, c.hidden])?;
        let embed_bytes = load.backend.memory().weights - weights_before;
        let mut layers = Vec::with_capacity(c.n_layers);
        for i in 0..c.n_layers {
            let p = format!("model.layers.{i}");
            layers.push(Layer {
                input_layernorm: load
                    .weight(&format!("{p}.input_layernorm.weight"), &[c.hidden])?,
                qkv: load.qkv(c, &p)?,
                o_proj: load.linear(&format!("{p}.self_attn.o_proj"), c.hidden, c.q_dim())?,
                post_attention_layernorm: load
                    .weight(&format!("{p}.post_attention_layernorm.weight"), &[c.hidden])?,
                gate_up: load.gate_up(c, &p)?,
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
        // Every matrix is read whole once a step; the embedding table only one row, unless it
        // is also the output projection.
        let model_bytes = load.backend.memory().weights - weights_before;
        let embed_row = embed_bytes / c.vocab.max(1) as u64;
        let decode_weight_bytes = match lm_head {
            Some(_) => model_bytes - embed_bytes + embed_row,
            None => model_bytes + embed_row,
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
            decode_weight_bytes,
        })
    }

    /// Weight bytes one decode step reads: every projection, norm and the output projection
    /// whole, one row of the embedding table. With the KV cache's bytes per position times the
    /// positions attended to, it is what the memory-bandwidth roofline divides.
    pub fn decode_weight_bytes(&self) -> u64 {
        self.decode_weight_bytes
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
        let attention = AttentionShape::new(c.n_heads, c.n_kv_heads, c.head_dim, start_pos);
        // x: [seq, hidden]
        let mut x = b.embedding(&self.embed_tokens, ids)?;
        let layout = RopeLayout::HalfSplit;
        for (i, layer) in self.layers.iter().enumerate() {
            let h = b.rms_norm(&x, &layer.input_layernorm, c.rms_norm_eps)?;
            // q: [seq, n_heads * head_dim]; k, v go to the cache.
            let q = match &layer.qkv {
                QkvProj::Fused(qkv) => {
                    let qkv = qkv.forward(b, &h)?;
                    drop(h);
                    b.rope_qkv(
                        &qkv,
                        &self.rope_table,
                        &mut self.cache,
                        i,
                        attention,
                        layout,
                    )?
                }
                QkvProj::Separate { q, k, v, norms } => {
                    let mut q = q.forward(b, &h)?;
                    let mut k = k.forward(b, &h)?; // [seq, n_kv_heads * head_dim]
                    let v = v.forward(b, &h)?; // [seq, n_kv_heads * head_dim]
                    drop(h);
                    if let Some((q_norm, k_norm)) = norms {
                        q = b.rms_norm(&q, q_norm, c.rms_norm_eps)?;
                        k = b.rms_norm(&k, k_norm, c.rms_norm_eps)?;
                    }
                    b.rope(&mut q, &self.rope_table, c.head_dim, start_pos, layout)?;
                    b.rope(&mut k, &self.rope_table, c.head_dim, start_pos, layout)?;
                    b.write_kv(&mut self.cache, i, &k, &v, start_pos)?;
                    q
                }
            };
            let attended = b.attention(&q, &self.cache, i, attention)?; // [seq, n_heads * head_dim]
            drop(q);
            layer.o_proj.forward_add(b, &attended, &mut x)?;
            drop(attended);

            let h = b.rms_norm(&x, &layer.post_attention_layernorm, c.rms_norm_eps)?;
            let act = match &layer.gate_up {
                GateUp::Fused(gate_up) => b.linear_gated(&h, gate_up, Activation::Silu)?,
                GateUp::Separate { gate, up } => {
                    let gate = gate.forward(b, &h)?; // [seq, intermediate]
                    let up = up.forward(b, &h)?; // [seq, intermediate]
                    b.gated(&gate, &up, Activation::Silu)?
                }
            };
            drop(h);
            layer.down_proj.forward_add(b, &act, &mut x)?;
        }
        if !all_logits {
            x = b.last_row(&x)?;
        }
        let x = b.rms_norm(&x, &self.norm, c.rms_norm_eps)?;
        let head = self.lm_head.as_ref().unwrap_or(&self.embed_tokens);
        b.linear(&x, head) // [seq or 1, vocab]
    }
}
