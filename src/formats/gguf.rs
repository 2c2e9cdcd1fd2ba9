//! GGUF (versions 2 and 3), llama.cpp's single-file model format: a header of typed metadata
//! and tensor infos, then aligned tensor data. The header is read through a small window over
//! [`ModelFiles::read_range`], so a multi-gigabyte file is never held whole; every count,
//! length and offset is checked against the file size before anything is allocated or read.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::formats::weights::{DType, ModelFiles};

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Vec<MetaValue>),
}

impl MetaValue {
    /// Any non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            MetaValue::U8(v) => Some(v as u64),
            MetaValue::U16(v) => Some(v as u64),
            MetaValue::U32(v) => Some(v as u64),
            MetaValue::U64(v) => Some(v),
            MetaValue::I8(v) => u64::try_from(v).ok(),
            MetaValue::I16(v) => u64::try_from(v).ok(),
            MetaValue::I32(v) => u64::try_from(v).ok(),
            MetaValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// Any integer.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            MetaValue::I8(v) => Some(v as i64),
            MetaValue::I16(v) => Some(v as i64),
            MetaValue::I32(v) => Some(v as i64),
            MetaValue::I64(v) => Some(v),
            _ => self.as_u64().and_then(|v| i64::try_from(v).ok()),
        }
    }

    /// Any number.
    pub fn as_f32(&self) -> Option<f32> {
        match *self {
            MetaValue::F32(v) => Some(v),
            MetaValue::F64(v) => Some(v as f32),
            _ => self.as_i64().map(|v| v as f32),
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            MetaValue::Bool(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetaValue::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[MetaValue]> {
        match self {
            MetaValue::Array(items) => Some(items),
            _ => None,
        }
    }
}

/// Where one tensor lies in the file.
#[derive(Debug, Clone)]
pub struct TensorInfo {
    pub name: String,
    pub dtype: DType,
    /// Row-major (outermost first): GGUF's `ne` reversed.
    pub shape: Vec<usize>,
    /// Absolute byte offset in the file.
    pub start: u64,
    pub len: u64,
}

/// The parsed header of a GGUF file.
pub struct Gguf {
    file: String,
    version: u32,
    metadata: HashMap<String, MetaValue>,
    tensors: Vec<TensorInfo>,
    /// Tensors of a type hearth cannot decode: name -> ggml type id (an error only if used).
    unsupported: HashMap<String, u32>,
}

const MAGIC: &[u8; 4] = b"GGUF";
/// Header reads go through a window of this size.
const WINDOW: usize = 1 << 20;
/// ggml tensors have at most 4 dimensions.
const MAX_DIMS: u32 = 4;

/// A forward-only reader over the file through `read_range`, one window at a time.
struct Reader<'a> {
    files: &'a dyn ModelFiles,
    name: &'a str,
    file: &'a str,
    size: u64,
    window: Vec<u8>,
    window_start: u64,
    pos: u64,
}

impl Reader<'_> {
    fn error(&self, message: impl Into<String>) -> Error {
        Error::Gguf {
            file: self.file.to_string(),
            message: message.into(),
        }
    }

    fn remaining(&self) -> u64 {
        self.size - self.pos
    }

    fn bytes(&mut self, n: usize, what: &str) -> Result<&[u8]> {
        if (n as u64) > self.remaining() {
            return Err(self.error(format!(
                "{what} at byte {} needs {n} bytes but the file ends at {} (truncated file?)",
                self.pos, self.size
            )));
        }
        let window_end = self.window_start + self.window.len() as u64;
        if self.pos < self.window_start || self.pos + n as u64 > window_end {
            let len = (n.max(WINDOW) as u64).min(self.remaining()) as usize;
            self.window = self.files.read_range(self.name, self.pos, len)?;
            self.window_start = self.pos;
        }
        let at = (self.pos - self.window_start) as usize;
        self.pos += n as u64;
        Ok(&self.window[at..at + n])
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        Ok(self.bytes(N, what)?.try_into().expect("N bytes were read"))
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// A count of items that each take at least `min_bytes`, checked against the bytes left.
    fn count(&mut self, what: &str, min_bytes: u64) -> Result<usize> {
        let n = self.u64(what)?;
        if n.saturating_mul(min_bytes) > self.remaining() {
            return Err(self.error(format!(
                "{what} of {n} does not fit the {} bytes left (truncated or corrupt file?)",
                self.remaining()
            )));
        }
        Ok(n as usize)
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let len = self.count(what, 1)?;
        let bytes = self.bytes(len, what)?.to_vec();
        String::from_utf8(bytes).map_err(|_| self.error(format!("{what} is not UTF-8")))
    }

    fn value(&mut self, kind: u32, key: &str, depth: usize) -> Result<MetaValue> {
        Ok(match kind {
            0 => MetaValue::U8(self.array::<1>(key)?[0]),
            1 => MetaValue::I8(self.array::<1>(key)?[0] as i8),
            2 => MetaValue::U16(u16::from_le_bytes(self.array(key)?)),
            3 => MetaValue::I16(i16::from_le_bytes(self.array(key)?)),
            4 => MetaValue::U32(self.u32(key)?),
            5 => MetaValue::I32(i32::from_le_bytes(self.array(key)?)),
            6 => MetaValue::F32(f32::from_le_bytes(self.array(key)?)),
            7 => match self.array::<1>(key)?[0] {
                0 => MetaValue::Bool(false),
                1 => MetaValue::Bool(true),
                other => return Err(self.error(format!("`{key}`: bool byte {other}"))),
            },
            8 => MetaValue::String(self.string(key)?),
            9 => {
                if depth > 0 {
                    return Err(self.error(format!("`{key}`: nested arrays are not supported")));
                }
                let item_kind = self.u32(key)?;
                // Every item takes at least one byte, so a lying count fails before allocating.
                let len = self.count(&format!("`{key}` array length"), 1)?;
                let mut items = Vec::with_capacity(len);
                for _ in 0..len {
                    items.push(self.value(item_kind, key, depth + 1)?);
                }
                MetaValue::Array(items)
            }
            10 => MetaValue::U64(self.u64(key)?),
            11 => MetaValue::I64(i64::from_le_bytes(self.array(key)?)),
            12 => MetaValue::F64(f64::from_le_bytes(self.array(key)?)),
            other => return Err(self.error(format!("`{key}`: unknown value type {other}"))),
        })
    }
}

impl Gguf {
    /// Reads and checks the header of the GGUF file `name`.
    pub fn open(files: &dyn ModelFiles, name: &str) -> Result<Self> {
        let file = files.describe(name);
        let size = files.size(name)?;
        let mut r = Reader {
            files,
            name,
            file: &file,
            size,
            window: Vec::new(),
            window_start: 0,
            pos: 0,
        };
        if r.array::<4>("magic")? != *MAGIC {
            return Err(r.error("not a GGUF file (bad magic)"));
        }
        let version = r.u32("version")?;
        match version {
            2 | 3 => {}
            1 => return Err(r.error("GGUF version 1 is not supported (re-convert the model)")),
            v if v.swap_bytes() <= 3 => {
                return Err(r.error("big-endian GGUF files are not supported"))
            }
            v => return Err(r.error(format!("unsupported GGUF version {v} (supported: 2, 3)"))),
        }
        // A tensor info takes at least 24 bytes, a key-value pair at least 13.
        let n_tensors = r.count("tensor count", 24)?;
        let n_kv = r.count("metadata count", 13)?;
        let mut metadata = HashMap::with_capacity(n_kv);
        for _ in 0..n_kv {
            let key = r.string("metadata key")?;
            let kind = r.u32(&key)?;
            let value = r.value(kind, &key, 0)?;
            metadata.insert(key, value);
        }
        let alignment = match metadata.get("general.alignment") {
            None => 32,
            Some(value) => match value.as_u64() {
                Some(a) if a.is_power_of_two() && a <= 1 << 20 => a,
                _ => {
                    return Err(r.error(format!("general.alignment {value:?} is not a power of 2")))
                }
            },
        };
        let mut raw = Vec::with_capacity(n_tensors);
        for _ in 0..n_tensors {
            let name = r.string("tensor name")?;
            let n_dims = r.u32(&name)?;
            if n_dims == 0 || n_dims > MAX_DIMS {
                return Err(r.error(format!("tensor `{name}` has {n_dims} dimensions")));
            }
            let mut ne = Vec::with_capacity(n_dims as usize);
            for _ in 0..n_dims {
                ne.push(r.u64(&name)?);
            }
            let kind = r.u32(&name)?;
            let offset = r.u64(&name)?;
            raw.push((name, ne, kind, offset));
        }
        let data_start = r.pos.next_multiple_of(alignment);
        let data_len = size.saturating_sub(data_start);
        let mut tensors = Vec::with_capacity(n_tensors);
        let mut unsupported = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for (name, ne, kind, offset) in raw {
            if !seen.insert(name.clone()) {
                return Err(r.error(format!("tensor `{name}` appears twice")));
            }
            let Some(dtype) = DType::from_ggml(kind) else {
                unsupported.insert(name, kind);
                continue;
            };
            let shape: Option<Vec<usize>> =
                ne.iter().rev().map(|&d| usize::try_from(d).ok()).collect();
            let shape = shape.ok_or_else(|| r.error(format!("tensor `{name}`: size {ne:?}")))?;
            let bad = |message: String| r.error(format!("tensor `{name}` {message}"));
            let len = dtype.bytes_for(&shape).ok_or_else(|| {
                bad(format!(
                    "of shape {shape:?} is not a whole number of {} blocks of {}",
                    dtype.name(),
                    dtype.block().0
                ))
            })?;
            if !offset.is_multiple_of(alignment) {
                return Err(bad(format!("offset {offset} is not {alignment}-aligned")));
            }
            if offset.checked_add(len).is_none_or(|end| end > data_len) {
                return Err(bad(format!(
                    "spans bytes {offset}..{} of data but the file holds {data_len} (truncated file?)",
                    offset.saturating_add(len)
                )));
            }
            tensors.push(TensorInfo {
                name,
                dtype,
                shape,
                start: data_start + offset,
                len,
            });
        }
        Ok(Self {
            file,
            version,
            metadata,
            tensors,
            unsupported,
        })
    }

    /// The file as error messages name it.
    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    pub fn meta(&self, key: &str) -> Option<&MetaValue> {
        self.metadata.get(key)
    }

    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// Tensors of a type hearth cannot decode, with their ggml type ids.
    pub fn unsupported(&self) -> impl Iterator<Item = (&str, u32)> {
        self.unsupported.iter().map(|(n, &id)| (n.as_str(), id))
    }

    /// `general.architecture`.
    pub fn architecture(&self) -> Result<&str> {
        self.meta("general.architecture")
            .and_then(MetaValue::as_str)
            .ok_or_else(|| self.error("no `general.architecture` string"))
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> Error {
        Error::Gguf {
            file: self.file.clone(),
            message: message.into(),
        }
    }

    /// A required unsigned integer key.
    pub(crate) fn require_u64(&self, key: &str) -> Result<u64> {
        self.meta(key)
            .and_then(MetaValue::as_u64)
            .ok_or_else(|| self.error(format!("missing or non-integer `{key}`")))
    }
}

/// The name of a GGUF tensor type id, for error messages.
pub fn ggml_type_name(id: u32) -> String {
    const NAMES: [&str; 40] = [
        "F32",
        "F16",
        "Q4_0",
        "Q4_1",
        "Q4_2",
        "Q4_3",
        "Q5_0",
        "Q5_1",
        "Q8_0",
        "Q8_1",
        "Q2_K",
        "Q3_K",
        "Q4_K",
        "Q5_K",
        "Q6_K",
        "Q8_K",
        "IQ2_XXS",
        "IQ2_XS",
        "IQ3_XXS",
        "IQ1_S",
        "IQ4_NL",
        "IQ3_S",
        "IQ2_S",
        "IQ4_XS",
        "I8",
        "I16",
        "I32",
        "I64",
        "F64",
        "IQ1_M",
        "BF16",
        "Q4_0_4_4",
        "Q4_0_4_8",
        "Q4_0_8_8",
        "TQ1_0",
        "TQ2_0",
        "IQ4_NL_4_4",
        "IQ4_NL_4_8",
        "IQ4_NL_8_8",
        "MXFP4",
    ];
    NAMES
        .get(id as usize)
        .map(|n| n.to_string())
        .unwrap_or_else(|| format!("type {id}"))
}

/// The Hugging Face name of a GGUF tensor of a decoder of llama.cpp architecture `arch`, or
/// `None` for tensors hearth does not use. Names follow the transformers checkpoints of each
/// family, so the model code is the same for both formats. `ffn_norm` is the norm before the
/// MLP: `post_attention_layernorm` in Llama's naming, `pre_feedforward_layernorm` in Gemma 2/3's.
/// Fused tensors keep their fused names (`attn_qkv` -> `qkv_proj`); Phi-3's `ffn_up` holds gate
/// and up stacked, which the model recognizes by its shape.
pub fn hf_tensor_name(arch: &str, name: &str) -> Option<String> {
    let global = match name {
        "token_embd.weight" => Some("model.embed_tokens.weight"),
        "position_embd.weight" => Some("model.embed_positions.weight"),
        "output_norm.bias" => Some("model.norm.bias"),
        "output_norm.weight" => Some("model.norm.weight"),
        "output.weight" => Some("lm_head.weight"),
        "rope_freqs.weight" => Some("rope_freqs.weight"),
        "rope_factors_long.weight" => Some("rope_factors_long.weight"),
        "rope_factors_short.weight" => Some("rope_factors_short.weight"),
        _ => None,
    };
    if let Some(global) = global {
        return Some(global.to_string());
    }
    let rest = name.strip_prefix("blk.")?;
    let (layer, rest) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (tensor, suffix) = rest.rsplit_once('.')?;
    if suffix != "weight" && suffix != "bias" {
        return None;
    }
    let sandwich = matches!(arch, "gemma2" | "gemma3");
    let hf = match tensor {
        "attn_norm" => "input_layernorm",
        "attn_q" => "self_attn.q_proj",
        "attn_k" => "self_attn.k_proj",
        "attn_v" => "self_attn.v_proj",
        "attn_qkv" => "self_attn.qkv_proj",
        "attn_output" => "self_attn.o_proj",
        "attn_q_norm" => "self_attn.q_norm",
        "attn_k_norm" => "self_attn.k_norm",
        "post_attention_norm" => "post_attention_layernorm",
        "ffn_norm" if sandwich => "pre_feedforward_layernorm",
        "ffn_norm" => "post_attention_layernorm",
        "post_ffw_norm" => "post_feedforward_layernorm",
        "ffn_gate" => "mlp.gate_proj",
        "ffn_up" => "mlp.up_proj",
        "ffn_down" => "mlp.down_proj",
        _ => return None,
    };
    Some(format!("model.layers.{layer}.{hf}.{suffix}"))
}

/// Whether llama.cpp's converter interleaved the q/k rows of `arch` for its RoPE layout (the
/// families it converts through its Llama code path); hearth puts them back on read.
pub fn permutes_qk(arch: &str) -> bool {
    matches!(arch, "llama" | "granite" | "smollm3")
}
