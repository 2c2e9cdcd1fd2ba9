//! A checkpoint tensor on the host, and the row operations that fuse or reshape checkpoint
//! tensors before upload (stacking, interleaving, splitting, transposing).

use crate::error::{Error, Result};
use crate::formats::weights::{DType, TensorView};

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

    /// `parts` stacked along their first dimension (`[a; b; ..]`), so one matrix multiply
    /// computes all their products. The parts share a dtype and their other dimensions; a
    /// quantized row is whole blocks, so rows are whole byte ranges.
    pub fn concat_rows(parts: &[HostTensor]) -> Result<HostTensor> {
        let first = parts
            .first()
            .ok_or_else(|| Error::InvalidArgument("nothing to concatenate".into()))?;
        if parts
            .iter()
            .any(|p| p.dtype != first.dtype || p.shape.get(1..) != first.shape.get(1..))
        {
            return Err(Error::InvalidArgument(
                "concatenated tensors differ in dtype or row shape".into(),
            ));
        }
        let mut shape = first.shape.clone();
        shape[0] = parts.iter().map(|p| p.shape[0]).sum();
        Ok(HostTensor {
            dtype: first.dtype,
            shape,
            bytes: parts.iter().flat_map(|p| p.bytes.iter().copied()).collect(),
        })
    }

    /// A 2-D float matrix transposed (GPT-2's `Conv1D` stores `[in, out]`); quantized rows
    /// cannot be transposed.
    pub fn transposed(&self) -> Result<HostTensor> {
        let width = match self.dtype {
            DType::F32 => 4,
            DType::F16 | DType::BF16 => 2,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "cannot transpose a {} matrix",
                    other.name()
                )))
            }
        };
        let [rows, cols] = self.shape[..] else {
            return Err(Error::InvalidArgument(format!(
                "cannot transpose a tensor of shape {:?}",
                self.shape
            )));
        };
        let mut bytes = vec![0; self.bytes.len()];
        for r in 0..rows {
            for c in 0..cols {
                let from = (r * cols + c) * width;
                let to = (c * rows + r) * width;
                bytes[to..to + width].copy_from_slice(&self.bytes[from..from + width]);
            }
        }
        Ok(HostTensor {
            dtype: self.dtype,
            shape: vec![cols, rows],
            bytes,
        })
    }

    /// The first `rows` rows and the rest (a fused checkpoint tensor's parts, such as Phi-3's
    /// `gate_up_proj`); rows are whole byte ranges, quantized ones too.
    pub fn split_rows(&self, rows: usize) -> Result<(HostTensor, HostTensor)> {
        let total = self.shape.first().copied().unwrap_or(0);
        if rows == 0 || rows >= total {
            return Err(Error::InvalidArgument(format!(
                "cannot split {total} rows at row {rows}"
            )));
        }
        let at = self.bytes.len() / total * rows;
        let part = |rows: usize, bytes: &[u8]| {
            let mut shape = self.shape.clone();
            shape[0] = rows;
            HostTensor {
                dtype: self.dtype,
                shape,
                bytes: bytes.to_vec(),
            }
        };
        Ok((
            part(rows, &self.bytes[..at]),
            part(total - rows, &self.bytes[at..]),
        ))
    }

    /// The rows of two matrices of one dtype and shape, alternating: `a0, b0, a1, b1, ..`.
    pub fn interleave_rows(a: &HostTensor, b: &HostTensor) -> Result<HostTensor> {
        if a.dtype != b.dtype || a.shape != b.shape || a.shape.len() != 2 || a.shape[0] == 0 {
            return Err(Error::InvalidArgument(
                "interleaved matrices differ in dtype or shape".into(),
            ));
        }
        let row_bytes = a.bytes.len() / a.shape[0];
        let bytes = a
            .bytes
            .chunks_exact(row_bytes)
            .zip(b.bytes.chunks_exact(row_bytes))
            .flat_map(|(ra, rb)| ra.iter().chain(rb).copied())
            .collect();
        Ok(HostTensor {
            dtype: a.dtype,
            shape: vec![2 * a.shape[0], a.shape[1]],
            bytes,
        })
    }
}
