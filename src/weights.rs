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
/// trait over fetched or user-picked files.
pub trait ModelFiles {
    /// A human-readable location, used in error messages.
    fn describe(&self, name: &str) -> String;
    fn exists(&self, name: &str) -> bool;
    fn read(&self, name: &str) -> Result<Vec<u8>>;

    fn read_text(&self, name: &str) -> Result<String> {
        String::from_utf8(self.read(name)?)
            .map_err(|_| Error::json(self.describe(name), "file is not UTF-8 text"))
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
}

impl ModelFiles for Folder {
    fn describe(&self, name: &str) -> String {
        self.root.join(name).display().to_string()
    }

    fn exists(&self, name: &str) -> bool {
        self.root.join(name).is_file()
    }

    fn read(&self, name: &str) -> Result<Vec<u8>> {
        let path = self.root.join(name);
        std::fs::read(&path).map_err(|source| Error::Io { path, source })
    }
}

#[derive(Deserialize)]
struct HeaderEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

struct Entry {
    dtype: DType,
    shape: Vec<usize>,
    start: usize,
    end: usize,
}

/// One parsed safetensors file, owning its bytes.
pub struct SafeTensors {
    file: String,
    bytes: Vec<u8>,
    data_start: usize,
    entries: HashMap<String, Entry>,
}

/// Headers past this size are rejected rather than parsed (real ones are a few hundred KB).
const MAX_HEADER_BYTES: usize = 100 << 20;

impl SafeTensors {
    pub fn parse(file: impl Into<String>, bytes: Vec<u8>) -> Result<Self> {
        let file = file.into();
        let bad = |message: String| Error::Safetensors {
            file: file.clone(),
            message,
        };
        if bytes.len() < 8 {
            return Err(bad(format!(
                "file is {} bytes, too short for a header",
                bytes.len()
            )));
        }
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap());
        let available = bytes.len() - 8;
        if header_len > available as u64 || header_len as usize > MAX_HEADER_BYTES {
            return Err(bad(format!(
                "header length {header_len} exceeds the {available} bytes that follow (truncated file?)"
            )));
        }
        let data_start = 8 + header_len as usize;
        let header: HashMap<String, serde_json::Value> =
            serde_json::from_slice(&bytes[8..data_start])
                .map_err(|e| bad(format!("header is not valid JSON: {e}")))?;
        let data_len = bytes.len() - data_start;
        let mut entries = HashMap::with_capacity(header.len());
        for (name, value) in header {
            if name == "__metadata__" {
                continue;
            }
            let entry: HeaderEntry =
                serde_json::from_value(value).map_err(|e| bad(format!("tensor `{name}`: {e}")))?;
            let dtype =
                DType::from_safetensors(&entry.dtype).ok_or_else(|| Error::UnsupportedDtype {
                    file: file.clone(),
                    name: name.clone(),
                    dtype: entry.dtype.clone(),
                })?;
            let [start, end] = entry.data_offsets;
            let numel = entry
                .shape
                .iter()
                .try_fold(1usize, |acc, &d| acc.checked_mul(d));
            let expected = numel.and_then(|n| n.checked_mul(dtype.size()));
            if start > end || end > data_len {
                return Err(bad(format!(
                    "tensor `{name}` spans bytes {start}..{end} but the data is {data_len} bytes (truncated file?)"
                )));
            }
            if expected != Some(end - start) {
                return Err(bad(format!(
                    "tensor `{name}` of shape {:?} needs {expected:?} bytes but spans {}",
                    entry.shape,
                    end - start
                )));
            }
            entries.insert(
                name,
                Entry {
                    dtype,
                    shape: entry.shape,
                    start,
                    end,
                },
            );
        }
        Ok(Self {
            file,
            bytes,
            data_start,
            entries,
        })
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    pub fn get(&self, name: &str) -> Option<TensorView<'_>> {
        self.entries.get(name).map(|e| TensorView {
            dtype: e.dtype,
            shape: &e.shape,
            bytes: &self.bytes[self.data_start + e.start..self.data_start + e.end],
        })
    }
}

/// All tensors of a checkpoint, single-file or sharded.
pub struct Checkpoint {
    shards: Vec<SafeTensors>,
    /// Tensor name -> index into `shards`.
    index: HashMap<String, usize>,
}

impl Checkpoint {
    /// Reads `model.safetensors`, or the shards listed in `model.safetensors.index.json`.
    pub fn load(files: &dyn ModelFiles) -> Result<Self> {
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
        for (i, name) in shard_names.iter().enumerate() {
            if name.contains("..") || name.starts_with('/') {
                return Err(Error::json(
                    files.describe(INDEX),
                    format!("shard name `{name}` leaves the model folder"),
                ));
            }
            let shard = SafeTensors::parse(files.describe(name), files.read(name)?)?;
            for tensor in shard.names() {
                index.insert(tensor.to_string(), i);
            }
            shards.push(shard);
        }
        Ok(Self { shards, index })
    }

    pub fn from_shards(shards: Vec<SafeTensors>) -> Self {
        let mut index = HashMap::new();
        for (i, shard) in shards.iter().enumerate() {
            for tensor in shard.names() {
                index.insert(tensor.to_string(), i);
            }
        }
        Self { shards, index }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The tensor `name`, checked against the expected shape.
    pub fn tensor(&self, name: &str, shape: &[usize]) -> Result<TensorView<'_>> {
        let view = self.index.get(name).and_then(|&i| self.shards[i].get(name));
        let view = view.ok_or_else(|| Error::MissingTensor {
            file: self
                .shards
                .first()
                .map(|s| s.file().to_string())
                .unwrap_or_default(),
            name: name.to_string(),
        })?;
        if view.shape != shape {
            return Err(Error::ShapeMismatch {
                name: name.to_string(),
                expected: shape.to_vec(),
                found: view.shape.to_vec(),
            });
        }
        Ok(view)
    }

    /// Number of scalar parameters over all tensors.
    pub fn parameter_count(&self) -> u64 {
        self.shards
            .iter()
            .flat_map(|s| s.entries.values())
            .map(|e| e.shape.iter().product::<usize>() as u64)
            .sum()
    }

    /// The dtypes present, for reporting.
    pub fn dtypes(&self) -> Vec<DType> {
        let mut dtypes: Vec<DType> = self
            .shards
            .iter()
            .flat_map(|s| s.entries.values().map(|e| e.dtype))
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

    #[test]
    fn parses_a_valid_file() {
        let data: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let bytes = file_with_header(
            r#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "__metadata__": {}}"#,
            &data,
        );
        let st = SafeTensors::parse("t.safetensors", bytes).unwrap();
        assert_eq!(st.get("a").unwrap().to_f32(), vec![1.0, 2.0]);
    }

    #[test]
    fn rejects_truncated_and_lying_files() {
        let lying = file_with_header(
            r#"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#,
            &[0; 8],
        );
        let err = SafeTensors::parse("x.safetensors", lying).err().unwrap();
        assert!(err.to_string().contains("truncated"), "{err}");
        let wrong_size = file_with_header(
            r#"{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#,
            &[0; 8],
        );
        assert!(SafeTensors::parse("x", wrong_size).is_err());
        let overflow = file_with_header(
            r#"{"a": {"dtype": "F32", "shape": [18446744073709551615, 2], "data_offsets": [0, 8]}}"#,
            &[0; 8],
        );
        assert!(SafeTensors::parse("x", overflow).is_err());
        let mut huge_header = 1u64 << 60;
        let bytes: Vec<u8> = huge_header.to_le_bytes().to_vec();
        assert!(SafeTensors::parse("x", bytes).is_err());
        huge_header = 3;
        let mut bytes = huge_header.to_le_bytes().to_vec();
        bytes.extend_from_slice(b"{{{");
        assert!(SafeTensors::parse("x", bytes).is_err());
        assert!(SafeTensors::parse("x", vec![1, 2]).is_err());
    }

    #[test]
    fn names_unsupported_dtypes() {
        let bytes = file_with_header(
            r#"{"a": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}"#,
            &[0; 8],
        );
        let err = SafeTensors::parse("x.safetensors", bytes).err().unwrap();
        assert!(err.to_string().contains("I64"), "{err}");
    }
}
