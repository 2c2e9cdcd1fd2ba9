//! The WebGPU backend: wgpu owns the device; every op is a WGSL kernel from `shaders/`.
//!
//! Ops only *record* dispatches into one open compute pass; nothing reaches the GPU until a
//! result is read back, which submits the whole forward pass at once. Per-dispatch parameters
//! and uploaded token ids are staged on the host and written with one `write_buffer` each per
//! submit. Pipelines, bind-group layouts and bind groups are cached, and activations come from
//! an arena whose slots are reused in the same order on every forward pass, so a decode step
//! creates no buffers and no bind groups once the first step has run.

mod kernels;
mod ops;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

pub use kernels::{Epilogue, Kernel};

use crate::backends::ops::{Activation, AttentionShape, Backend, MemoryUse, RopeLayout};
use crate::error::{Error, Result};
use crate::formats::weights::{DType, TensorView};

/// Bytes of GPU buffers alive now, and the most alive at once (the peak a benchmark reports).
#[derive(Default)]
struct Ledger {
    live: Cell<u64>,
    peak: Cell<u64>,
}

/// A GPU buffer with an identity, so bind groups can be cached by the buffers they bind.
struct BufferInner {
    id: u64,
    buffer: wgpu::Buffer,
    ledger: Rc<Ledger>,
}

impl BufferInner {
    fn new(
        device: &wgpu::Device,
        ledger: &Rc<Ledger>,
        id: u64,
        label: &str,
        size: u64,
        usage: wgpu::BufferUsages,
    ) -> Buffer {
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage,
            mapped_at_creation: false,
        });
        let live = ledger.live.get() + size;
        ledger.live.set(live);
        ledger.peak.set(ledger.peak.get().max(live));
        Rc::new(BufferInner {
            id,
            buffer,
            ledger: ledger.clone(),
        })
    }
}

impl Drop for BufferInner {
    /// Frees GPU memory now rather than when the browser collects the JS object. Work already
    /// submitted that uses the buffer still completes.
    fn drop(&mut self) {
        self.buffer.destroy();
        let live = &self.ledger.live;
        live.set(live.get() - self.buffer.size());
    }
}

type Buffer = Rc<BufferInner>;

/// A weight in its checkpoint dtype, packed into u32 words.
pub struct GpuWeight {
    buffer: Buffer,
    dtype: DType,
    shape: Vec<usize>,
}

/// An f32 activation `[rows, cols]` in an arena slot, returned to the arena when dropped.
pub struct GpuTensor {
    buffer: Buffer,
    rows: usize,
    cols: usize,
    slot: usize,
    arena: Rc<RefCell<Arena>>,
}

impl Drop for GpuTensor {
    fn drop(&mut self) {
        self.arena.borrow_mut().release(self.slot);
    }
}

/// Per-layer key and value buffers, `[context, kv_dim]` f32 each.
pub struct GpuKvCache {
    keys: Vec<Buffer>,
    values: Vec<Buffer>,
    context: usize,
    kv_dim: usize,
}

/// Activation buffers reused across ops, layers and tokens.
#[derive(Default)]
struct Arena {
    slots: Vec<(Buffer, u64)>,
    free: Vec<bool>,
}

impl Arena {
    /// The smallest free slot of at least `bytes`, if any.
    fn take(&mut self, bytes: u64) -> Option<(usize, Buffer)> {
        let best = (0..self.slots.len())
            .filter(|&i| self.free[i] && self.slots[i].1 >= bytes)
            .min_by_key(|&i| (self.slots[i].1, i))?;
        self.free[best] = false;
        Some((best, self.slots[best].0.clone()))
    }

    fn push(&mut self, buffer: Buffer, bytes: u64) -> usize {
        self.slots.push((buffer, bytes));
        self.free.push(false);
        self.slots.len() - 1
    }

    fn release(&mut self, slot: usize) {
        self.free[slot] = true;
    }

    fn bytes(&self) -> u64 {
        self.slots.iter().map(|(_, b)| b).sum()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct PipelineKey {
    kernel: Kernel,
    weight_dtype: Option<DType>,
    epilogue: Epilogue,
    /// Only where the kernel applies it (`activation`, `gated`, a gated epilogue).
    activation: Option<Activation>,
}

impl PipelineKey {
    /// An element-wise kernel specialized for a nonlinearity (`activation`, `gated`).
    fn activation(kernel: Kernel, activation: Activation) -> Self {
        Self {
            kernel,
            weight_dtype: None,
            epilogue: Epilogue::Store,
            activation: Some(activation),
        }
    }
}

struct Pipeline {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

/// Host-side data staged for the next submit: one region of a GPU buffer that grows as needed.
struct Staged {
    buffer: Buffer,
    capacity: u64,
    data: Vec<u8>,
    usage: wgpu::BufferUsages,
    label: &'static str,
}

impl Staged {
    fn new(
        device: &wgpu::Device,
        ledger: &Rc<Ledger>,
        id: u64,
        label: &'static str,
        capacity: u64,
        usage: wgpu::BufferUsages,
    ) -> Self {
        Self {
            buffer: BufferInner::new(device, ledger, id, label, capacity, usage),
            capacity,
            data: Vec::new(),
            usage,
            label,
        }
    }
}

/// `MAX_HEAD_DIM` of `shaders/encoder_attention.wgsl`.
const ENCODER_MAX_HEAD_DIM: usize = 128;

/// Bytes reserved per dispatch in the params buffer (covers every `Params` struct).
const PARAMS_BYTES: u64 = 64;

/// Keys per workgroup at least, when attention splits a (token, head)'s keys.
const ATTENTION_SLICE: usize = 256;
/// Fewer (token, head) pairs than this leave a GPU's cores idle: attention splits their keys.
const ATTENTION_SPLIT_BELOW: usize = 64;
/// The most slices per (token, head), which bounds the combine's work and scratch.
const ATTENTION_MAX_SPLITS: usize = 64;

/// How many workgroups share the keys of each of `items` (token, head) pairs over `kv_len`
/// keys: 1 unless the pairs are few (decode) and the context long (flash-decoding).
fn attention_splits(items: usize, kv_len: usize) -> usize {
    if items >= ATTENTION_SPLIT_BELOW || kv_len < 2 * ATTENTION_SLICE {
        return 1;
    }
    (kv_len / ATTENTION_SLICE).min(ATTENTION_MAX_SPLITS)
}

/// The device, its queue and everything cached against them.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    adapter_info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    /// The first error wgpu reported since it was last checked (validation, out of memory, loss).
    error: Arc<Mutex<Option<String>>>,
    next_id: u64,
    pipelines: HashMap<PipelineKey, Rc<Pipeline>>,
    layouts: HashMap<(u32, u32), wgpu::BindGroupLayout>,
    bind_groups: HashMap<(PipelineKey, Vec<u64>), wgpu::BindGroup>,
    arena: Rc<RefCell<Arena>>,
    params: Staged,
    params_stride: u64,
    uploads: Staged,
    results: Buffer,
    /// Where results are copied to be mapped; grows to the largest read.
    staging: Option<Buffer>,
    ledger: Rc<Ledger>,
    encoder: Option<wgpu::CommandEncoder>,
    pass: Option<wgpu::ComputePass<'static>>,
    memory: MemoryUse,
    /// `linear`'s kernels for one row and for more.
    linear: (Kernel, Kernel),
}

/// Options for picking an adapter.
#[derive(Debug, Clone, Default)]
pub struct GpuOptions {
    /// Prefer a software adapter (tests on machines that also have a hardware one).
    pub force_fallback_adapter: bool,
    /// The kernels of `linear`; by default chosen by the adapter's type.
    pub linear: LinearKernels,
    /// Reduce in workgroup memory even where the adapter has subgroup operations (which
    /// [`LinearKernels::Workgroup`]'s one-token kernel otherwise uses): tests the fallback.
    pub without_subgroups: bool,
}

/// Which kernels multiply activations by a weight matrix.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LinearKernels {
    /// [`LinearKernels::RowPerInvocation`] on adapters that are CPUs, else
    /// [`LinearKernels::Workgroup`].
    #[default]
    Auto,
    /// Workgroups share the work: 32 invocations per row reduced in workgroup memory for one
    /// token (`matvec`), 64x64 tiles staged in workgroup memory for more (`matmul`). Loads
    /// coalesce on GPUs.
    Workgroup,
    /// Whole weight rows per invocation (four in `matvec_rows`; two by 8 tokens in
    /// `matmul_rows`): fastest where an invocation is a SIMD lane of a CPU (lavapipe,
    /// SwiftShader).
    RowPerInvocation,
}

impl Gpu {
    /// Opens the default adapter with the limits it offers.
    pub async fn new(options: &GpuOptions) -> Result<Self> {
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        // Compute needs no GL; probing it only prints display-server noise on headless machines.
        // WGPU_BACKEND still overrides.
        descriptor.backends = if cfg!(target_arch = "wasm32") {
            wgpu::Backends::BROWSER_WEBGPU
        } else {
            wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY)
        };
        let instance = wgpu::Instance::new(descriptor);
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: options.force_fallback_adapter,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::NoAdapter(e.to_string()))?;
        let adapter_info = adapter.get_info();
        let limits = adapter.limits();
        // wgpu offers subgroups natively only (Vulkan, Metal, DX12), not yet in browsers.
        let subgroups =
            !options.without_subgroups && adapter.features().contains(wgpu::Features::SUBGROUP);
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("hearth"),
                required_features: if subgroups {
                    wgpu::Features::SUBGROUP
                } else {
                    wgpu::Features::empty()
                },
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Device(e.to_string()))?;
        let error = Arc::new(Mutex::new(None));
        let sink = error.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let mut slot = sink.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert_with(|| e.to_string());
        }));
        let params_stride = (limits.min_uniform_buffer_offset_alignment as u64).max(PARAMS_BYTES);
        let row_per_invocation = match options.linear {
            LinearKernels::Auto => adapter_info.device_type == wgpu::DeviceType::Cpu,
            LinearKernels::Workgroup => false,
            LinearKernels::RowPerInvocation => true,
        };
        let linear = if row_per_invocation {
            (Kernel::MatvecRows, Kernel::MatmulRows)
        } else if subgroups {
            (Kernel::MatvecSubgroup, Kernel::Matmul)
        } else {
            (Kernel::Matvec, Kernel::Matmul)
        };
        let ledger = Rc::new(Ledger::default());
        let gpu = Self {
            params: Staged::new(
                &device,
                &ledger,
                0,
                "params",
                params_stride,
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            ),
            uploads: Staged::new(
                &device,
                &ledger,
                1,
                "uploads",
                4096,
                wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            ),
            results: BufferInner::new(
                &device,
                &ledger,
                2,
                "results",
                4096,
                wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            ),
            ledger,
            next_id: 3,
            device,
            queue,
            adapter_info,
            limits,
            error,
            pipelines: HashMap::new(),
            layouts: HashMap::new(),
            bind_groups: HashMap::new(),
            arena: Rc::default(),
            params_stride,
            staging: None,
            encoder: None,
            pass: None,
            memory: MemoryUse::default(),
            linear,
        };
        gpu.check_error()?;
        Ok(gpu)
    }

    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.adapter_info
    }

    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// Whether the one-token linear kernel reduces with subgroup operations.
    pub fn uses_subgroups(&self) -> bool {
        self.linear.0.needs_subgroups()
    }

    /// Bytes of activation buffers the arena holds.
    pub fn activation_bytes(&self) -> u64 {
        self.arena.borrow().bytes()
    }

    /// Number of cached bind groups (stable once a decode step has run).
    pub fn bind_group_count(&self) -> usize {
        self.bind_groups.len()
    }

    fn check_error(&self) -> Result<()> {
        let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
        match slot.take() {
            Some(message) => Err(Error::Device(message)),
            None => Ok(()),
        }
    }

    /// The largest buffer a kernel can bind on this adapter.
    pub fn max_buffer_bytes(&self) -> u64 {
        let binding = self.limits.max_storage_buffer_binding_size;
        self.limits.max_buffer_size.min(binding)
    }

    fn check_size(&self, what: &str, bytes: u64) -> Result<()> {
        let max = self.max_buffer_bytes();
        if bytes > max {
            return Err(Error::DeviceLimit(format!(
                "{what} needs a buffer of {bytes} bytes; the adapter allows {max}"
            )));
        }
        Ok(())
    }

    fn create_buffer(&mut self, label: &str, bytes: u64, usage: wgpu::BufferUsages) -> Buffer {
        let id = self.next_id;
        self.next_id += 1;
        // Bindings must be non-empty and sizes a multiple of 4.
        let size = bytes.max(4).next_multiple_of(4);
        BufferInner::new(&self.device, &self.ledger, id, label, size, usage)
    }

    fn arena_tensor(&mut self, rows: usize, cols: usize) -> Result<GpuTensor> {
        // Whole vec4s, so kernels may read a row as vec4<f32> (`matvec_rows`).
        let bytes = (rows * cols * 4).max(16).next_multiple_of(16) as u64;
        self.check_size("an activation", bytes)?;
        let taken = self.arena.borrow_mut().take(bytes);
        let (slot, buffer) = match taken {
            Some(found) => found,
            None => {
                let usage = wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST;
                let buffer = self.create_buffer("activation", bytes, usage);
                let slot = self.arena.borrow_mut().push(buffer.clone(), bytes);
                (slot, buffer)
            }
        };
        Ok(GpuTensor {
            buffer,
            rows,
            cols,
            slot,
            arena: self.arena.clone(),
        })
    }

    fn layout(&mut self, reads: u32, writes: u32) -> wgpu::BindGroupLayout {
        let device = &self.device;
        self.layouts
            .entry((reads, writes))
            .or_insert_with(|| {
                let storage = |binding: u32, read_only: bool| wgpu::BindGroupLayoutEntry {
                    binding,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Storage { read_only },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                };
                let mut entries: Vec<_> = (0..reads).map(|b| storage(b, true)).collect();
                entries.extend((reads..reads + writes).map(|b| storage(b, false)));
                entries.push(wgpu::BindGroupLayoutEntry {
                    binding: reads + writes,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: true,
                        min_binding_size: None,
                    },
                    count: None,
                });
                device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                    label: None,
                    entries: &entries,
                })
            })
            .clone()
    }

    fn pipeline(&mut self, key: PipelineKey) -> Rc<Pipeline> {
        if let Some(pipeline) = self.pipelines.get(&key) {
            return pipeline.clone();
        }
        let kernel = key.kernel;
        let (reads, writes) = kernel.storage_bindings();
        let layout = self.layout(reads, writes);
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(kernel.name()),
                source: wgpu::ShaderSource::Wgsl(kernel.source()),
            });
        let pipeline_layout = self
            .device
            .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(kernel.name()),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
        let constants = kernel.constants(key.weight_dtype, key.epilogue, key.activation);
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(kernel.name()),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(kernel.name()),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &constants,
                    ..Default::default()
                },
                cache: None,
            });
        let pipeline = Rc::new(Pipeline { pipeline, layout });
        self.pipelines.insert(key, pipeline.clone());
        pipeline
    }

    /// Makes room for `extra` more bytes in a staged buffer, submitting what was recorded
    /// against the old buffer before replacing it with a larger one.
    fn reserve(&mut self, uploads: bool, extra: u64) -> Result<()> {
        let staged = if uploads { &self.uploads } else { &self.params };
        if staged.data.len() as u64 + extra <= staged.capacity {
            return Ok(());
        }
        let (old_capacity, usage, label) = (staged.capacity, staged.usage, staged.label);
        self.submit(None)?;
        let capacity = (old_capacity * 2).max(extra.next_power_of_two());
        let buffer = self.create_buffer(label, capacity, usage);
        let staged = if uploads {
            &mut self.uploads
        } else {
            &mut self.params
        };
        staged.buffer = buffer;
        staged.capacity = capacity;
        Ok(())
    }

    /// Stages u32 words for the next submit; returns their offset in words.
    fn upload(&mut self, words: &[u32]) -> Result<u32> {
        let bytes = (words.len() * 4) as u64;
        self.check_size("uploaded ids", bytes)?;
        self.reserve(true, bytes.max(4))?;
        let offset = (self.uploads.data.len() / 4) as u32;
        self.uploads
            .data
            .extend(words.iter().flat_map(|w| w.to_le_bytes()));
        if words.is_empty() {
            self.uploads.data.extend([0; 4]);
        }
        Ok(offset)
    }

    /// Records one dispatch. `buffers` follow the kernel's binding order; `params` are the words
    /// of its `Params` struct; `groups` is the workgroup grid.
    fn dispatch(
        &mut self,
        kernel: Kernel,
        weight_dtype: Option<DType>,
        buffers: &[&Buffer],
        params: &[u32],
        groups: [u32; 3],
    ) -> Result<()> {
        let key = PipelineKey {
            kernel,
            weight_dtype: weight_dtype.filter(|_| kernel.reads_weight()),
            epilogue: Epilogue::Store,
            activation: None,
        };
        self.dispatch_pipeline(key, buffers, params, groups)
    }

    /// [`Gpu::dispatch`] of a specialized pipeline.
    fn dispatch_pipeline(
        &mut self,
        key: PipelineKey,
        buffers: &[&Buffer],
        params: &[u32],
        groups: [u32; 3],
    ) -> Result<()> {
        let kernel = key.kernel;
        debug_assert!(params.len() * 4 <= PARAMS_BYTES as usize);
        let (reads, writes) = kernel.storage_bindings();
        debug_assert_eq!(buffers.len() as u32, reads + writes);
        if groups.contains(&0) {
            return Ok(());
        }
        self.reserve(false, self.params_stride)?;
        let pipeline = self.pipeline(key);
        let params_offset = self.params.data.len() as u32;
        self.params
            .data
            .extend(params.iter().flat_map(|w| w.to_le_bytes()));
        self.params
            .data
            .resize((params_offset as u64 + self.params_stride) as usize, 0);
        let mut ids: Vec<u64> = buffers.iter().map(|b| b.id).collect();
        ids.push(self.params.buffer.id);
        let bind_group = self.bind_groups.entry((key, ids)).or_insert_with(|| {
            let mut entries: Vec<wgpu::BindGroupEntry> = buffers
                .iter()
                .enumerate()
                .map(|(i, b)| wgpu::BindGroupEntry {
                    binding: i as u32,
                    resource: b.buffer.as_entire_binding(),
                })
                .collect();
            entries.push(wgpu::BindGroupEntry {
                binding: buffers.len() as u32,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &self.params.buffer.buffer,
                    offset: 0,
                    size: wgpu::BufferSize::new(PARAMS_BYTES),
                }),
            });
            self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(kernel.name()),
                layout: &pipeline.layout,
                entries: &entries,
            })
        });
        if self.pass.is_none() {
            let mut encoder = self
                .encoder
                .take()
                .unwrap_or_else(|| self.device.create_command_encoder(&Default::default()));
            let pass = encoder
                .begin_compute_pass(&wgpu::ComputePassDescriptor::default())
                .forget_lifetime();
            self.encoder = Some(encoder);
            self.pass = Some(pass);
        }
        let pass = self.pass.as_mut().expect("pass was just opened");
        pass.set_pipeline(&pipeline.pipeline);
        pass.set_bind_group(0, &*bind_group, &[params_offset]);
        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        Ok(())
    }

    /// A grid of `count` workgroups, folded into two dimensions past the per-dimension limit.
    fn grid(&self, count: usize) -> [u32; 3] {
        let max = self.limits.max_compute_workgroups_per_dimension as usize;
        if count <= max {
            [count as u32, 1, 1]
        } else {
            [max as u32, count.div_ceil(max) as u32, 1]
        }
    }

    /// Workgroups of 256 threads covering `n` invocations.
    fn grid_for(&self, n: usize) -> [u32; 3] {
        self.grid(n.div_ceil(256))
    }

    /// Submits everything recorded, optionally followed by a copy of `bytes` of `src` into the
    /// staging buffer, and returns once the GPU is done (natively) or the copy is mapped.
    fn submit(&mut self, readback: Option<(&wgpu::Buffer, u64)>) -> Result<()> {
        self.pass = None;
        let mut encoder = self
            .encoder
            .take()
            .unwrap_or_else(|| self.device.create_command_encoder(&Default::default()));
        if let Some((src, bytes)) = readback {
            let needs_new = self
                .staging
                .as_ref()
                .is_none_or(|staging| staging.buffer.size() < bytes);
            if needs_new {
                // Dropped first, so the peak never counts the old and the new one together.
                self.staging = None;
                let usage = wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST;
                self.staging =
                    Some(self.create_buffer("staging", bytes.next_multiple_of(256), usage));
            }
            let staging = self.staging.as_ref().expect("staging was just made");
            encoder.copy_buffer_to_buffer(src, 0, &staging.buffer, 0, bytes);
        }
        for staged in [&mut self.params, &mut self.uploads] {
            if !staged.data.is_empty() {
                self.queue
                    .write_buffer(&staged.buffer.buffer, 0, &staged.data);
                staged.data.clear();
            }
        }
        self.queue.submit([encoder.finish()]);
        self.check_error()
    }

    /// Submits pending work and reads back the first `bytes` of `src`.
    async fn read_bytes(&mut self, src: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>> {
        let bytes = bytes.next_multiple_of(4).max(4);
        self.submit(Some((src, bytes)))?;
        let staging = self
            .staging
            .clone()
            .expect("submit made the staging buffer");
        let slice = staging.buffer.slice(..bytes);
        let (sender, receiver) = futures_channel::oneshot::channel();
        slice.map_async(wgpu::MapMode::Read, move |result| {
            let _ = sender.send(result);
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Device(e.to_string()))?;
        let mapped = receiver
            .await
            .map_err(|_| Error::Device("the device was lost during a read".into()))?;
        mapped.map_err(|e| Error::Device(e.to_string()))?;
        let data = slice
            .get_mapped_range()
            .map_err(|e| Error::Device(e.to_string()))?
            .to_vec();
        staging.buffer.unmap();
        self.check_error()?;
        Ok(data)
    }

    /// Checks `x: [rows, k]` against `w: [n, k]`; returns the columns of the product.
    fn linear_shape(&self, x: &GpuTensor, w: &GpuWeight, epilogue: Epilogue) -> Result<usize> {
        let [n, k] = w.shape[..] else {
            return Err(Error::InvalidArgument("linear weight must be 2-D".into()));
        };
        if x.cols != k {
            return Err(Error::InvalidArgument(format!(
                "linear: input has {} columns, weight expects {k}",
                x.cols
            )));
        }
        if epilogue == Epilogue::Gated {
            if !n.is_multiple_of(2) {
                return Err(Error::InvalidArgument(format!(
                    "gated linear: {n} weight rows are not (gate, up) pairs"
                )));
            }
            return Ok(n / 2);
        }
        Ok(n)
    }

    /// A new tensor holding `x w^T` through `epilogue` (`Store`, or `Gated` with `activation`).
    fn product(
        &mut self,
        x: &GpuTensor,
        w: &GpuWeight,
        epilogue: Epilogue,
        activation: Activation,
    ) -> Result<GpuTensor> {
        let cols = self.linear_shape(x, w, epilogue)?;
        let out = self.arena_tensor(x.rows, cols)?;
        self.record_linear(x, w, &out, epilogue, activation)?;
        Ok(out)
    }

    /// Records `out (epilogue) x w^T` with the linear kernel for `x`'s row count; `activation`
    /// matters to the `Gated` epilogue only.
    fn record_linear(
        &mut self,
        x: &GpuTensor,
        w: &GpuWeight,
        out: &GpuTensor,
        epilogue: Epilogue,
        activation: Activation,
    ) -> Result<()> {
        let (n, k) = (w.shape[0], w.shape[1]);
        let buffers = [&x.buffer, &w.buffer, &out.buffer];
        let (matvec, matmul) = self.linear;
        let key = |kernel| PipelineKey {
            kernel,
            weight_dtype: Some(w.dtype),
            epilogue,
            activation: Some(activation).filter(|_| epilogue == Epilogue::Gated),
        };
        // Weight rows per invocation of the row kernels (`ROWS` in matvec_rows.wgsl, two in
        // matmul_rows.wgsl), 64 invocations a workgroup; `matvec` takes 8 rows a workgroup.
        const MATVEC_ROWS: usize = 4;
        const MATMUL_ROWS: usize = 2;
        if x.rows == 1 {
            let grid = if matvec == Kernel::MatvecRows {
                self.grid(n.div_ceil(MATVEC_ROWS * 64))
            } else {
                self.grid(n.div_ceil(8))
            };
            self.dispatch_pipeline(key(matvec), &buffers, &[u(n), u(k)], grid)
        } else {
            let m = x.rows;
            let grid = if matmul == Kernel::MatmulRows {
                [u(n.div_ceil(MATMUL_ROWS * 64)), u(m.div_ceil(8)), 1]
            } else {
                [u(n.div_ceil(64)), u(m.div_ceil(64)), 1]
            };
            self.dispatch_pipeline(key(matmul), &buffers, &[u(m), u(n), u(k)], grid)
        }
    }

    fn results_capacity(&self) -> usize {
        (self.results.buffer.size() / 4) as usize
    }

    fn weight_elements(weight: &GpuWeight) -> usize {
        weight.shape.iter().product()
    }

    /// (positions, rotary_dim) of a RoPE table `[context, rotary_dim / 2, 2]`.
    fn rope_table_shape(table: &GpuWeight) -> (usize, usize) {
        match table.shape[..] {
            [positions, ref rest @ ..] => (positions, rest.iter().product()),
            [] => (0, 0),
        }
    }
}

fn words_to_f32(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn u(value: usize) -> u32 {
    value as u32
}
