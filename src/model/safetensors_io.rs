//! Safetensors reading and writing for [`Weights`]: same names, official layout.
//!
//! Reading accepts F32, F64, F16 and BF16 tensors (converted to f32); writing is always F32 with
//! [`Weights::metadata`] as `__metadata__`, through a temporary file renamed into place.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, View};

use super::tensor::{f16_to_f32, f64_to_f32, Tensor, Weights, WeightsError};
use crate::util::atomic;
use crate::util::hash::sha256_bytes;

/// Whether `head` (the file's first bytes) looks like a safetensors header: a little-endian
/// header length followed by a JSON object.
pub(crate) fn looks_like(head: &[u8]) -> bool {
    head.len() > 8 && head[8] == b'{'
}

/// Reads every tensor and the metadata of the file at `path`.
pub(crate) fn read(path: &Path) -> Result<Weights, WeightsError> {
    let bytes = std::fs::read(path).map_err(|source| WeightsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let (_, header) =
        SafeTensors::read_metadata(&bytes).map_err(|source| WeightsError::Safetensors {
            path: path.to_path_buf(),
            source,
        })?;
    let file = SafeTensors::deserialize(&bytes).map_err(|source| WeightsError::Safetensors {
        path: path.to_path_buf(),
        source,
    })?;
    let mut tensors = BTreeMap::new();
    for (name, view) in file.iter() {
        let data =
            decode(view.dtype(), view.data()).map_err(|why| WeightsError::SafetensorsTensor {
                path: path.to_path_buf(),
                name: name.to_string(),
                why,
            })?;
        let shape = view.shape().to_vec();
        tensors.insert(name.to_string(), Tensor { shape, data });
    }
    let metadata = header
        .metadata()
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    Ok(Weights {
        tensors,
        sha256: sha256_bytes(&bytes),
        metadata,
    })
}

/// Converts one tensor's bytes (little-endian, as safetensors stores them) to f32.
fn decode(dtype: Dtype, bytes: &[u8]) -> Result<Vec<f32>, String> {
    match dtype {
        Dtype::F32 => Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()),
        Dtype::F16 => Ok(bytes
            .chunks_exact(2)
            .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
            .collect()),
        Dtype::BF16 => Ok(bytes
            .chunks_exact(2)
            .map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16))
            .collect()),
        Dtype::F64 => bytes
            .chunks_exact(8)
            .enumerate()
            .map(|(i, c)| {
                let v = f64::from_le_bytes(c.try_into().expect("chunks_exact(8)"));
                f64_to_f32(v).ok_or_else(|| {
                    format!("F64 value {v:e} at flat index {i} does not fit in float32")
                })
            })
            .collect(),
        other => Err(format!(
            "dtype {other:?} is not supported (expected F32, F64, F16 or BF16)"
        )),
    }
}

/// A tensor as safetensors sees it: F32, little-endian bytes made on demand.
struct F32View<'a>(&'a Tensor);

impl View for F32View<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        &self.0.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.0.data.iter().flat_map(|v| v.to_le_bytes()).collect())
    }

    fn data_len(&self) -> usize {
        self.0.data.len() * 4
    }
}

/// Writes `weights` to `path` as F32 safetensors, atomically.
pub(crate) fn write(weights: &Weights, path: &Path) -> Result<(), WeightsError> {
    if let Some((name, t)) = weights
        .tensors
        .iter()
        .find(|(_, t)| t.data.len() != t.shape.iter().product::<usize>())
    {
        return Err(WeightsError::Length {
            name: name.clone(),
            shape: t.shape.clone(),
            len: t.data.len(),
        });
    }
    let metadata: Option<HashMap<String, String>> =
        (!weights.metadata.is_empty()).then(|| weights.metadata.clone().into_iter().collect());
    let views = weights
        .tensors
        .iter()
        .map(|(name, t)| (name.as_str(), F32View(t)));
    let write_err = |source| WeightsError::Write {
        path: path.to_path_buf(),
        source,
    };
    atomic::replace(path, |tmp| {
        safetensors::serialize_to_file(views, metadata, tmp).map_err(|e| match e {
            safetensors::SafeTensorError::IoError(io) => io,
            other => std::io::Error::other(other),
        })
    })
    .map_err(write_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_float_dtype() {
        let f32s: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(decode(Dtype::F32, &f32s).unwrap(), vec![1.5, -2.0]);
        let bf16s: Vec<u8> = [0x3fc0u16, 0xc000]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(decode(Dtype::BF16, &bf16s).unwrap(), vec![1.5, -2.0]);
        let f16s: Vec<u8> = [0x3e00u16, 0xc000]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(decode(Dtype::F16, &f16s).unwrap(), vec![1.5, -2.0]);
        let f64s: Vec<u8> = [1.5f64, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(decode(Dtype::F64, &f64s).unwrap(), vec![1.5, -2.0]);
        assert!(decode(Dtype::I32, &[0; 4]).unwrap_err().contains("I32"));
    }

    #[test]
    fn recognizes_a_header() {
        assert!(looks_like(b"\x10\0\0\0\0\0\0\0{\"a\":1}"));
        assert!(!looks_like(b"PK\x03\x04\0\0\0\0\0"));
        assert!(!looks_like(b"\x10\0\0"));
    }
}
