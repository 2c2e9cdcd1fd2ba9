//! The op interface a model is written against. Two backends implement it: [`crate::backends::gpu`]
//! (hand-written WGSL kernels recorded into one command encoder) and [`crate::backends::cpu`] (burn's CPU
//! backend), which is also the reference every kernel is tested against.
//!
//! Activations are f32 matrices `[rows, cols]`. Weights keep their checkpoint dtype; how a
//! backend stores them is its own business, so quantization stays a property of the weight.

use crate::error::Result;
use crate::formats::weights::TensorView;

/// Which dimensions rotary embedding pairs up within a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeLayout {
    /// Pairs (i, i + head_dim / 2): Hugging Face checkpoints.
    HalfSplit,
    /// Pairs (2i, 2i + 1): GGUF checkpoints and the original Llama code.
    Interleaved,
}

/// Shape of an attention call over the KV cache, and how its scores are formed.
#[derive(Debug, Clone, Copy)]
pub struct AttentionShape {
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    /// Position of the first query; the cache already holds this many earlier tokens.
    pub start_pos: usize,
    /// Multiplies `q . k` before the softmax: `1 / sqrt(head_dim)` unless a family says
    /// otherwise (Gemma 2/3's `query_pre_attn_scalar`, Granite's `attention_multiplier`).
    pub scale: f32,
    /// Gemma 2's soft cap: a scaled score `s` becomes `softcap * tanh(s / softcap)`; 0 for none.
    pub softcap: f32,
    /// Sliding-window attention: the query at position `p` sees the keys `j` with
    /// `p - window < j <= p`; 0 sees every earlier key.
    pub window: usize,
}

impl AttentionShape {
    /// Plain causal attention: scale `1 / sqrt(head_dim)`, no soft cap, no window.
    pub fn new(n_heads: usize, n_kv_heads: usize, head_dim: usize, start_pos: usize) -> Self {
        Self {
            n_heads,
            n_kv_heads,
            head_dim,
            start_pos,
            scale: 1.0 / (head_dim as f32).sqrt(),
            softcap: 0.0,
            window: 0,
        }
    }

    /// The first key the query at `position` sees.
    pub fn first_key(&self, position: usize) -> usize {
        if self.window == 0 {
            0
        } else {
            (position + 1).saturating_sub(self.window)
        }
    }
}

/// The nonlinearity of an MLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activation {
    /// `x * sigmoid(x)` (Llama's `silu`).
    Silu,
    /// The exact GELU, `x * (1 + erf(x / sqrt(2))) / 2` (transformers' `gelu`).
    Gelu,
    /// GELU's tanh approximation, `x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))) / 2`
    /// (transformers' `gelu_pytorch_tanh` and `gelu_new`).
    GeluTanh,
}

/// Bytes a backend holds on its device.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryUse {
    pub weights: u64,
    pub kv_cache: u64,
    /// Activation buffers held for reuse.
    pub activations: u64,
    /// The most device memory held at once so far, everything included; 0 where the backend
    /// does not track it (the CPU).
    pub peak: u64,
}

// The futures are awaited by the engine on one thread (the browser's), so no Send bound is
// wanted on them.
#[allow(async_fn_in_trait)]
pub trait Backend {
    /// An f32 activation matrix `[rows, cols]`.
    type Tensor;
    /// A weight in its storage dtype.
    type Weight;
    /// Keys and values of every layer, `[context, n_kv_heads * head_dim]` each.
    type KvCache;

    /// Human-readable name of the device ("cpu (burn flex)", the adapter name).
    fn device_name(&self) -> String;
    fn memory(&self) -> MemoryUse;

    /// Copies a checkpoint tensor to the device, keeping its dtype where the backend can.
    fn upload_weight(&mut self, name: &str, view: TensorView<'_>) -> Result<Self::Weight>;
    /// An activation from host data (tests, tables).
    fn tensor(&mut self, data: &[f32], rows: usize, cols: usize) -> Result<Self::Tensor>;
    fn kv_cache(&mut self, n_layers: usize, context: usize, kv_dim: usize)
        -> Result<Self::KvCache>;
    fn shape(&self, x: &Self::Tensor) -> (usize, usize);

    /// `[seq] -> [seq, hidden]`: rows of `table` (`[vocab, hidden]`).
    fn embedding(&mut self, table: &Self::Weight, ids: &[u32]) -> Result<Self::Tensor>;
    /// `[rows, cols] -> [rows, cols]`, each group of `weight.len()` values normalized on its
    /// own: the whole row when `weight` has `cols` values, each head for per-head q/k norms.
    fn rms_norm(
        &mut self,
        x: &Self::Tensor,
        weight: &Self::Weight,
        eps: f32,
    ) -> Result<Self::Tensor>;
    /// `x: [rows, in], w: [out, in] -> [rows, out]`.
    fn linear(&mut self, x: &Self::Tensor, w: &Self::Weight) -> Result<Self::Tensor>;
    /// `out += x w^T`: a projection added into the residual stream in one step.
    fn linear_add(
        &mut self,
        x: &Self::Tensor,
        w: &Self::Weight,
        out: &mut Self::Tensor,
    ) -> Result<()>;
    /// The gated MLP's first half in one step: `w: [2n, in]` holds the gate and up rows
    /// interleaved (row `2j` gate, `2j + 1` up); `[rows, in] -> [rows, n]`, `act(g) * u`.
    fn linear_gated(
        &mut self,
        x: &Self::Tensor,
        w: &Self::Weight,
        act: Activation,
    ) -> Result<Self::Tensor>;
    /// `x[r, :] += bias`.
    fn add_bias(&mut self, x: &mut Self::Tensor, bias: &Self::Weight) -> Result<()>;
    /// `x += y`.
    fn add(&mut self, x: &mut Self::Tensor, y: &Self::Tensor) -> Result<()>;
    /// `act(gate) * up`.
    fn gated(
        &mut self,
        gate: &Self::Tensor,
        up: &Self::Tensor,
        act: Activation,
    ) -> Result<Self::Tensor>;
    /// In place: `act(x)`.
    fn activation(&mut self, x: &mut Self::Tensor, act: Activation) -> Result<()>;
    /// In place: `x * factor`, then, with `softcap > 0`, `softcap * tanh(x / softcap)`
    /// (embedding multipliers, logit scaling, Gemma 2's final-logit soft cap).
    fn scale(&mut self, x: &mut Self::Tensor, factor: f32, softcap: f32) -> Result<()>;
    /// In place on `x: [seq, n_heads * head_dim]`; `table: [context, rotary_dim / 2, 2]` holds
    /// (cos, sin) per position and pair. The first `rotary_dim` dimensions of each head rotate
    /// (pairs `(i, i + rotary_dim / 2)` half-split, `(2i, 2i + 1)` interleaved); the rest pass
    /// through (Phi-4-mini's partial rotary).
    fn rope(
        &mut self,
        x: &mut Self::Tensor,
        table: &Self::Weight,
        head_dim: usize,
        start_pos: usize,
        layout: RopeLayout,
    ) -> Result<()>;
    /// What follows a fused q/k/v projection, in one step: `qkv` holds each token's q, k and v
    /// side by side (`[seq, (n_heads + 2 * n_kv_heads) * head_dim]`). Rotates q and k as
    /// [`Backend::rope`], stores k and v at positions `start_pos..` of `layer` as
    /// [`Backend::write_kv`], and returns q: `[seq, n_heads * head_dim]`.
    fn rope_qkv(
        &mut self,
        qkv: &Self::Tensor,
        table: &Self::Weight,
        cache: &mut Self::KvCache,
        layer: usize,
        shape: AttentionShape,
        layout: RopeLayout,
    ) -> Result<Self::Tensor>;
    /// Softmax over each row, in place.
    fn softmax(&mut self, x: &mut Self::Tensor) -> Result<()>;
    /// Stores `k, v: [seq, kv_dim]` at positions `start_pos..start_pos + seq` of `layer`.
    fn write_kv(
        &mut self,
        cache: &mut Self::KvCache,
        layer: usize,
        k: &Self::Tensor,
        v: &Self::Tensor,
        start_pos: usize,
    ) -> Result<()>;
    /// Causal attention of `q: [seq, n_heads * head_dim]` over the first
    /// `start_pos + seq` cached positions of `layer` -> `[seq, n_heads * head_dim]`.
    fn attention(
        &mut self,
        q: &Self::Tensor,
        cache: &Self::KvCache,
        layer: usize,
        shape: AttentionShape,
    ) -> Result<Self::Tensor>;
    /// `[rows, cols] -> [1, cols]`.
    fn last_row(&mut self, x: &Self::Tensor) -> Result<Self::Tensor>;
    /// On the last row of `logits`, for each distinct id: divides positive logits by `penalty`
    /// and multiplies negative ones.
    fn repetition_penalty(
        &mut self,
        logits: &mut Self::Tensor,
        ids: &[u32],
        penalty: f32,
    ) -> Result<()>;

    /// Index of the largest value of the last row (the first on ties).
    async fn argmax(&mut self, logits: &Self::Tensor) -> Result<u32>;
    /// The `k` largest values of the last row with their indices, in descending order.
    async fn top_k(&mut self, logits: &Self::Tensor, k: usize) -> Result<Vec<(u32, f32)>>;
    /// All values, row-major.
    async fn read(&mut self, x: &Self::Tensor) -> Result<Vec<f32>>;

    // Encoder ops (BERT).

    /// `[rows, cols] -> [rows, cols]`: `(x - mean) / sqrt(var + eps) * weight + bias` over each
    /// row, with `weight` and `bias` of length `cols` and the biased variance.
    fn layer_norm(
        &mut self,
        x: &Self::Tensor,
        weight: &Self::Weight,
        bias: &Self::Weight,
        eps: f32,
    ) -> Result<Self::Tensor>;
    /// Bidirectional attention over a padded batch. `q, k, v: [batch * seq, n_heads * head_dim]`
    /// hold `batch = lengths.len()` sequences of `seq` rows each; sequence `b` attends to its
    /// first `lengths[b]` keys only, so padding never changes a real row. Rows past a
    /// sequence's length get finite values that callers ignore.
    /// -> `[batch * seq, n_heads * head_dim]`.
    fn encoder_attention(
        &mut self,
        q: &Self::Tensor,
        k: &Self::Tensor,
        v: &Self::Tensor,
        lengths: &[u32],
        n_heads: usize,
    ) -> Result<Self::Tensor>;
}

/// Checks the shapes of an [`Backend::encoder_attention`] call; returns (seq, head_dim).
pub(crate) fn encoder_attention_shape(
    q: (usize, usize),
    k: (usize, usize),
    v: (usize, usize),
    lengths: &[u32],
    n_heads: usize,
) -> Result<(usize, usize)> {
    let (rows, cols) = q;
    let batch = lengths.len();
    let bad = |why: &str| {
        Err(crate::error::Error::InvalidArgument(format!(
            "encoder_attention: {why} (q [{rows}, {cols}], k {k:?}, v {v:?}, {batch} lengths, {n_heads} heads)"
        )))
    };
    if batch == 0 || rows == 0 || !rows.is_multiple_of(batch) {
        return bad("rows must be a positive multiple of the batch size");
    }
    if k != q || v != q {
        return bad("q, k and v must have one shape");
    }
    if n_heads == 0 || !cols.is_multiple_of(n_heads) || cols == 0 {
        return bad("columns must split into heads");
    }
    let seq = rows / batch;
    if lengths.iter().any(|&l| l == 0 || l as usize > seq) {
        return bad("every length must be in 1..=seq");
    }
    Ok((seq, cols / n_heads))
}
