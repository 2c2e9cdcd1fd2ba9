//! The CPU backend: every op through burn's pure-Rust `flex` backend, except one-token
//! projections, which stream the weights through plain dot-product loops ([`matrix`]). It is the
//! reference the WGSL kernels are tested against, and the fallback where WebGPU is missing.

mod matrix;

use std::cell::OnceCell;

use burn::tensor::{activation, Bool, Device, Tensor, TensorData};

use crate::backends::ops::{Activation, AttentionShape, Backend, MemoryUse, RopeLayout};
use crate::error::{Error, Result};
use crate::formats::weights::TensorView;
use matrix::Matrix;

pub struct CpuWeight {
    /// `[rows, cols]`; 1-D checkpoint tensors are `[1, n]`. Q8_0 and Q4_0 stay quantized.
    matrix: Matrix,
    shape: Vec<usize>,
    /// The f32 burn tensor the element-wise ops read (norm weights, biases, RoPE tables), made
    /// on first use; projections and embedding tables never make one.
    tensor: OnceCell<Tensor<2>>,
}

pub struct CpuKvCache {
    keys: Vec<Tensor<2>>,
    values: Vec<Tensor<2>>,
    context: usize,
}

pub struct Cpu {
    device: Device,
    memory: MemoryUse,
}

impl Default for Cpu {
    fn default() -> Self {
        Self::new()
    }
}

impl Cpu {
    pub fn new() -> Self {
        Self {
            device: Device::flex(),
            memory: MemoryUse::default(),
        }
    }

    fn make(&self, data: Vec<f32>, rows: usize, cols: usize) -> Tensor<2> {
        Tensor::from_data(TensorData::new(data, [rows, cols]), &self.device)
    }

    /// `w` as an f32 burn tensor, made (and counted) on first use.
    fn dense<'w>(&mut self, w: &'w CpuWeight) -> &'w Tensor<2> {
        w.tensor.get_or_init(|| {
            let (rows, cols) = (w.matrix.rows(), w.matrix.cols());
            self.memory.weights += (rows * cols * 4) as u64;
            self.make(w.matrix.to_f32(), rows, cols)
        })
    }

    fn last_row_values(&self, x: &Tensor<2>) -> Result<Vec<f32>> {
        let [rows, cols] = x.dims();
        to_vec(x.clone().slice([rows - 1..rows, 0..cols]))
    }
}

/// `act(x)`, element-wise.
fn activate<const D: usize>(x: Tensor<D>, act: Activation) -> Tensor<D> {
    match act {
        Activation::Silu => activation::silu(x),
        Activation::Gelu => activation::gelu(x),
        Activation::GeluTanh => {
            // sqrt(2 / pi); x^3 as products (a power of a negative base is not every
            // backend's friend).
            let cube = x.clone() * x.clone() * x.clone();
            let inner = (x.clone() + cube.mul_scalar(0.044715)).mul_scalar(0.797_884_6);
            (x * inner.tanh().add_scalar(1.0)).mul_scalar(0.5)
        }
    }
}

/// `softcap * tanh(x / softcap)`, or `x` with `softcap` 0.
fn soft_cap<const D: usize>(x: Tensor<D>, softcap: f32) -> Tensor<D> {
    if softcap > 0.0 {
        x.div_scalar(softcap).tanh().mul_scalar(softcap)
    } else {
        x
    }
}

fn to_vec<const D: usize>(x: Tensor<D>) -> Result<Vec<f32>> {
    x.into_data()
        .try_into_vec::<f32>()
        .map_err(|e| Error::Device(format!("reading a CPU tensor: {e:?}")))
}

impl Backend for Cpu {
    type Tensor = Tensor<2>;
    type Weight = CpuWeight;
    type KvCache = CpuKvCache;

    fn device_name(&self) -> String {
        "cpu (burn flex)".to_string()
    }

    fn memory(&self) -> MemoryUse {
        self.memory
    }

    fn upload_weight(&mut self, _name: &str, view: TensorView<'_>) -> Result<CpuWeight> {
        let (rows, cols) = match *view.shape {
            [] => (1, 1),
            [n] => (1, n),
            [rows, ref rest @ ..] => (rows, rest.iter().product()),
        };
        let matrix = Matrix::new(view, rows, cols);
        self.memory.weights += matrix.bytes();
        Ok(CpuWeight {
            matrix,
            shape: view.shape.to_vec(),
            tensor: OnceCell::new(),
        })
    }

    fn tensor(&mut self, data: &[f32], rows: usize, cols: usize) -> Result<Tensor<2>> {
        if data.len() != rows * cols {
            return Err(Error::InvalidArgument(format!(
                "{} values for a [{rows}, {cols}] tensor",
                data.len()
            )));
        }
        Ok(self.make(data.to_vec(), rows, cols))
    }

    fn kv_cache(&mut self, n_layers: usize, context: usize, kv_dim: usize) -> Result<CpuKvCache> {
        let zeros = || Tensor::zeros([context, kv_dim], &self.device);
        self.memory.kv_cache += (2 * n_layers * context * kv_dim * 4) as u64;
        Ok(CpuKvCache {
            keys: (0..n_layers).map(|_| zeros()).collect(),
            values: (0..n_layers).map(|_| zeros()).collect(),
            context,
        })
    }

    fn shape(&self, x: &Tensor<2>) -> (usize, usize) {
        let [rows, cols] = x.dims();
        (rows, cols)
    }

    fn embedding(&mut self, table: &CpuWeight, ids: &[u32]) -> Result<Tensor<2>> {
        let vocab = table.matrix.rows();
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= vocab) {
            return Err(Error::TokenOutOfRange { id, vocab });
        }
        let mut rows = Vec::with_capacity(ids.len() * table.matrix.cols());
        for &id in ids {
            table.matrix.extend_with_row(id as usize, &mut rows);
        }
        Ok(self.make(rows, ids.len(), table.matrix.cols()))
    }

    fn rms_norm(&mut self, x: &Tensor<2>, weight: &CpuWeight, eps: f32) -> Result<Tensor<2>> {
        let [rows, cols] = x.dims();
        let width = weight.matrix.cols();
        if width == 0 || (rows * cols) % width != 0 {
            return Err(Error::InvalidArgument(format!(
                "rms_norm: weight of {width} does not divide a [{rows}, {cols}] input"
            )));
        }
        let x2: Tensor<2> = x.clone().reshape([rows * cols / width, width]);
        let mean_square = x2.clone().powi_scalar(2).mean_dim(1);
        let normed = x2 * mean_square.add_scalar(eps).sqrt().recip() * self.dense(weight).clone();
        Ok(normed.reshape([rows, cols]))
    }

    fn linear(&mut self, x: &Tensor<2>, w: &CpuWeight) -> Result<Tensor<2>> {
        let [rows, k] = x.dims();
        let (out_cols, cols) = (w.matrix.rows(), w.matrix.cols());
        if k != cols {
            return Err(Error::InvalidArgument(format!(
                "linear: input has {k} columns, weight expects {cols}"
            )));
        }
        if !matrix::multiplies_fastest(rows) {
            let weight = self.make(w.matrix.to_f32(), out_cols, cols);
            return Ok(x.clone().matmul(weight.transpose()));
        }
        let mut out = vec![0.0; rows * out_cols];
        w.matrix.multiply_rows(&to_vec(x.clone())?, &mut out);
        Ok(self.make(out, rows, out_cols))
    }

    fn linear_add(&mut self, x: &Tensor<2>, w: &CpuWeight, out: &mut Tensor<2>) -> Result<()> {
        let product = self.linear(x, w)?;
        if product.dims() != out.dims() {
            return Err(Error::InvalidArgument(format!(
                "linear_add: {:?} product into a {:?} tensor",
                product.dims(),
                out.dims()
            )));
        }
        *out = out.clone() + product;
        Ok(())
    }

    fn linear_gated(&mut self, x: &Tensor<2>, w: &CpuWeight, act: Activation) -> Result<Tensor<2>> {
        let product = self.linear(x, w)?;
        let [rows, n] = product.dims();
        if n % 2 != 0 {
            return Err(Error::InvalidArgument(format!(
                "gated linear: {n} weight rows are not (gate, up) pairs"
            )));
        }
        let pairs: Tensor<3> = product.reshape([rows, n / 2, 2]);
        let gate = pairs.clone().slice([0..rows, 0..n / 2, 0..1]);
        let up = pairs.slice([0..rows, 0..n / 2, 1..2]);
        Ok((activate(gate, act) * up).reshape([rows, n / 2]))
    }

    fn add_bias(&mut self, x: &mut Tensor<2>, bias: &CpuWeight) -> Result<()> {
        *x = x.clone() + self.dense(bias).clone();
        Ok(())
    }

    fn add(&mut self, x: &mut Tensor<2>, y: &Tensor<2>) -> Result<()> {
        *x = x.clone() + y.clone();
        Ok(())
    }

    fn gated(&mut self, gate: &Tensor<2>, up: &Tensor<2>, act: Activation) -> Result<Tensor<2>> {
        if gate.dims() != up.dims() {
            return Err(Error::InvalidArgument("gated: shapes differ".into()));
        }
        Ok(activate(gate.clone(), act) * up.clone())
    }

    fn activation(&mut self, x: &mut Tensor<2>, act: Activation) -> Result<()> {
        *x = activate(x.clone(), act);
        Ok(())
    }

    fn scale(&mut self, x: &mut Tensor<2>, factor: f32, softcap: f32) -> Result<()> {
        *x = soft_cap(x.clone().mul_scalar(factor), softcap);
        Ok(())
    }

    fn rope(
        &mut self,
        x: &mut Tensor<2>,
        table: &CpuWeight,
        head_dim: usize,
        start_pos: usize,
        layout: RopeLayout,
    ) -> Result<()> {
        let [seq, cols] = x.dims();
        let positions = table.matrix.rows();
        // The table is [context, rotary_dim / 2, 2]: its rows hold rotary_dim values.
        let rotary_dim = table.matrix.cols();
        if !head_dim.is_multiple_of(2)
            || head_dim == 0
            || cols % head_dim != 0
            || !rotary_dim.is_multiple_of(2)
            || rotary_dim == 0
            || rotary_dim > head_dim
            || start_pos + seq > positions
        {
            return Err(Error::InvalidArgument(format!(
                "rope: head_dim {head_dim}, {cols} columns, a table of {rotary_dim} rotary dims, \
                 positions {start_pos}..{} of {positions}",
                start_pos + seq
            )));
        }
        let n_heads = cols / head_dim;
        let half = rotary_dim / 2;
        let angles: Tensor<3> = self
            .dense(table)
            .clone()
            .slice([start_pos..start_pos + seq, 0..rotary_dim])
            .reshape([seq, half, 2]);
        let cos: Tensor<3> = angles
            .clone()
            .slice([0..seq, 0..half, 0..1])
            .reshape([seq, 1, half]);
        let sin: Tensor<3> = angles
            .slice([0..seq, 0..half, 1..2])
            .reshape([seq, 1, half]);
        // [seq, n_heads, head_dim]: the first rotary_dim values of a head rotate, the rest stay.
        let heads: Tensor<3> = x.clone().reshape([seq, n_heads, head_dim]);
        let turning = heads.clone().slice([0..seq, 0..n_heads, 0..rotary_dim]);
        let turned = match layout {
            RopeLayout::HalfSplit => {
                let a = turning.clone().slice([0..seq, 0..n_heads, 0..half]);
                let b = turning.slice([0..seq, 0..n_heads, half..rotary_dim]);
                let ra = a.clone() * cos.clone() - b.clone() * sin.clone();
                let rb = a * sin + b * cos;
                Tensor::cat(vec![ra, rb], 2)
            }
            RopeLayout::Interleaved => {
                let pairs: Tensor<4> = turning.reshape([seq, n_heads, half, 2]);
                let a: Tensor<3> = pairs
                    .clone()
                    .slice([0..seq, 0..n_heads, 0..half, 0..1])
                    .reshape([seq, n_heads, half]);
                let b: Tensor<3> = pairs
                    .slice([0..seq, 0..n_heads, 0..half, 1..2])
                    .reshape([seq, n_heads, half]);
                let ra = a.clone() * cos.clone() - b.clone() * sin.clone();
                let rb = a * sin + b * cos;
                Tensor::stack::<4>(vec![ra, rb], 3).reshape([seq, n_heads, rotary_dim])
            }
        };
        let rotated = if rotary_dim == head_dim {
            turned
        } else {
            let rest = heads.slice([0..seq, 0..n_heads, rotary_dim..head_dim]);
            Tensor::cat(vec![turned, rest], 2)
        };
        *x = rotated.reshape([seq, cols]);
        Ok(())
    }

    fn rope_qkv(
        &mut self,
        qkv: &Tensor<2>,
        table: &CpuWeight,
        cache: &mut CpuKvCache,
        layer: usize,
        shape: AttentionShape,
        layout: RopeLayout,
    ) -> Result<Tensor<2>> {
        let [seq, cols] = qkv.dims();
        let q_dim = shape.n_heads * shape.head_dim;
        let kv_dim = shape.n_kv_heads * shape.head_dim;
        if cols != q_dim + 2 * kv_dim || layer >= cache.keys.len() {
            return Err(Error::InvalidArgument(format!(
                "rope_qkv: {shape:?} on a [{seq}, {cols}] input"
            )));
        }
        let part = |from: usize, width: usize| qkv.clone().slice([0..seq, from..from + width]);
        let (mut q, mut k, v) = (
            part(0, q_dim),
            part(q_dim, kv_dim),
            part(q_dim + kv_dim, kv_dim),
        );
        let (head_dim, start_pos) = (shape.head_dim, shape.start_pos);
        self.rope(&mut q, table, head_dim, start_pos, layout)?;
        self.rope(&mut k, table, head_dim, start_pos, layout)?;
        self.write_kv(cache, layer, &k, &v, start_pos)?;
        Ok(q)
    }

    fn softmax(&mut self, x: &mut Tensor<2>) -> Result<()> {
        *x = activation::softmax(x.clone(), 1);
        Ok(())
    }

    fn write_kv(
        &mut self,
        cache: &mut CpuKvCache,
        layer: usize,
        k: &Tensor<2>,
        v: &Tensor<2>,
        start_pos: usize,
    ) -> Result<()> {
        let [seq, kv_dim] = k.dims();
        if start_pos + seq > cache.context {
            return Err(Error::InvalidArgument(format!(
                "write_kv: positions {start_pos}..{} of a {}-token cache",
                start_pos + seq,
                cache.context
            )));
        }
        let range = [start_pos..start_pos + seq, 0..kv_dim];
        cache.keys[layer] = cache.keys[layer]
            .clone()
            .slice_assign(range.clone(), k.clone());
        cache.values[layer] = cache.values[layer].clone().slice_assign(range, v.clone());
        Ok(())
    }

    fn attention(
        &mut self,
        q: &Tensor<2>,
        cache: &CpuKvCache,
        layer: usize,
        shape: AttentionShape,
    ) -> Result<Tensor<2>> {
        let AttentionShape {
            n_heads,
            n_kv_heads,
            head_dim,
            start_pos,
            scale,
            softcap,
            window: _,
        } = shape;
        let [seq, cols] = q.dims();
        let kv_len = start_pos + seq;
        if cols != n_heads * head_dim || n_heads % n_kv_heads != 0 || kv_len > cache.context {
            return Err(Error::InvalidArgument(format!(
                "attention: {shape:?} on a [{seq}, {cols}] query and a {}-token cache",
                cache.context
            )));
        }
        let group = n_heads / n_kv_heads;
        let kv_dim = n_kv_heads * head_dim;
        // [len, n_kv_heads * head_dim] -> [n_heads, len, head_dim], each kv head shared by a group.
        let per_head = |t: &Tensor<2>| -> Tensor<3> {
            let t: Tensor<4> = t
                .clone()
                .slice([0..kv_len, 0..kv_dim])
                .reshape([kv_len, n_kv_heads, 1, head_dim])
                .repeat_dim(2, group);
            t.reshape([kv_len, n_heads, head_dim]).swap_dims(0, 1)
        };
        let keys = per_head(&cache.keys[layer]);
        let values = per_head(&cache.values[layer]);
        let queries: Tensor<3> = q.clone().reshape([seq, n_heads, head_dim]).swap_dims(0, 1);
        let scores = soft_cap(
            queries.matmul(keys.swap_dims(1, 2)).mul_scalar(scale),
            softcap,
        );
        // Query t at position p = start_pos + t sees the keys first_key(p)..=p.
        let mask: Vec<bool> = (0..seq)
            .flat_map(|t| {
                let p = start_pos + t;
                let first = shape.first_key(p);
                (0..kv_len).map(move |j| j > p || j < first)
            })
            .collect();
        let mask = Tensor::<2, Bool>::from_data(TensorData::new(mask, [seq, kv_len]), &self.device)
            .reshape([1, seq, kv_len])
            .expand([n_heads, seq, kv_len]);
        let probs = activation::softmax(scores.mask_fill(mask, f32::NEG_INFINITY), 2);
        let out = probs.matmul(values).swap_dims(0, 1);
        Ok(out.reshape([seq, cols]))
    }

    fn last_row(&mut self, x: &Tensor<2>) -> Result<Tensor<2>> {
        let [rows, cols] = x.dims();
        Ok(x.clone().slice([rows - 1..rows, 0..cols]))
    }

    fn repetition_penalty(
        &mut self,
        logits: &mut Tensor<2>,
        ids: &[u32],
        penalty: f32,
    ) -> Result<()> {
        let [rows, cols] = logits.dims();
        let mut row = self.last_row_values(logits)?;
        let mut seen = vec![false; cols];
        for &id in ids.iter().filter(|&&id| (id as usize) < cols) {
            if !std::mem::replace(&mut seen[id as usize], true) {
                let v = &mut row[id as usize];
                *v = if *v > 0.0 { *v / penalty } else { *v * penalty };
            }
        }
        let row = self.make(row, 1, cols);
        *logits = logits.clone().slice_assign([rows - 1..rows, 0..cols], row);
        Ok(())
    }

    async fn argmax(&mut self, logits: &Tensor<2>) -> Result<u32> {
        let row = self.last_row_values(logits)?;
        let mut best = 0;
        for (i, &v) in row.iter().enumerate() {
            if v > row[best] {
                best = i;
            }
        }
        Ok(best as u32)
    }

    async fn top_k(&mut self, logits: &Tensor<2>, k: usize) -> Result<Vec<(u32, f32)>> {
        let row = self.last_row_values(logits)?;
        let mut pairs: Vec<(u32, f32)> = row
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i as u32, v))
            .collect();
        pairs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        pairs.truncate(k);
        Ok(pairs)
    }

    async fn read(&mut self, x: &Tensor<2>) -> Result<Vec<f32>> {
        to_vec(x.clone())
    }

    fn layer_norm(
        &mut self,
        x: &Tensor<2>,
        weight: &CpuWeight,
        bias: &CpuWeight,
        eps: f32,
    ) -> Result<Tensor<2>> {
        let [rows, cols] = x.dims();
        let width = |w: &CpuWeight| (w.matrix.rows(), w.matrix.cols());
        if width(weight) != (1, cols) || width(bias) != (1, cols) {
            return Err(Error::InvalidArgument(format!(
                "layer_norm: weight {:?} and bias {:?} for a [{rows}, {cols}] input",
                weight.shape, bias.shape
            )));
        }
        let centered = x.clone() - x.clone().mean_dim(1);
        let variance = centered.clone().powi_scalar(2).mean_dim(1);
        let normed = centered * variance.add_scalar(eps).sqrt().recip();
        Ok(normed * self.dense(weight).clone() + self.dense(bias).clone())
    }

    fn encoder_attention(
        &mut self,
        q: &Tensor<2>,
        k: &Tensor<2>,
        v: &Tensor<2>,
        lengths: &[u32],
        n_heads: usize,
    ) -> Result<Tensor<2>> {
        let shape = |t: &Tensor<2>| {
            let [r, c] = t.dims();
            (r, c)
        };
        let (seq, head_dim) = crate::backends::ops::encoder_attention_shape(
            shape(q),
            shape(k),
            shape(v),
            lengths,
            n_heads,
        )?;
        let [rows, cols] = q.dims();
        let batch = lengths.len();
        // [batch * seq, n_heads * head_dim] -> [batch, n_heads, seq, head_dim]
        let heads = |t: &Tensor<2>| -> Tensor<4> {
            t.clone()
                .reshape([batch, seq, n_heads, head_dim])
                .swap_dims(1, 2)
        };
        let scale = 1.0 / (head_dim as f32).sqrt();
        let scores = heads(q).matmul(heads(k).swap_dims(2, 3)).mul_scalar(scale); // [batch, n_heads, seq, seq]
        let mask: Vec<bool> = lengths
            .iter()
            .flat_map(|&len| (0..seq).map(move |j| j >= len as usize))
            .collect();
        let mask = Tensor::<2, Bool>::from_data(TensorData::new(mask, [batch, seq]), &self.device)
            .reshape([batch, 1, 1, seq])
            .expand([batch, n_heads, seq, seq]);
        let probs = activation::softmax(scores.mask_fill(mask, f32::NEG_INFINITY), 3);
        let out = probs.matmul(heads(v)).swap_dims(1, 2); // [batch, seq, n_heads, head_dim]
        Ok(out.reshape([rows, cols]))
    }
}
