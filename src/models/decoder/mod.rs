//! One decoder for every family hearth runs (Llama 2/3, SmolLM2/3, Mistral, Qwen2/3, Gemma
//! 1/2/3, OLMo 2, Granite, Phi-3/4): the variation points are named in [`DecoderConfig`] (norm
//! kind, offset and placement, activation, embedding/residual/logit scales, soft caps, each
//! layer's window and RoPE), and the checkpoint says the rest (q/k/v biases, q/k norms, fused
//! projections, a separate `lm_head`). Written once against [`Backend`]; tensors keep their
//! checkpoint names.

use crate::backends::ops::{AttentionShape, Backend, RopeLayout};
use crate::error::{Error, Result};
use crate::formats::weights::{Checkpoint, DType, HostTensor, TensorView};
use crate::models::config::{Architecture, DecoderConfig, LayerKind, NormPlacement};
use crate::models::rope::identity_table;

mod gpt2;

struct Linear<B: Backend> {
    weight: B::Weight,
    bias: Option<B::Weight>,
}

/// An RMSNorm (`bias` None) or a LayerNorm.
struct Norm<B: Backend> {
    weight: B::Weight,
    bias: Option<B::Weight>,
}

/// The attention's input projections.
enum QkvProj<B: Backend> {
    /// q, k and v rows stacked in one matrix (`[q_dim + 2 * kv_dim, hidden]`): one dispatch for
    /// the three products, one for RoPE and the KV-cache write.
    Fused(Linear<B>),
    /// When the three differ in dtype (mixed-quantization GGUFs) or in having a bias, or
    /// q and k are normalized between the projection and RoPE.
    Separate {
        q: Linear<B>,
        k: Linear<B>,
        v: Linear<B>,
        /// RMSNorms on queries and keys before RoPE: per head (Qwen3, Gemma 3) or over the
        /// whole projection (OLMo 2).
        norms: Option<(Norm<B>, Norm<B>)>,
    },
}

/// The MLP's first projection(s).
enum Mlp<B: Backend> {
    /// Gate and up rows interleaved in one matrix, for [`Backend::linear_gated`].
    GatedFused(B::Weight),
    /// When the two differ in dtype or have biases.
    Gated { gate: Linear<B>, up: Linear<B> },
    /// `act(up)` without a gate (GPT-2).
    Plain { up: Linear<B> },
}

struct Layer<B: Backend> {
    kind: LayerKind,
    /// Norms before and after each branch; which exist is the family's norm placement.
    attn_in: Option<Norm<B>>,
    attn_out: Option<Norm<B>>,
    qkv: QkvProj<B>,
    o_proj: Linear<B>,
    mlp_in: Option<Norm<B>>,
    mlp_out: Option<Norm<B>>,
    mlp: Mlp<B>,
    down_proj: Linear<B>,
}

pub struct Decoder<B: Backend> {
    config: DecoderConfig,
    embed_tokens: B::Weight,
    /// Learned positions (GPT-2): `[max_positions, hidden]`.
    position_embeddings: Option<B::Weight>,
    layers: Vec<Layer<B>>,
    norm: Norm<B>,
    /// `None` when the output projection is tied to `embed_tokens`.
    lm_head: Option<B::Weight>,
    /// (cos, sin) for every position of the context and every pair, one table per entry of
    /// `config.ropes`, and an identity table for fused layers without RoPE.
    rope_tables: Vec<B::Weight>,
    identity_rope: Option<B::Weight>,
    cache: B::KvCache,
    context: usize,
    /// Weight bytes one decode step reads (see [`Decoder::decode_weight_bytes`]).
    decode_weight_bytes: u64,
}

/// The uploaded weights of a decoder, and what its byte count needs.
struct Parts<B: Backend> {
    embed_tokens: B::Weight,
    position_embeddings: Option<B::Weight>,
    layers: Vec<Layer<B>>,
    norm: Norm<B>,
    lm_head: Option<B::Weight>,
    /// Bytes of the embedding table, and of all weights before the model's were uploaded.
    embed_bytes: u64,
    weights_before: u64,
}

/// Loads checkpoint tensors by name, checking their shapes.
pub(crate) struct Loader<'a, B: Backend> {
    pub backend: &'a mut B,
    pub checkpoint: &'a Checkpoint<'a>,
    /// Added to every norm weight (Gemma's `1 + w`).
    pub norm_offset: f32,
}

fn f32_view<'a>(shape: &'a [usize], values: &'a [f32]) -> TensorView<'a> {
    TensorView {
        dtype: DType::F32,
        shape,
        bytes: bytemuck::cast_slice(values),
    }
}

impl<B: Backend> Loader<'_, B> {
    pub fn weight(&mut self, name: &str, shape: &[usize]) -> Result<B::Weight> {
        let tensor = self.checkpoint.tensor(name, shape)?;
        self.backend.upload_weight(name, tensor.view())
    }

    pub fn optional(&mut self, name: &str, shape: &[usize]) -> Result<Option<B::Weight>> {
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

    /// `{prefix}.weight: [width]` plus the family's offset, and `{prefix}.bias` if present.
    fn norm(&mut self, prefix: &str, width: usize) -> Result<Norm<B>> {
        let name = format!("{prefix}.weight");
        let weight = if self.norm_offset == 0.0 {
            self.weight(&name, &[width])?
        } else {
            let mut values = self.checkpoint.tensor(&name, &[width])?.view().to_f32();
            values.iter_mut().for_each(|v| *v += self.norm_offset);
            self.backend
                .upload_weight(&name, f32_view(&[width], &values))?
        };
        Ok(Norm {
            weight,
            bias: self.optional(&format!("{prefix}.bias"), &[width])?,
        })
    }

    fn optional_norm(&mut self, prefix: &str, width: usize) -> Result<Option<Norm<B>>> {
        if self.checkpoint.contains(&format!("{prefix}.weight")) {
            self.norm(prefix, width).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Whether `names` are all present with one dtype (as loaded), or all absent.
    fn fusable(&self, names: &[String]) -> bool {
        let dtypes: Vec<Option<DType>> = names
            .iter()
            .map(|name| self.checkpoint.meta(name).ok().map(|(dtype, _)| dtype))
            .collect();
        dtypes.windows(2).all(|pair| pair[0] == pair[1])
    }

    fn upload_linear(
        &mut self,
        name: &str,
        weight: HostTensor,
        bias: Option<HostTensor>,
    ) -> Result<Linear<B>> {
        let weight = self
            .backend
            .upload_weight(&format!("{name}.weight"), weight.view())?;
        let bias = match bias {
            Some(bias) => Some(
                self.backend
                    .upload_weight(&format!("{name}.bias"), bias.view())?,
            ),
            None => None,
        };
        Ok(Linear { weight, bias })
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
        let bias = if self.checkpoint.contains(&biases[0]) {
            Some(join(&read(&biases, false)?)?)
        } else {
            None
        };
        self.upload_linear(name, weight, bias).map(Some)
    }

    fn qkv(&mut self, c: &DecoderConfig, p: &str) -> Result<QkvProj<B>> {
        let a = format!("{p}.self_attn");
        let (q_dim, kv_dim) = (c.q_dim(), c.kv_dim());
        // Phi-3 ships q, k and v fused, in the stacked layout the fused kernel reads.
        let fused_name = format!("{a}.qkv_proj");
        if self.checkpoint.contains(&format!("{fused_name}.weight")) {
            return Ok(QkvProj::Fused(self.linear(
                &fused_name,
                q_dim + 2 * kv_dim,
                c.hidden,
            )?));
        }
        let (q_norm_width, k_norm_width) = if c.qk_norm_whole {
            (q_dim, kv_dim)
        } else {
            (c.head_dim, c.head_dim)
        };
        let norms = (
            self.optional_norm(&format!("{a}.q_norm"), q_norm_width)?,
            self.optional_norm(&format!("{a}.k_norm"), k_norm_width)?,
        );
        let parts = [
            (format!("{a}.q_proj"), q_dim),
            (format!("{a}.k_proj"), kv_dim),
            (format!("{a}.v_proj"), kv_dim),
        ];
        if let (None, None) = norms {
            if let Some(fused) = self.fused(&fused_name, &parts, c.hidden, false)? {
                return Ok(QkvProj::Fused(fused));
            }
        }
        let [(q, _), (k, _), (v, _)] = parts;
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

    fn mlp(&mut self, c: &DecoderConfig, p: &str) -> Result<Mlp<B>> {
        let (inter, hidden) = (c.intermediate, c.hidden);
        let gate = format!("{p}.mlp.gate_proj");
        let up = format!("{p}.mlp.up_proj");
        let name = format!("{p}.mlp.gate_up_proj");
        if !c.gated_mlp {
            return Ok(Mlp::Plain {
                up: self.linear(&up, inter, hidden)?,
            });
        }
        // Phi-3 ships gate and up stacked (gate first); GGUF keeps that as a double `ffn_up`.
        let stacked = [format!("{name}.weight"), format!("{up}.weight")]
            .into_iter()
            .find(|n| {
                !self.checkpoint.contains(&format!("{gate}.weight"))
                    && matches!(self.checkpoint.meta(n), Ok((_, shape)) if shape.first() == Some(&(2 * inter)))
            });
        if let Some(stacked) = stacked {
            let (g, u) = self
                .checkpoint
                .tensor(&stacked, &[2 * inter, hidden])?
                .split_rows(inter)?;
            let weight = HostTensor::interleave_rows(&g, &u)?;
            return Ok(Mlp::GatedFused(
                self.backend.upload_weight(&name, weight.view())?,
            ));
        }
        let parts = [(gate.clone(), inter), (up.clone(), inter)];
        match self.fused(&name, &parts, hidden, true)? {
            Some(Linear { weight, bias: None }) => Ok(Mlp::GatedFused(weight)),
            _ => Ok(Mlp::Gated {
                gate: self.linear(&gate, inter, hidden)?,
                up: self.linear(&up, inter, hidden)?,
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
}

impl<B: Backend> Norm<B> {
    /// x: [seq, width] -> [seq, width]
    fn forward(&self, backend: &mut B, x: &B::Tensor, eps: f32) -> Result<B::Tensor> {
        match &self.bias {
            None => backend.rms_norm(x, &self.weight, eps),
            Some(bias) => backend.layer_norm(x, &self.weight, bias, eps),
        }
    }
}

/// Checkpoint names of a layer's four norm slots under each placement:
/// (before attention, after attention, before the MLP, after the MLP).
fn norm_names(placement: NormPlacement) -> [Option<&'static str>; 4] {
    match placement {
        NormPlacement::Pre => [
            Some("input_layernorm"),
            None,
            Some("post_attention_layernorm"),
            None,
        ],
        NormPlacement::Sandwich => [
            Some("input_layernorm"),
            Some("post_attention_layernorm"),
            Some("pre_feedforward_layernorm"),
            Some("post_feedforward_layernorm"),
        ],
        NormPlacement::Post => [
            None,
            Some("post_attention_layernorm"),
            None,
            Some("post_feedforward_layernorm"),
        ],
    }
}

impl<B: Backend> Decoder<B> {
    /// Uploads the weights and allocates a KV cache of `context` positions.
    pub fn load(
        backend: &mut B,
        config: DecoderConfig,
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
        if c.architecture == Architecture::Gpt2 && gpt2::is_transformers_layout(checkpoint) {
            return Self::load_gpt2(backend, config, checkpoint, context);
        }
        // Gemma 3's multimodal checkpoints keep the text model under another prefix.
        let root = ["model.", "language_model.model.", "model.language_model."]
            .into_iter()
            .find(|root| checkpoint.contains(&format!("{root}embed_tokens.weight")))
            .unwrap_or("model.");
        let mut load = Loader {
            backend: &mut *backend,
            checkpoint,
            norm_offset: c.norm_weight_offset,
        };
        let weights_before = load.backend.memory().weights;
        let embed_tokens =
            load.weight(&format!("{root}embed_tokens.weight"), &[c.vocab, c.hidden])?;
        let embed_bytes = load.backend.memory().weights - weights_before;
        let norm_slots = norm_names(c.norm_placement);
        let mut layers = Vec::with_capacity(c.n_layers);
        for (i, &kind) in c.layers.iter().enumerate() {
            let p = format!("{root}layers.{i}");
            let mut norms = Vec::with_capacity(4);
            for slot in norm_slots {
                norms.push(match slot {
                    Some(name) => Some(load.norm(&format!("{p}.{name}"), c.hidden)?),
                    None => None,
                });
            }
            let [attn_in, attn_out, mlp_in, mlp_out]: [Option<Norm<B>>; 4] = norms
                .try_into()
                .map_err(|_| Error::Config("norm slots".into()))?;
            layers.push(Layer {
                kind,
                attn_in,
                attn_out,
                qkv: load.qkv(c, &p)?,
                o_proj: load.linear(&format!("{p}.self_attn.o_proj"), c.hidden, c.q_dim())?,
                mlp_in,
                mlp_out,
                mlp: load.mlp(c, &p)?,
                down_proj: load.linear(&format!("{p}.mlp.down_proj"), c.hidden, c.intermediate)?,
            });
        }
        let norm = load.norm(&format!("{root}norm"), c.hidden)?;
        // Tied checkpoints omit lm_head; some untied configs still share it.
        let lm_head = if c.tie_word_embeddings {
            None
        } else {
            ["lm_head.weight", "language_model.lm_head.weight"]
                .into_iter()
                .find(|name| checkpoint.contains(name))
                .map(|name| load.weight(name, &[c.vocab, c.hidden]))
                .transpose()?
        };
        // Learned positions: GPT-2 as llama.cpp's converter writes it.
        let position_embeddings = load.optional(
            &format!("{root}embed_positions.weight"),
            &[c.max_position_embeddings, c.hidden],
        )?;
        let parts = Parts {
            embed_tokens,
            position_embeddings,
            layers,
            norm,
            lm_head,
            embed_bytes,
            weights_before,
        };
        Self::finish(backend, config, parts, context)
    }

    /// Rope tables, the KV cache and the byte count, once the weights are up.
    fn finish(
        backend: &mut B,
        config: DecoderConfig,
        parts: Parts<B>,
        context: usize,
    ) -> Result<Self> {
        let c = &config;
        let Parts {
            embed_tokens,
            position_embeddings,
            layers,
            norm,
            lm_head,
            embed_bytes,
            weights_before,
        } = parts;
        // Every matrix is read whole once a step; the embedding table only one row, unless it
        // is also the output projection.
        let model_bytes = backend.memory().weights - weights_before;
        let embed_row = embed_bytes / c.vocab.max(1) as u64;
        let decode_weight_bytes = match lm_head {
            Some(_) => model_bytes - embed_bytes + embed_row,
            None => model_bytes + embed_row,
        };
        let mut rope_tables = Vec::with_capacity(c.ropes.len());
        for rope in &c.ropes {
            let table = rope.table(context);
            let shape = [context, rope.rotary_dim / 2, 2];
            rope_tables.push(backend.upload_weight("rope_table", f32_view(&shape, &table))?);
        }
        let needs_identity = layers
            .iter()
            .any(|l| l.kind.rope.is_none() && matches!(l.qkv, QkvProj::Fused(_)));
        let identity_rope = if needs_identity {
            let table = identity_table(context, c.head_dim);
            let shape = [context, c.head_dim / 2, 2];
            Some(backend.upload_weight("rope_identity", f32_view(&shape, &table))?)
        } else {
            None
        };
        let cache = backend.kv_cache(c.n_layers, context, c.kv_dim())?;
        Ok(Self {
            config,
            embed_tokens,
            position_embeddings,
            layers,
            norm,
            lm_head,
            rope_tables,
            identity_rope,
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

    pub fn config(&self) -> &DecoderConfig {
        &self.config
    }

    /// Positions the KV cache holds.
    pub fn context(&self) -> usize {
        self.context
    }

    /// `x += scale * branch`, through `norm` first if the placement puts one there.
    fn join_residual(
        &self,
        b: &mut B,
        x: &mut B::Tensor,
        mut branch: B::Tensor,
        norm: Option<&Norm<B>>,
    ) -> Result<()> {
        let c = &self.config;
        if let Some(norm) = norm {
            branch = norm.forward(b, &branch, c.norm_eps)?;
        }
        if c.residual_scale != 1.0 {
            b.scale(&mut branch, c.residual_scale, 0.0)?;
        }
        b.add(x, &branch)
    }

    /// `x += o_proj(attended)` (or `down_proj`), fused when nothing comes between.
    fn project_into_residual(
        &self,
        b: &mut B,
        x: &mut B::Tensor,
        proj: &Linear<B>,
        input: &B::Tensor,
        norm: Option<&Norm<B>>,
    ) -> Result<()> {
        if norm.is_none() && proj.bias.is_none() && self.config.residual_scale == 1.0 {
            return b.linear_add(input, &proj.weight, x);
        }
        let y = proj.forward(b, input)?;
        self.join_residual(b, x, y, norm)
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
        // x: [seq, hidden]
        let mut x = b.embedding(&self.embed_tokens, ids)?;
        if c.embedding_scale != 1.0 {
            b.scale(&mut x, c.embedding_scale, 0.0)?;
        }
        if let Some(positions) = &self.position_embeddings {
            let ids: Vec<u32> = (start_pos..start_pos + ids.len())
                .map(|p| p as u32)
                .collect();
            let p = b.embedding(positions, &ids)?;
            b.add(&mut x, &p)?;
        }
        let layout = RopeLayout::HalfSplit;
        for (i, layer) in self.layers.iter().enumerate() {
            let mut attention = AttentionShape::new(c.n_heads, c.n_kv_heads, c.head_dim, start_pos);
            attention.scale = c.attention_scale;
            attention.softcap = c.attention_softcap;
            attention.window = layer.kind.window;
            let table = match layer.kind.rope {
                Some(index) => Some(&self.rope_tables[index]),
                None => self.identity_rope.as_ref(),
            };
            let normed = match &layer.attn_in {
                Some(norm) => Some(norm.forward(b, &x, c.norm_eps)?),
                None => None,
            };
            let h = normed.as_ref().unwrap_or(&x);
            // q: [seq, n_heads * head_dim]; k, v go to the cache.
            let q = match &layer.qkv {
                QkvProj::Fused(qkv) => {
                    let qkv = qkv.forward(b, h)?;
                    drop(normed);
                    let table = table.ok_or_else(|| Error::Config("no rope table".into()))?;
                    b.rope_qkv(&qkv, table, &mut self.cache, i, attention, layout)?
                }
                QkvProj::Separate { q, k, v, norms } => {
                    let mut q = q.forward(b, h)?;
                    let mut k = k.forward(b, h)?; // [seq, n_kv_heads * head_dim]
                    let v = v.forward(b, h)?; // [seq, n_kv_heads * head_dim]
                    drop(normed);
                    if let Some((q_norm, k_norm)) = norms {
                        q = q_norm.forward(b, &q, c.norm_eps)?;
                        k = k_norm.forward(b, &k, c.norm_eps)?;
                    }
                    if let Some(index) = layer.kind.rope {
                        let table = &self.rope_tables[index];
                        b.rope(&mut q, table, c.head_dim, start_pos, layout)?;
                        b.rope(&mut k, table, c.head_dim, start_pos, layout)?;
                    }
                    b.write_kv(&mut self.cache, i, &k, &v, start_pos)?;
                    q
                }
            };
            let attended = b.attention(&q, &self.cache, i, attention)?; // [seq, n_heads * head_dim]
            drop(q);
            self.project_into_residual(
                b,
                &mut x,
                &layer.o_proj,
                &attended,
                layer.attn_out.as_ref(),
            )?;
            drop(attended);

            let normed = match &layer.mlp_in {
                Some(norm) => Some(norm.forward(b, &x, c.norm_eps)?),
                None => None,
            };
            let h = normed.as_ref().unwrap_or(&x);
            let act = match &layer.mlp {
                Mlp::GatedFused(gate_up) => b.linear_gated(h, gate_up, c.activation)?,
                Mlp::Gated { gate, up } => {
                    let gate = gate.forward(b, h)?; // [seq, intermediate]
                    let up = up.forward(b, h)?; // [seq, intermediate]
                    b.gated(&gate, &up, c.activation)?
                }
                Mlp::Plain { up } => {
                    let mut up = up.forward(b, h)?; // [seq, intermediate]
                    b.activation(&mut up, c.activation)?;
                    up
                }
            };
            drop(normed);
            self.project_into_residual(b, &mut x, &layer.down_proj, &act, layer.mlp_out.as_ref())?;
        }
        if !all_logits {
            x = b.last_row(&x)?;
        }
        let x = self.norm.forward(b, &x, c.norm_eps)?;
        let head = self.lm_head.as_ref().unwrap_or(&self.embed_tokens);
        let mut logits = b.linear(&x, head)?; // [seq or 1, vocab]
        if c.logit_scale != 1.0 || c.final_softcap > 0.0 {
            b.scale(&mut logits, c.logit_scale, c.final_softcap)?;
        }
        Ok(logits)
    }
}
