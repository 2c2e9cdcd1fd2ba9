//! Checkpoint files: where the bytes come from ([`ModelFiles`]) and how safetensors are parsed
//! ([`SafeTensors`]). Parsing checks every offset and size, so a truncated or lying file is an
//! error that names the file, never an out-of-bounds read.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::error::{Error, Result};

/// Element types of checkpoint tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    F16,
    BF16,
}

impl DType {
    pub fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F16 | DType::BF16 => 2,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
        }
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

    /// The values widened to f32 (exact for all supported dtypes).
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

/// A model folder on the local file system.
pub struct Folder {
    root: PathBuf,
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
        Ok(Self { root })
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
        self.root.join(name).is_file()
    }

    fn read(&self, name: &str) -> Result<Vec<u8>> {
        std::fs::read(self.root.join(name)).map_err(self.io_error(name))
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

/// A tensor read from a checkpoint: row-major, little-endian bytes.
#[derive(Debug, Clone)]
pub struct HostTensor {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub bytes: Vec<u8>,
}

impl HostTensor {
    pub fn view(&self) -> TensorView<'_> {
        TensorView {
            dtype: self.dtype,
            shape: &self.shape,
            bytes: &self.bytes,
        }
    }
}

#[derive(Deserialize)]
struct HeaderEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [u64; 2],
}

#[derive(Debug, Clone)]
struct Entry {
    dtype: DType,
    shape: Vec<usize>,
    /// Absolute byte offset in the file.
    start: u64,
    len: usize,
}

/// The header of one safetensors file: where each tensor lies, checked against the file size.
pub struct SafeTensors {
    file: String,
    entries: HashMap<String, Entry>,
    /// Tensors of a dtype no model reads (e.g. BERT's int64 `position_ids`): an error only if
    /// asked for. Name -> dtype.
    unsupported: HashMap<String, String>,
}

/// Headers past this size are rejected rather than parsed (real ones are a few hundred KB).
const MAX_HEADER_BYTES: u64 = 100 << 20;

impl SafeTensors {
    /// Reads and checks the header of `name`.
    pub fn open(files: &dyn ModelFiles, name: &str) -> Result<Self> {
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
            let numel = entry
                .shape
                .iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
            let expected = numel.and_then(|n| n.checked_mul(dtype.size() as u64));
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
                },
            );
        }
        Ok(Self {
            file,
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

/// All tensors of a checkpoint, single-file or sharded, read on demand.
pub struct Checkpoint<'a> {
    files: &'a dyn ModelFiles,
    /// (file name, header) per shard.
    shards: Vec<(String, SafeTensors)>,
    /// Tensor name -> index into `shards`.
    index: HashMap<String, usize>,
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
        let mut index = HashMap::new();
        for (i, name) in shard_names.into_iter().enumerate() {
            if name.contains("..") || name.contains('/') || name.contains('\\') {
                return Err(Error::json(
                    files.describe(INDEX),
                    format!("shard name `{name}` leaves the model folder"),
                ));
            }
            let shard = SafeTensors::open(files, &name)?;
            for tensor in shard.names() {
                index.insert(tensor.to_string(), i);
            }
            shards.push((name, shard));
        }
        Ok(Self {
            files,
            shards,
            index,
        })
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

    /// Dtype and shape of `name`, without reading its data.
    pub fn meta(&self, name: &str) -> Result<(DType, &[usize])> {
        let (_, entry) = self.entry(name)?;
        Ok((entry.dtype, &entry.shape))
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
        Ok(HostTensor {
            dtype: entry.dtype,
            shape: entry.shape.clone(),
            bytes: self.files.read_range(file, entry.start, entry.len)?,
        })
    }

    /// Every tensor's name and size in bytes.
    pub fn sizes(&self) -> impl Iterator<Item = (&str, u64)> {
        self.shards
            .iter()
            .flat_map(|(_, s)| s.entries.iter().map(|(n, e)| (n.as_str(), e.len as u64)))
    }

    /// Number of scalar parameters over all tensors.
    pub fn parameter_count(&self) -> u64 {
        self.shards
            .iter()
            .flat_map(|(_, s)| s.entries.values())
            .map(|e| e.shape.iter().product::<usize>() as u64)
            .sum()
    }

    /// Names of the dtypes present, for reporting.
    pub fn dtype_names(&self) -> Vec<String> {
        self.dtypes().iter().map(|d| d.name().to_string()).collect()
    }

    /// The dtypes present, for reporting.
    pub fn dtypes(&self) -> Vec<DType> {
        let mut dtypes: Vec<DType> = self
            .shards
            .iter()
            .flat_map(|(_, s)| s.entries.values().map(|e| e.dtype))
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

    fn open(bytes: Vec<u8>) -> Result<SafeTensors> {
        let mut files = MemoryFiles::new();
        files.insert("x.safetensors", bytes);
        SafeTensors::open(&files, "x.safetensors")
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
