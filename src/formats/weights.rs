//! Checkpoint files: where the bytes come from ([`ModelFiles`]) and where each tensor lies in
//! them ([`TensorFile`], from a safetensors header or a GGUF one). Parsing checks every offset and
//! size, so a truncated or lying file is an error that names the file, never an out-of-bounds
//! read.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::formats::gguf::Gguf;
pub use crate::formats::host_tensor::HostTensor;

/// Element types of checkpoint tensors: plain floats, and ggml's block-quantized formats
/// (a block of `block().0` values stored in `block().1` bytes).
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    F16,
    BF16,
    Q8_0,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q2_K,
    Q3_K,
    Q4_K,
    Q5_K,
    Q6_K,
    IQ4_NL,
    IQ4_XS,
}

impl DType {
    pub const ALL: [DType; 15] = [
        DType::F32,
        DType::F16,
        DType::BF16,
        DType::Q8_0,
        DType::Q4_0,
        DType::Q4_1,
        DType::Q5_0,
        DType::Q5_1,
        DType::Q2_K,
        DType::Q3_K,
        DType::Q4_K,
        DType::Q5_K,
        DType::Q6_K,
        DType::IQ4_NL,
        DType::IQ4_XS,
    ];

    /// (values per block, bytes per block); plain floats are blocks of one.
    pub fn block(self) -> (usize, usize) {
        match self {
            DType::F32 => (1, 4),
            DType::F16 | DType::BF16 => (1, 2),
            DType::Q8_0 => (32, 34),
            DType::Q4_0 => (32, 18),
            DType::Q4_1 => (32, 20),
            DType::Q5_0 => (32, 22),
            DType::Q5_1 => (32, 24),
            DType::Q2_K => (256, 84),
            DType::Q3_K => (256, 110),
            DType::Q4_K => (256, 144),
            DType::Q5_K => (256, 176),
            DType::Q6_K => (256, 210),
            DType::IQ4_NL => (32, 18),
            DType::IQ4_XS => (256, 136),
        }
    }

    pub fn is_quantized(self) -> bool {
        self.block().0 > 1
    }

    /// Bytes of a tensor of this type whose rows are `cols` long, or `None` when a row is not a
    /// whole number of blocks (or the size overflows).
    pub fn bytes_for(self, shape: &[usize]) -> Option<u64> {
        let (block_size, block_bytes) = self.block();
        let cols = *shape.last().unwrap_or(&1) as u64;
        if !cols.is_multiple_of(block_size as u64) {
            return None;
        }
        let numel = shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))?;
        (numel / block_size as u64).checked_mul(block_bytes as u64)
    }

    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
            DType::Q8_0 => "q8_0",
            DType::Q4_0 => "q4_0",
            DType::Q4_1 => "q4_1",
            DType::Q5_0 => "q5_0",
            DType::Q5_1 => "q5_1",
            DType::Q2_K => "q2_k",
            DType::Q3_K => "q3_k",
            DType::Q4_K => "q4_k",
            DType::Q5_K => "q5_k",
            DType::Q6_K => "q6_k",
            DType::IQ4_NL => "iq4_nl",
            DType::IQ4_XS => "iq4_xs",
        }
    }

    /// Parses a name as [`DType::name`] writes it (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.to_ascii_lowercase();
        Self::ALL.into_iter().find(|d| d.name() == name)
    }

    /// ggml's type id, as GGUF files store it.
    pub fn from_ggml(id: u32) -> Option<Self> {
        Some(match id {
            0 => DType::F32,
            1 => DType::F16,
            2 => DType::Q4_0,
            3 => DType::Q4_1,
            6 => DType::Q5_0,
            7 => DType::Q5_1,
            8 => DType::Q8_0,
            10 => DType::Q2_K,
            11 => DType::Q3_K,
            12 => DType::Q4_K,
            13 => DType::Q5_K,
            14 => DType::Q6_K,
            20 => DType::IQ4_NL,
            23 => DType::IQ4_XS,
            30 => DType::BF16,
            _ => return None,
        })
    }

    fn from_safetensors(name: &str) -> Option<Self> {
        match name {
            "F32" => Some(DType::F32),
            "F16" => Some(DType::F16),
            "BF16" => Some(DType::BF16),
            _ => None,
        }
    }
}

/// A borrowed tensor in checkpoint layout: row-major, little-endian.
#[derive(Debug, Clone, Copy)]
pub struct TensorView<'a> {
    pub dtype: DType,
    pub shape: &'a [usize],
    pub bytes: &'a [u8],
}

impl TensorView<'_> {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The values as f32: widened (exact) or dequantized.
    pub fn to_f32(&self) -> Vec<f32> {
        match self.dtype {
            DType::F32 => self
                .bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            DType::F16 => self
                .bytes
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            DType::BF16 => self
                .bytes
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            quantized => crate::formats::quant::dequantize(quantized, self.bytes),
        }
    }
}

/// Where model files come from. Native code reads a folder; the browser implements the same
/// trait over fetched or user-picked files. Weights are read one tensor at a time through
/// `read_range`, so a checkpoint is never held whole in memory.
pub trait ModelFiles {
    /// A human-readable location, used in error messages.
    fn describe(&self, name: &str) -> String;
    fn exists(&self, name: &str) -> bool;
    /// The whole file (for small files: configs, tokenizers).
    fn read(&self, name: &str) -> Result<Vec<u8>>;
    fn size(&self, name: &str) -> Result<u64>;
    /// `len` bytes from `offset`; fewer than `len` available is an error.
    fn read_range(&self, name: &str, offset: u64, len: usize) -> Result<Vec<u8>>;
    /// The names of the files (used to find a `.gguf` file in a source without `config.json`).
    fn list(&self) -> Result<Vec<String>>;

    fn read_text(&self, name: &str) -> Result<String> {
        String::from_utf8(self.read(name)?)
            .map_err(|_| Error::json(self.describe(name), "file is not UTF-8 text"))
    }

    /// A JSON file that may be absent; malformed JSON is an error naming the file.
    fn read_json_optional(&self, name: &str) -> Result<Option<serde_json::Value>> {
        if !self.exists(name) {
            return Ok(None);
        }
        let text = self.read_text(name)?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::json(self.describe(name), e))
    }
}

/// A model folder on the local file system, or one model file (a `.gguf`) seen as a folder
/// that holds just that file.
pub struct Folder {
    root: PathBuf,
    /// When set, the only file visible.
    only: Option<String>,
}

impl Folder {
    pub fn new(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        if !root.is_dir() {
            return Err(Error::Io {
                path: root,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "model folder not found"),
            });
        }
        Ok(Self { root, only: None })
    }

    /// A folder, or a single file (e.g. `model.gguf`).
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        if !path.is_file() {
            return Self::new(path);
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let root = path.parent().map(PathBuf::from).unwrap_or_default();
        let root = if root.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            root
        };
        Ok(Self { root, only: name })
    }

    fn visible(&self, name: &str) -> bool {
        self.only.as_deref().is_none_or(|only| only == name)
    }

    fn io_error(&self, name: &str) -> impl Fn(std::io::Error) -> Error + '_ {
        let path = self.root.join(name);
        move |source| Error::Io {
            path: path.clone(),
            source,
        }
    }
}

impl ModelFiles for Folder {
    fn describe(&self, name: &str) -> String {
        self.root.join(name).display().to_string()
    }

    fn exists(&self, name: &str) -> bool {
        self.visible(name) && self.root.join(name).is_file()
    }

    fn read(&self, name: &str) -> Result<Vec<u8>> {
        std::fs::read(self.root.join(name)).map_err(self.io_error(name))
    }

    fn list(&self) -> Result<Vec<String>> {
        if let Some(only) = &self.only {
            return Ok(vec![only.clone()]);
        }
        let entries = std::fs::read_dir(&self.root).map_err(self.io_error(""))?;
        let mut names: Vec<String> = entries
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    fn size(&self, name: &str) -> Result<u64> {
        let metadata = std::fs::metadata(self.root.join(name)).map_err(self.io_error(name))?;
        Ok(metadata.len())
    }

    fn read_range(&self, name: &str, offset: u64, len: usize) -> Result<Vec<u8>> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = std::fs::File::open(self.root.join(name)).map_err(self.io_error(name))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(self.io_error(name))?;
        let mut bytes = vec![0; len];
        file.read_exact(&mut bytes).map_err(self.io_error(name))?;
        Ok(bytes)
    }
}

/// Files held in memory, by name (tests, and sources that arrive whole).
#[derive(Default)]
pub struct MemoryFiles {
    files: HashMap<String, Vec<u8>>,
}

impl MemoryFiles {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, name: impl Into<String>, bytes: Vec<u8>) {
        self.files.insert(name.into(), bytes);
    }

    fn get(&self, name: &str) -> Result<&Vec<u8>> {
        self.files.get(name).ok_or_else(|| Error::Io {
            path: PathBuf::from(name),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "file not found"),
        })
    }
}

impl ModelFiles for MemoryFiles {
    fn describe(&self, name: &str) -> String {
        name.to_string()
    }

    fn exists(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    fn read(&self, name: &str) -> Result<Vec<u8>> {
        self.get(name).cloned()
    }

    fn size(&self, name: &str) -> Result<u64> {
        Ok(self.get(name)?.len() as u64)
    }

    fn list(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = self.files.keys().cloned().collect();
        names.sort();
        Ok(names)
    }

    fn read_range(&self, name: &str, offset: u64, len: usize) -> Result<Vec<u8>> {
        let bytes = self.get(name)?;
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let end = start.checked_add(len).filter(|&end| end <= bytes.len());
        match end {
            Some(end) => Ok(bytes[start..end].to_vec()),
            None => Err(Error::Safetensors {
                file: name.to_string(),
                message: format!("read of {len} bytes at {offset} past the end of the file"),
            }),
        }
    }
}

#[derive(Deserialize)]
struct HeaderEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [u64; 2],
}

/// How stored rows map to the layout the model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transform {
    None,
    /// llama.cpp's converter interleaves the two rotary halves of every head of q and k
    /// (row `h*d + 2i + s` holds Hugging Face row `h*d + s*d/2 + i`): undone on read.
    UnpermuteHeads(usize),
}

#[derive(Debug, Clone)]
struct Entry {
    dtype: DType,
    shape: Vec<usize>,
    /// Absolute byte offset in the file.
    start: u64,
    len: usize,
    transform: Transform,
}

/// The tensors of one file (a safetensors shard or a GGUF file): where each lies, checked
/// against the file size, under the names the model reads.
pub struct TensorFile {
    file: String,
    entries: HashMap<String, Entry>,
    /// Tensors of a dtype no model reads (e.g. BERT's int64 `position_ids`): an error only if
    /// asked for. Name -> dtype.
    unsupported: HashMap<String, String>,
}

/// Headers past this size are rejected rather than parsed (real ones are a few hundred KB).
const MAX_HEADER_BYTES: u64 = 100 << 20;

impl TensorFile {
    /// Reads and checks the header of the safetensors file `name`.
    pub fn safetensors(files: &dyn ModelFiles, name: &str) -> Result<Self> {
        let file = files.describe(name);
        let bad = |message: String| Error::Safetensors {
            file: file.clone(),
            message,
        };
        let size = files.size(name)?;
        if size < 8 {
            return Err(bad(format!("file is {size} bytes, too short for a header")));
        }
        let prefix = files.read_range(name, 0, 8)?;
        let header_len = u64::from_le_bytes(prefix[..8].try_into().expect("8 bytes were read"));
        if header_len > size - 8 || header_len > MAX_HEADER_BYTES {
            return Err(bad(format!(
                "header length {header_len} exceeds the {} bytes that follow (truncated file?)",
                size - 8
            )));
        }
        let header = files.read_range(name, 8, header_len as usize)?;
        let header: HashMap<String, serde_json::Value> = serde_json::from_slice(&header)
            .map_err(|e| bad(format!("header is not valid JSON: {e}")))?;
        let data_start = 8 + header_len;
        let data_len = size - data_start;
        let mut entries = HashMap::with_capacity(header.len());
        let mut unsupported = HashMap::new();
        for (tensor, value) in header {
            if tensor == "__metadata__" {
                continue;
            }
            let entry: HeaderEntry = serde_json::from_value(value)
                .map_err(|e| bad(format!("tensor `{tensor}`: {e}")))?;
            let Some(dtype) = DType::from_safetensors(&entry.dtype) else {
                unsupported.insert(tensor, entry.dtype);
                continue;
            };
            let [start, end] = entry.data_offsets;
            let expected = dtype.bytes_for(&entry.shape);
            if start > end || end > data_len {
                return Err(bad(format!(
                    "tensor `{tensor}` spans bytes {start}..{end} but the data is {data_len} bytes (truncated file?)"
                )));
            }
            if expected != Some(end - start) {
                return Err(bad(format!(
                    "tensor `{tensor}` of shape {:?} needs {expected:?} bytes but spans {}",
                    entry.shape,
                    end - start
                )));
            }
            entries.insert(
                tensor,
                Entry {
                    dtype,
                    shape: entry.shape,
                    start: data_start + start,
                    len: (end - start) as usize,
                    transform: Transform::None,
                },
            );
        }
        Ok(Self {
            file,
            entries,
            unsupported,
        })
    }

    /// The tensors of a GGUF file under the names `rename` gives them (`None`: not used by the
    /// model); `unpermute` says which tensors need llama.cpp's q/k row order undone, with how
    /// many heads.
    fn gguf(
        gguf: &Gguf,
        rename: impl Fn(&str) -> Option<String>,
        unpermute: impl Fn(&str) -> Option<usize>,
    ) -> Result<Self> {
        let mut entries = HashMap::new();
        for info in gguf.tensors() {
            let Some(name) = rename(&info.name) else {
                continue;
            };
            let transform = match unpermute(&name) {
                Some(heads) => {
                    let rows = info.shape[0];
                    if heads == 0 || !rows.is_multiple_of(2 * heads) {
                        return Err(gguf.error(format!(
                            "tensor `{}` has {rows} rows, not whole heads of {heads}",
                            info.name
                        )));
                    }
                    Transform::UnpermuteHeads(heads)
                }
                None => Transform::None,
            };
            let len = usize::try_from(info.len)
                .map_err(|_| gguf.error(format!("tensor `{}` is too large", info.name)))?;
            entries.insert(
                name,
                Entry {
                    dtype: info.dtype,
                    shape: info.shape.clone(),
                    start: info.start,
                    len,
                    transform,
                },
            );
        }
        let unsupported = gguf
            .unsupported()
            .filter_map(|(name, id)| {
                Some((rename(name)?, crate::formats::gguf::ggml_type_name(id)))
            })
            .collect();
        Ok(Self {
            file: gguf.file().to_string(),
            entries,
            unsupported,
        })
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }
}

/// Undoes llama.cpp's q/k row interleave: stored row `h*d + 2i + s` becomes row
/// `h*d + s*d/2 + i` (d rows per head). Rows are whole blocks, so this is exact for any type.
fn unpermute_heads(bytes: &[u8], rows: usize, heads: usize) -> Vec<u8> {
    let row_bytes = bytes.len() / rows;
    let per_head = rows / heads;
    let half = per_head / 2;
    let mut out = vec![0; bytes.len()];
    for head in 0..heads {
        for i in 0..half {
            for s in 0..2 {
                let from = head * per_head + 2 * i + s;
                let to = head * per_head + s * half + i;
                out[to * row_bytes..(to + 1) * row_bytes]
                    .copy_from_slice(&bytes[from * row_bytes..(from + 1) * row_bytes]);
            }
        }
    }
    out
}

/// Whether quantize-on-load converts `name`: a float matrix whose rows are whole blocks.
fn quantizable(name: &str, dtype: DType, shape: &[usize], target: DType) -> bool {
    name.ends_with(".weight")
        && shape.len() == 2
        && !dtype.is_quantized()
        && shape[1].is_multiple_of(target.block().0)
}

/// All tensors of a checkpoint (safetensors, single-file or sharded, or one GGUF file), read
/// on demand under Hugging Face names.
pub struct Checkpoint<'a> {
    files: &'a dyn ModelFiles,
    /// (file name, header) per shard.
    shards: Vec<(String, TensorFile)>,
    /// Tensor name -> index into `shards`.
    index: HashMap<String, usize>,
    /// Float matrices are quantized to this type as they are read.
    quantize: Option<DType>,
}

impl<'a> Checkpoint<'a> {
    /// Opens `model.safetensors`, or the shards listed in `model.safetensors.index.json`.
    pub fn open(files: &'a dyn ModelFiles) -> Result<Self> {
        const SINGLE: &str = "model.safetensors";
        const INDEX: &str = "model.safetensors.index.json";
        let shard_names: Vec<String> = if files.exists(SINGLE) || !files.exists(INDEX) {
            vec![SINGLE.to_string()]
        } else {
            let text = files.read_text(INDEX)?;
            let index: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| Error::json(files.describe(INDEX), e))?;
            let map = index
                .get("weight_map")
                .and_then(|m| m.as_object())
                .ok_or_else(|| Error::json(files.describe(INDEX), "no `weight_map` object"))?;
            let mut names: Vec<String> = map
                .values()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            names.sort();
            names.dedup();
            names
        };
        let mut shards = Vec::with_capacity(shard_names.len());
        for name in shard_names {
            if name.contains("..") || name.contains('/') || name.contains('\\') {
                return Err(Error::json(
                    files.describe(INDEX),
                    format!("shard name `{name}` leaves the model folder"),
                ));
            }
            let shard = TensorFile::safetensors(files, &name)?;
            shards.push((name, shard));
        }
        Ok(Self::from_shards(files, shards))
    }

    /// The tensors of the GGUF file `name`, renamed and unpermuted as described at
    /// [`TensorFile::gguf`].
    pub(crate) fn from_gguf(
        files: &'a dyn ModelFiles,
        name: &str,
        gguf: &Gguf,
        rename: impl Fn(&str) -> Option<String>,
        unpermute: impl Fn(&str) -> Option<usize>,
    ) -> Result<Self> {
        let shard = TensorFile::gguf(gguf, rename, unpermute)?;
        Ok(Self::from_shards(files, vec![(name.to_string(), shard)]))
    }

    fn from_shards(files: &'a dyn ModelFiles, shards: Vec<(String, TensorFile)>) -> Self {
        let mut index = HashMap::new();
        for (i, (_, shard)) in shards.iter().enumerate() {
            for tensor in shard.names() {
                index.insert(tensor.to_string(), i);
            }
        }
        Self {
            files,
            shards,
            index,
            quantize: None,
        }
    }

    /// Quantizes float matrices whose rows are whole blocks to `dtype` (Q8_0 or Q4_0) as they
    /// are read; other tensors are read as stored.
    pub fn quantize_to(&mut self, dtype: DType) -> Result<()> {
        if !matches!(dtype, DType::Q8_0 | DType::Q4_0) {
            return Err(Error::InvalidArgument(format!(
                "cannot quantize to {} (supported: q8_0, q4_0)",
                dtype.name()
            )));
        }
        self.quantize = Some(dtype);
        Ok(())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    fn entry(&self, name: &str) -> Result<(&str, &Entry)> {
        let missing = || Error::MissingTensor {
            file: self
                .shards
                .first()
                .map(|(_, s)| s.file().to_string())
                .unwrap_or_default(),
            name: name.to_string(),
        };
        let unsupported = self.shards.iter().find_map(|(_, s)| {
            let dtype = s.unsupported.get(name)?;
            Some(Error::UnsupportedDtype {
                file: s.file().to_string(),
                name: name.to_string(),
                dtype: dtype.clone(),
            })
        });
        if let Some(error) = unsupported {
            return Err(error);
        }
        let &shard = self.index.get(name).ok_or_else(missing)?;
        let (file, header) = &self.shards[shard];
        let entry = header.entries.get(name).ok_or_else(missing)?;
        Ok((file, entry))
    }

    /// The type `name` is read as: its stored type, or the quantize-on-load target.
    fn loaded_dtype(&self, name: &str, entry: &Entry) -> DType {
        match self.quantize {
            Some(target) if quantizable(name, entry.dtype, &entry.shape, target) => target,
            _ => entry.dtype,
        }
    }

    /// Dtype (as loaded) and shape of `name`, without reading its data.
    pub fn meta(&self, name: &str) -> Result<(DType, &[usize])> {
        let (_, entry) = self.entry(name)?;
        Ok((self.loaded_dtype(name, entry), &entry.shape))
    }

    /// Reads the tensor `name`, checked against the expected shape.
    pub fn tensor(&self, name: &str, shape: &[usize]) -> Result<HostTensor> {
        let (file, entry) = self.entry(name)?;
        if entry.shape != shape {
            return Err(Error::ShapeMismatch {
                name: name.to_string(),
                expected: shape.to_vec(),
                found: entry.shape.clone(),
            });
        }
        let mut bytes = self.files.read_range(file, entry.start, entry.len)?;
        if let Transform::UnpermuteHeads(heads) = entry.transform {
            bytes = unpermute_heads(&bytes, entry.shape[0], heads);
        }
        let mut tensor = HostTensor {
            dtype: entry.dtype,
            shape: entry.shape.clone(),
            bytes,
        };
        let target = self.loaded_dtype(name, entry);
        if target != entry.dtype {
            let values = tensor.view().to_f32();
            tensor.bytes = crate::formats::quant::quantize(target, &values);
            tensor.dtype = target;
        }
        Ok(tensor)
    }

    /// Every tensor's name and size in bytes, as loaded.
    pub fn sizes(&self) -> impl Iterator<Item = (&str, u64)> {
        self.shards.iter().flat_map(move |(_, s)| {
            s.entries.iter().map(move |(n, e)| {
                let dtype = self.loaded_dtype(n, e);
                let bytes = dtype.bytes_for(&e.shape).unwrap_or(e.len as u64);
                (n.as_str(), bytes)
            })
        })
    }

    /// Number of scalar parameters over all tensors.
    pub fn parameter_count(&self) -> u64 {
        self.shards
            .iter()
            .flat_map(|(_, s)| s.entries.values())
            .map(|e| e.shape.iter().product::<usize>() as u64)
            .sum()
    }

    /// Names of the dtypes present (as loaded), for reporting.
    pub fn dtype_names(&self) -> Vec<String> {
        self.dtypes().iter().map(|d| d.name().to_string()).collect()
    }

    /// The dtypes present (as loaded), for reporting.
    pub fn dtypes(&self) -> Vec<DType> {
        let mut dtypes: Vec<DType> = self
            .shards
            .iter()
            .flat_map(|(_, s)| s.entries.iter().map(|(n, e)| self.loaded_dtype(n, e)))
            .collect();
        dtypes.sort_by_key(|d| d.name());
        dtypes.dedup();
        dtypes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with_header(header: &str, data: &[u8]) -> Vec<u8> {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(data);
        bytes
    }

    fn open(bytes: Vec<u8>) -> Result<TensorFile> {
        let mut files = MemoryFiles::new();
        files.insert("x.safetensors", bytes);
        TensorFile::safetensors(&files, "x.safetensors")
    }

    #[test]
    fn reads_a_valid_file_tensor_by_tensor() {
        let data: Vec<u8> = [1.0f32, 2.0, 3.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let bytes = file_with_header(
            r#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}, "__metadata__": {}}"#,
            &data,
        );
        let mut files = MemoryFiles::new();
        files.insert("model.safetensors", bytes);
        let checkpoint = Checkpoint::open(&files).unwrap();
        assert_eq!(
            checkpoint.tensor("a", &[2]).unwrap().view().to_f32(),
            [1.0, 2.0]
        );
        assert_eq!(checkpoint.tensor("b", &[1]).unwrap().view().to_f32(), [3.0]);
        assert!(checkpoint.tensor("b", &[2]).is_err());
        assert!(checkpoint.tensor("c", &[1]).is_err());
        assert_eq!(checkpoint.parameter_count(), 3);
    }

    #[test]
    fn rejects_truncated_and_lying_files() {
        let lying = file_with_header(
            r#"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#,
            &[0; 8],
        );
        let err = open(lying).err().unwrap();
        assert!(err.to_string().contains("truncated"), "{err}");
        let wrong_size = file_with_header(
            r#"{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#,
            &[0; 8],
        );
        assert!(open(wrong_size).is_err());
        let overflow = file_with_header(
            r#"{"a": {"dtype": "F32", "shape": [18446744073709551615, 2], "data_offsets": [0, 8]}}"#,
            &[0; 8],
        );
        assert!(open(overflow).is_err());
        assert!(open((1u64 << 60).to_le_bytes().to_vec()).is_err());
        let mut bad_json = 3u64.to_le_bytes().to_vec();
        bad_json.extend_from_slice(b"{{{");
        assert!(open(bad_json).is_err());
        assert!(open(vec![1, 2]).is_err());
    }

    #[test]
    fn names_unsupported_dtypes() {
        let bytes = file_with_header(
            r#"{"a": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}"#,
            &[0; 8],
        );
        // Opening succeeds (checkpoints carry integer buffers no model reads); reading fails.
        let mut files = MemoryFiles::new();
        files.insert("model.safetensors", bytes);
        let checkpoint = Checkpoint::open(&files).unwrap();
        let err = checkpoint.tensor("a", &[1]).err().unwrap();
        assert!(err.to_string().contains("I64"), "{err}");
    }
}
