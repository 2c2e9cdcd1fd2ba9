//! A BERT encoder (`BertModel` and the encoder of `BertFor*` checkpoints): absolute position
//! and token-type embeddings, post-LayerNorm layers with biases, exact GELU, bidirectional
//! attention over a padded batch. Written once against [`Backend`]; tensors keep their
//! checkpoint names (an optional `bert.` prefix is accepted).

use serde::Deserialize;
use serde_json::Value;

use crate::backends::ops::{Activation, Backend};
use crate::error::{Error, Result};
use crate::formats::weights::Checkpoint;

/// `config.json` of a BERT checkpoint.
#[derive(Debug, Clone, Deserialize)]
pub struct BertConfig {
    #[serde(default)]
    pub architectures: Vec<String>,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_max_positions")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default = "default_position_type")]
    pub position_embedding_type: String,
    #[serde(default)]
    pub pad_token_id: Option<u32>,
}

fn default_max_positions() -> usize {
    512
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_act() -> String {
    "gelu".into()
}
fn default_position_type() -> String {
    "absolute".into()
}

/// Whether `config.json` describes a BERT model (`model_type: bert` or a `Bert*` architecture).
pub fn is_bert_config(config: &Value) -> bool {
    let bert_type = config.get("model_type").and_then(Value::as_str) == Some("bert");
    let bert_arch = config
        .get("architectures")
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter()
                .any(|n| n.as_str().is_some_and(|n| n.starts_with("Bert")))
        });
    bert_type || bert_arch
}

impl BertConfig {
    pub fn from_json(text: &str) -> Result<Self> {
        let value: Value = serde_json::from_str(text).map_err(|e| Error::json("config.json", e))?;
        if !is_bert_config(&value) {
            let name = value
                .get("architectures")
                .and_then(|a| a.get(0))
                .and_then(Value::as_str)
                .or_else(|| value.get("model_type").and_then(Value::as_str))
                .unwrap_or("unknown");
            return Err(Error::UnsupportedArchitecture(format!(
                "{name} (embeddings need a BERT model)"
            )));
        }
        let c: Self = serde_json::from_value(value).map_err(|e| Error::json("config.json", e))?;
        let bad = |m: String| Err(Error::Config(m));
        if c.num_attention_heads == 0 || !c.hidden_size.is_multiple_of(c.num_attention_heads) {
            return bad(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                c.hidden_size, c.num_attention_heads
            ));
        }
        if c.hidden_size == 0 || c.vocab_size == 0 || c.max_position_embeddings == 0 {
            return bad(
                "hidden_size, vocab_size and max_position_embeddings must be positive".into(),
            );
        }
        if c.hidden_act != "gelu" {
            return bad(format!(
                "hidden_act `{}` is not supported (gelu is)",
                c.hidden_act
            ));
        }
        if c.position_embedding_type != "absolute" {
            return bad(format!(
                "position_embedding_type `{}` is not supported (absolute is)",
                c.position_embedding_type
            ));
        }
        Ok(c)
    }

    pub fn architecture(&self) -> &str {
        self.architectures
            .first()
            .map_or("BertModel", String::as_str)
    }

    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

struct Linear<B: Backend> {
    weight: B::Weight,
    bias: B::Weight,
}

struct LayerNorm<B: Backend> {
    weight: B::Weight,
    bias: B::Weight,
}

struct Layer<B: Backend> {
    query: Linear<B>,
    key: Linear<B>,
    value: Linear<B>,
    attention_output: Linear<B>,
    attention_norm: LayerNorm<B>,
    intermediate: Linear<B>,
    output: Linear<B>,
    output_norm: LayerNorm<B>,
}

pub struct Bert<B: Backend> {
    config: BertConfig,
    word_embeddings: B::Weight,
    position_embeddings: B::Weight,
    token_type_embeddings: B::Weight,
    embeddings_norm: LayerNorm<B>,
    layers: Vec<Layer<B>>,
}

/// A padded batch: `batch = lengths.len()` sequences of `seq` positions each, row-major.
pub struct Batch<'a> {
    /// `[batch * seq]` token ids; padding positions hold any valid id.
    pub ids: &'a [u32],
    /// `[batch * seq]` token type (segment) ids.
    pub token_type_ids: &'a [u32],
    /// Real tokens per sequence, each in `1..=seq`.
    pub lengths: &'a [u32],
    pub seq: usize,
}

struct Loader<'a, B: Backend> {
    backend: &'a mut B,
    checkpoint: &'a Checkpoint<'a>,
    /// `""` or `"bert."`.
    prefix: &'static str,
}

impl<B: Backend> Loader<'_, B> {
    fn weight(&mut self, name: &str, shape: &[usize]) -> Result<B::Weight> {
        let name = format!("{}{name}", self.prefix);
        let tensor = self.checkpoint.tensor(&name, shape)?;
        self.backend.upload_weight(&name, tensor.view())
    }

    fn linear(&mut self, prefix: &str, out: usize, input: usize) -> Result<Linear<B>> {
        Ok(Linear {
            weight: self.weight(&format!("{prefix}.weight"), &[out, input])?,
            bias: self.weight(&format!("{prefix}.bias"), &[out])?,
        })
    }

    fn norm(&mut self, prefix: &str, width: usize) -> Result<LayerNorm<B>> {
        Ok(LayerNorm {
            weight: self.weight(&format!("{prefix}.weight"), &[width])?,
            bias: self.weight(&format!("{prefix}.bias"), &[width])?,
        })
    }
}

impl<B: Backend> Linear<B> {
    /// x: [rows, in] -> [rows, out]
    fn forward(&self, b: &mut B, x: &B::Tensor) -> Result<B::Tensor> {
        let mut y = b.linear(x, &self.weight)?;
        b.add_bias(&mut y, &self.bias)?;
        Ok(y)
    }
}

impl<B: Backend> LayerNorm<B> {
    /// x: [rows, hidden] -> [rows, hidden]
    fn forward(&self, b: &mut B, x: &B::Tensor, eps: f32) -> Result<B::Tensor> {
        b.layer_norm(x, &self.weight, &self.bias, eps)
    }
}

impl<B: Backend> Bert<B> {
    pub fn load(backend: &mut B, config: BertConfig, checkpoint: &Checkpoint<'_>) -> Result<Self> {
        let c = &config;
        let prefix = if checkpoint.contains("embeddings.word_embeddings.weight") {
            ""
        } else {
            "bert."
        };
        let mut load = Loader {
            backend,
            checkpoint,
            prefix,
        };
        let h = c.hidden_size;
        let word_embeddings =
            load.weight("embeddings.word_embeddings.weight", &[c.vocab_size, h])?;
        let position_embeddings = load.weight(
            "embeddings.position_embeddings.weight",
            &[c.max_position_embeddings, h],
        )?;
        let token_type_embeddings = load.weight(
            "embeddings.token_type_embeddings.weight",
            &[c.type_vocab_size, h],
        )?;
        let embeddings_norm = load.norm("embeddings.LayerNorm", h)?;
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            layers.push(Layer {
                query: load.linear(&format!("{p}.attention.self.query"), h, h)?,
                key: load.linear(&format!("{p}.attention.self.key"), h, h)?,
                value: load.linear(&format!("{p}.attention.self.value"), h, h)?,
                attention_output: load.linear(&format!("{p}.attention.output.dense"), h, h)?,
                attention_norm: load.norm(&format!("{p}.attention.output.LayerNorm"), h)?,
                intermediate: load.linear(
                    &format!("{p}.intermediate.dense"),
                    c.intermediate_size,
                    h,
                )?,
                output: load.linear(&format!("{p}.output.dense"), h, c.intermediate_size)?,
                output_norm: load.norm(&format!("{p}.output.LayerNorm"), h)?,
            });
        }
        Ok(Self {
            config,
            word_embeddings,
            position_embeddings,
            token_type_embeddings,
            embeddings_norm,
            layers,
        })
    }

    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// The last hidden state. batch: [batch * seq] ids -> [batch * seq, hidden]; rows past a
    /// sequence's length hold values that depend on the padding and must be ignored.
    pub fn forward(&self, b: &mut B, batch: &Batch<'_>) -> Result<B::Tensor> {
        let c = &self.config;
        let Batch {
            ids,
            token_type_ids,
            lengths,
            seq,
        } = *batch;
        if seq == 0 || lengths.is_empty() {
            return Err(Error::EmptyPrompt);
        }
        if seq > c.max_position_embeddings {
            return Err(Error::ContextOverflow {
                prompt: seq,
                context: c.max_position_embeddings,
            });
        }
        let rows = lengths.len() * seq;
        if ids.len() != rows || token_type_ids.len() != rows {
            return Err(Error::InvalidArgument(format!(
                "bert: {} ids and {} token type ids for {} sequences of {seq}",
                ids.len(),
                token_type_ids.len(),
                lengths.len()
            )));
        }
        let eps = c.layer_norm_eps as f32;
        let positions: Vec<u32> = (0..rows).map(|r| (r % seq) as u32).collect();
        // x: [batch * seq, hidden]
        let mut x = b.embedding(&self.word_embeddings, ids)?;
        let p = b.embedding(&self.position_embeddings, &positions)?;
        b.add(&mut x, &p)?;
        drop(p);
        let t = b.embedding(&self.token_type_embeddings, token_type_ids)?;
        b.add(&mut x, &t)?;
        drop(t);
        let mut x = self.embeddings_norm.forward(b, &x, eps)?;
        for layer in &self.layers {
            let q = layer.query.forward(b, &x)?; // [batch * seq, hidden]
            let k = layer.key.forward(b, &x)?; // [batch * seq, hidden]
            let v = layer.value.forward(b, &x)?; // [batch * seq, hidden]
            let attended = b.encoder_attention(&q, &k, &v, lengths, c.num_attention_heads)?;
            drop((q, k, v));
            let mut o = layer.attention_output.forward(b, &attended)?; // [batch * seq, hidden]
            drop(attended);
            b.add(&mut o, &x)?;
            x = layer.attention_norm.forward(b, &o, eps)?;
            drop(o);
            let mut h = layer.intermediate.forward(b, &x)?; // [batch * seq, intermediate]
            b.activation(&mut h, Activation::Gelu)?;
            let mut o = layer.output.forward(b, &h)?; // [batch * seq, hidden]
            drop(h);
            b.add(&mut o, &x)?;
            x = layer.output_norm.forward(b, &o, eps)?;
        }
        Ok(x)
    }
}
