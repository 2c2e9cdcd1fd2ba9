//! The op interface on the GPU: each op checks its shapes and records one or two dispatches of
//! its kernel (see the module above for how recording works).

use super::*;

impl Backend for Gpu {
    type Tensor = GpuTensor;
    type Weight = GpuWeight;
    type KvCache = GpuKvCache;

    fn device_name(&self) -> String {
        // Browsers leave the description empty unless the page asks for it.
        let name = match self.adapter_info.name.as_str() {
            "" => "unnamed adapter",
            name => name,
        };
        format!("{name} ({:?})", self.adapter_info.backend)
    }

    fn memory(&self) -> MemoryUse {
        MemoryUse {
            activations: self.activation_bytes(),
            peak: self.ledger.peak.get(),
            ..self.memory
        }
    }

    fn upload_weight(&mut self, name: &str, view: TensorView<'_>) -> Result<GpuWeight> {
        let bytes = view.bytes.len() as u64;
        self.check_size(&format!("weight `{name}`"), bytes)?;
        let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let buffer = self.create_buffer(name, bytes, usage);
        // write_buffer needs a multiple of 4 bytes; odd-length 16-bit tensors get one pad half.
        if bytes.is_multiple_of(4) {
            self.queue.write_buffer(&buffer.buffer, 0, view.bytes);
        } else {
            let mut padded = view.bytes.to_vec();
            padded.resize(bytes.next_multiple_of(4) as usize, 0);
            self.queue.write_buffer(&buffer.buffer, 0, &padded);
        }
        self.memory.weights += bytes.next_multiple_of(4);
        self.check_error()?;
        Ok(GpuWeight {
            buffer,
            dtype: view.dtype,
            shape: view.shape.to_vec(),
        })
    }

    fn tensor(&mut self, data: &[f32], rows: usize, cols: usize) -> Result<GpuTensor> {
        if data.len() != rows * cols {
            return Err(Error::InvalidArgument(format!(
                "{} values for a [{rows}, {cols}] tensor",
                data.len()
            )));
        }
        let tensor = self.arena_tensor(rows, cols)?;
        // Ordered before the next submit, and so before any dispatch that reads it.
        self.submit(None)?;
        self.queue
            .write_buffer(&tensor.buffer.buffer, 0, bytemuck::cast_slice(data));
        Ok(tensor)
    }

    fn kv_cache(&mut self, n_layers: usize, context: usize, kv_dim: usize) -> Result<GpuKvCache> {
        let bytes = (context * kv_dim * 4) as u64;
        self.check_size("the KV cache of one layer", bytes)?;
        let usage = wgpu::BufferUsages::STORAGE;
        let mut keys = Vec::with_capacity(n_layers);
        let mut values = Vec::with_capacity(n_layers);
        for _ in 0..n_layers {
            keys.push(self.create_buffer("keys", bytes, usage));
            values.push(self.create_buffer("values", bytes, usage));
        }
        self.memory.kv_cache += 2 * n_layers as u64 * bytes;
        self.check_error()?;
        Ok(GpuKvCache {
            keys,
            values,
            context,
            kv_dim,
        })
    }

    fn shape(&self, x: &GpuTensor) -> (usize, usize) {
        (x.rows, x.cols)
    }

    fn embedding(&mut self, table: &GpuWeight, ids: &[u32]) -> Result<GpuTensor> {
        let [vocab, hidden] = table.shape[..] else {
            return Err(Error::InvalidArgument("embedding table must be 2-D".into()));
        };
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= vocab) {
            return Err(Error::TokenOutOfRange { id, vocab });
        }
        let ids_offset = self.upload(ids)?;
        let out = self.arena_tensor(ids.len(), hidden)?;
        let uploads = self.uploads.buffer.clone();
        self.dispatch(
            Kernel::Embedding,
            Some(table.dtype),
            &[&uploads, &table.buffer, &out.buffer],
            &[u(ids.len()), u(hidden), u(vocab), ids_offset],
            self.grid_for(ids.len() * hidden),
        )?;
        Ok(out)
    }

    fn rms_norm(&mut self, x: &GpuTensor, weight: &GpuWeight, eps: f32) -> Result<GpuTensor> {
        let cols = Self::weight_elements(weight);
        let total = x.rows * x.cols;
        if cols == 0 || !total.is_multiple_of(cols) {
            return Err(Error::InvalidArgument(format!(
                "rms_norm: weight of {cols} does not divide a [{}, {}] input",
                x.rows, x.cols
            )));
        }
        let rows = total / cols;
        let out = self.arena_tensor(x.rows, x.cols)?;
        self.dispatch(
            Kernel::RmsNorm,
            Some(weight.dtype),
            &[&x.buffer, &weight.buffer, &out.buffer],
            &[u(rows), u(cols), eps.to_bits()],
            self.grid(rows),
        )?;
        Ok(out)
    }

    fn linear(&mut self, x: &GpuTensor, w: &GpuWeight) -> Result<GpuTensor> {
        self.product(x, w, Epilogue::Store, Activation::Silu)
    }

    fn linear_add(&mut self, x: &GpuTensor, w: &GpuWeight, out: &mut GpuTensor) -> Result<()> {
        let n = self.linear_shape(x, w, Epilogue::Accumulate)?;
        if (out.rows, out.cols) != (x.rows, n) {
            return Err(Error::InvalidArgument(format!(
                "linear_add: [{}, {n}] product into a [{}, {}] tensor",
                x.rows, out.rows, out.cols
            )));
        }
        self.record_linear(x, w, out, Epilogue::Accumulate, Activation::Silu)
    }

    fn linear_gated(&mut self, x: &GpuTensor, w: &GpuWeight, act: Activation) -> Result<GpuTensor> {
        self.product(x, w, Epilogue::Gated, act)
    }

    fn add_bias(&mut self, x: &mut GpuTensor, bias: &GpuWeight) -> Result<()> {
        if Self::weight_elements(bias) != x.cols {
            return Err(Error::InvalidArgument(
                "bias length differs from columns".into(),
            ));
        }
        self.dispatch(
            Kernel::BiasAdd,
            Some(bias.dtype),
            &[&bias.buffer, &x.buffer],
            &[u(x.rows), u(x.cols)],
            self.grid_for(x.rows * x.cols),
        )
    }

    fn add(&mut self, x: &mut GpuTensor, y: &GpuTensor) -> Result<()> {
        if (x.rows, x.cols) != (y.rows, y.cols) {
            return Err(Error::InvalidArgument("add: shapes differ".into()));
        }
        let n = x.rows * x.cols;
        self.dispatch(
            Kernel::Add,
            None,
            &[&y.buffer, &x.buffer],
            &[u(n)],
            self.grid_for(n),
        )
    }

    fn gated(&mut self, gate: &GpuTensor, up: &GpuTensor, act: Activation) -> Result<GpuTensor> {
        if (gate.rows, gate.cols) != (up.rows, up.cols) {
            return Err(Error::InvalidArgument("gated: shapes differ".into()));
        }
        let out = self.arena_tensor(gate.rows, gate.cols)?;
        let n = gate.rows * gate.cols;
        self.dispatch_pipeline(
            PipelineKey::activation(Kernel::Gated, act),
            &[&gate.buffer, &up.buffer, &out.buffer],
            &[u(n)],
            self.grid_for(n),
        )?;
        Ok(out)
    }

    fn activation(&mut self, x: &mut GpuTensor, act: Activation) -> Result<()> {
        let n = x.rows * x.cols;
        self.dispatch_pipeline(
            PipelineKey::activation(Kernel::Activation, act),
            &[&x.buffer],
            &[u(n)],
            self.grid_for(n),
        )
    }

    fn scale(&mut self, x: &mut GpuTensor, factor: f32, softcap: f32) -> Result<()> {
        let n = x.rows * x.cols;
        self.dispatch(
            Kernel::Scale,
            None,
            &[&x.buffer],
            &[u(n), factor.to_bits(), softcap.max(0.0).to_bits()],
            self.grid_for(n),
        )
    }

    fn rope(
        &mut self,
        x: &mut GpuTensor,
        table: &GpuWeight,
        head_dim: usize,
        start_pos: usize,
        layout: RopeLayout,
    ) -> Result<()> {
        let (positions, rotary_dim) = Self::rope_table_shape(table);
        if !head_dim.is_multiple_of(2)
            || head_dim == 0
            || !x.cols.is_multiple_of(head_dim)
            || !rotary_dim.is_multiple_of(2)
            || rotary_dim == 0
            || rotary_dim > head_dim
            || start_pos + x.rows > positions
        {
            return Err(Error::InvalidArgument(format!(
                "rope: head_dim {head_dim}, {} columns, a table of {rotary_dim} rotary dims, \
                 positions {start_pos}..{} of {positions}",
                x.cols,
                start_pos + x.rows
            )));
        }
        let n_heads = x.cols / head_dim;
        let pairs = x.rows * n_heads * rotary_dim / 2;
        self.dispatch(
            Kernel::Rope,
            None,
            &[&table.buffer, &x.buffer],
            &[
                u(x.rows),
                u(n_heads),
                u(head_dim),
                u(start_pos),
                u((layout == RopeLayout::Interleaved) as usize),
                u(rotary_dim),
            ],
            self.grid_for(pairs),
        )
    }

    fn rope_qkv(
        &mut self,
        qkv: &GpuTensor,
        table: &GpuWeight,
        cache: &mut GpuKvCache,
        layer: usize,
        shape: AttentionShape,
        layout: RopeLayout,
    ) -> Result<GpuTensor> {
        let q_dim = shape.n_heads * shape.head_dim;
        let kv_dim = shape.n_kv_heads * shape.head_dim;
        let (positions, rotary_dim) = Self::rope_table_shape(table);
        let end = shape.start_pos + qkv.rows;
        if !shape.head_dim.is_multiple_of(2)
            || !rotary_dim.is_multiple_of(2)
            || rotary_dim == 0
            || rotary_dim > shape.head_dim
            || qkv.cols != q_dim + 2 * kv_dim
            || kv_dim != cache.kv_dim
            || end > cache.context.min(positions)
            || layer >= cache.keys.len()
        {
            return Err(Error::InvalidArgument(format!(
                "rope_qkv: {shape:?} on a [{}, {}] input, positions {}..{end} of a \
                 {}-token cache and a {positions}-position table of {rotary_dim} rotary dims",
                qkv.rows, qkv.cols, shape.start_pos, cache.context
            )));
        }
        let q = self.arena_tensor(qkv.rows, q_dim)?;
        let (keys, values) = (cache.keys[layer].clone(), cache.values[layer].clone());
        let per_token = (shape.n_heads + shape.n_kv_heads) * shape.head_dim / 2 + kv_dim;
        self.dispatch(
            Kernel::RopeQkv,
            None,
            &[&table.buffer, &qkv.buffer, &q.buffer, &keys, &values],
            &[
                u(qkv.rows),
                u(shape.n_heads),
                u(shape.n_kv_heads),
                u(shape.head_dim),
                u(shape.start_pos),
                u((layout == RopeLayout::Interleaved) as usize),
                u(rotary_dim),
            ],
            self.grid_for(qkv.rows * per_token),
        )?;
        Ok(q)
    }

    fn softmax(&mut self, x: &mut GpuTensor) -> Result<()> {
        self.dispatch(
            Kernel::Softmax,
            None,
            &[&x.buffer],
            &[u(x.rows), u(x.cols)],
            self.grid(x.rows),
        )
    }

    fn write_kv(
        &mut self,
        cache: &mut GpuKvCache,
        layer: usize,
        k: &GpuTensor,
        v: &GpuTensor,
        start_pos: usize,
    ) -> Result<()> {
        if k.cols != cache.kv_dim || v.cols != cache.kv_dim || start_pos + k.rows > cache.context {
            return Err(Error::InvalidArgument(format!(
                "write_kv: positions {start_pos}..{} of a {}-token cache",
                start_pos + k.rows,
                cache.context
            )));
        }
        let n = k.rows * k.cols;
        let dst_offset = start_pos * cache.kv_dim;
        let (keys, values) = (cache.keys[layer].clone(), cache.values[layer].clone());
        for (src, dst) in [(&k.buffer, &keys), (&v.buffer, &values)] {
            self.dispatch(
                Kernel::Copy,
                None,
                &[src, dst],
                &[u(n), 0, u(dst_offset)],
                self.grid_for(n),
            )?;
        }
        Ok(())
    }

    fn attention(
        &mut self,
        q: &GpuTensor,
        cache: &GpuKvCache,
        layer: usize,
        shape: AttentionShape,
    ) -> Result<GpuTensor> {
        let seq = q.rows;
        let kv_len = shape.start_pos + seq;
        if q.cols != shape.n_heads * shape.head_dim
            || !shape.n_heads.is_multiple_of(shape.n_kv_heads)
            || kv_len > cache.context
        {
            return Err(Error::InvalidArgument(format!(
                "attention: {shape:?} on a [{seq}, {}] query and a {}-token cache",
                q.cols, cache.context
            )));
        }
        // Scratch for the probabilities of each (token, head).
        let scores = self.arena_tensor(shape.n_heads * seq, kv_len)?;
        let out = self.arena_tensor(seq, q.cols)?;
        let (keys, values) = (cache.keys[layer].clone(), cache.values[layer].clone());
        let items = shape.n_heads * seq;
        // The most keys a query sees: a window bounds the work however long the context.
        let seen = match shape.window {
            0 => kv_len,
            window => window.min(kv_len),
        };
        let splits = attention_splits(items, seen);
        // Split, the slices' partial sums are combined into `out` by a second dispatch.
        let partials = if splits > 1 {
            Some(self.arena_tensor(items * splits, shape.head_dim + 2)?)
        } else {
            None
        };
        let slices_out = partials.as_ref().unwrap_or(&out);
        self.dispatch(
            Kernel::Attention,
            None,
            &[
                &q.buffer,
                &keys,
                &values,
                &scores.buffer,
                &slices_out.buffer,
            ],
            &[
                u(seq),
                u(kv_len),
                u(shape.n_heads),
                u(shape.n_kv_heads),
                u(shape.head_dim),
                u(shape.start_pos),
                shape.scale.to_bits(),
                shape.softcap.max(0.0).to_bits(),
                u(shape.window),
                u(splits),
            ],
            self.grid(items * splits),
        )?;
        if let Some(partials) = &partials {
            self.dispatch(
                Kernel::AttentionCombine,
                None,
                &[&partials.buffer, &out.buffer],
                &[u(items), u(shape.head_dim), u(splits)],
                self.grid(items),
            )?;
        }
        Ok(out)
    }

    fn last_row(&mut self, x: &GpuTensor) -> Result<GpuTensor> {
        let out = self.arena_tensor(1, x.cols)?;
        self.dispatch(
            Kernel::Copy,
            None,
            &[&x.buffer, &out.buffer],
            &[u(x.cols), u((x.rows - 1) * x.cols), 0],
            self.grid_for(x.cols),
        )?;
        Ok(out)
    }

    fn repetition_penalty(
        &mut self,
        logits: &mut GpuTensor,
        ids: &[u32],
        penalty: f32,
    ) -> Result<()> {
        let mut distinct: Vec<u32> = ids
            .iter()
            .copied()
            .filter(|&id| (id as usize) < logits.cols)
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.is_empty() {
            return Ok(());
        }
        let ids_offset = self.upload(&distinct)?;
        let uploads = self.uploads.buffer.clone();
        let offset = (logits.rows - 1) * logits.cols;
        self.dispatch(
            Kernel::RepetitionPenalty,
            None,
            &[&uploads, &logits.buffer],
            &[u(distinct.len()), u(offset), penalty.to_bits(), ids_offset],
            self.grid_for(distinct.len()),
        )
    }

    async fn argmax(&mut self, logits: &GpuTensor) -> Result<u32> {
        let offset = (logits.rows - 1) * logits.cols;
        let results = self.results.clone();
        self.dispatch(
            Kernel::Argmax,
            None,
            &[&logits.buffer, &results],
            &[u(logits.cols), u(offset)],
            [1, 1, 1],
        )?;
        let bytes = self.read_bytes(&results.buffer, 4).await?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    async fn top_k(&mut self, logits: &GpuTensor, k: usize) -> Result<Vec<(u32, f32)>> {
        let k = k.min(logits.cols).min(self.results_capacity() / 2);
        let offset = (logits.rows - 1) * logits.cols;
        let results = self.results.clone();
        self.dispatch(
            Kernel::TopK,
            None,
            &[&logits.buffer, &results],
            &[u(logits.cols), u(offset), u(k)],
            [1, 1, 1],
        )?;
        let bytes = self.read_bytes(&results.buffer, (8 * k) as u64).await?;
        let words: Vec<u32> = bytemuck::pod_collect_to_vec(&bytes);
        Ok((0..k)
            .map(|i| (words[i], f32::from_bits(words[k + i])))
            .collect())
    }

    async fn read(&mut self, x: &GpuTensor) -> Result<Vec<f32>> {
        let bytes = (x.rows * x.cols * 4) as u64;
        let buffer = x.buffer.clone();
        let data = self.read_bytes(&buffer.buffer, bytes).await?;
        let mut values = words_to_f32(&data);
        values.truncate(x.rows * x.cols);
        Ok(values)
    }
    fn layer_norm(
        &mut self,
        x: &GpuTensor,
        weight: &GpuWeight,
        bias: &GpuWeight,
        eps: f32,
    ) -> Result<GpuTensor> {
        if Self::weight_elements(weight) != x.cols || Self::weight_elements(bias) != x.cols {
            return Err(Error::InvalidArgument(format!(
                "layer_norm: weight {:?} and bias {:?} for a [{}, {}] input",
                weight.shape, bias.shape, x.rows, x.cols
            )));
        }
        let mut out = self.arena_tensor(x.rows, x.cols)?;
        self.dispatch(
            Kernel::LayerNorm,
            Some(weight.dtype),
            &[&x.buffer, &weight.buffer, &out.buffer],
            &[u(x.rows), u(x.cols), eps.to_bits()],
            self.grid(x.rows),
        )?;
        self.add_bias(&mut out, bias)?;
        Ok(out)
    }

    fn encoder_attention(
        &mut self,
        q: &GpuTensor,
        k: &GpuTensor,
        v: &GpuTensor,
        lengths: &[u32],
        n_heads: usize,
    ) -> Result<GpuTensor> {
        let (seq, head_dim) = crate::backends::ops::encoder_attention_shape(
            (q.rows, q.cols),
            (k.rows, k.cols),
            (v.rows, v.cols),
            lengths,
            n_heads,
        )?;
        if head_dim > ENCODER_MAX_HEAD_DIM {
            return Err(Error::InvalidArgument(format!(
                "encoder_attention: head_dim {head_dim} is past the kernel's {ENCODER_MAX_HEAD_DIM}"
            )));
        }
        let batch = lengths.len();
        let lengths_offset = self.upload(lengths)?;
        let uploads = self.uploads.buffer.clone();
        let out = self.arena_tensor(q.rows, q.cols)?;
        let scale = 1.0 / (head_dim as f32).sqrt();
        self.dispatch(
            Kernel::EncoderAttention,
            None,
            &[&uploads, &q.buffer, &k.buffer, &v.buffer, &out.buffer],
            &[
                u(batch),
                u(seq),
                u(n_heads),
                u(head_dim),
                lengths_offset,
                scale.to_bits(),
            ],
            self.grid((batch * n_heads * seq).div_ceil(64)),
        )?;
        Ok(out)
    }
}
