//! Reader for NumPy `.npz` archives: a zip (stored or deflated) of `NAME.npy` entries.
//!
//! The `.npy` header is parsed here, never evaluated: versions 1–3, little- or big-endian
//! `float16`/`float32`/`float64` (converted to f32), C order only. Object arrays (pickles),
//! structured dtypes and Fortran order are refused with the entry named.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::tensor::{f16_to_f32, f64_to_f32, Tensor, WeightsError};

/// `.npy` magic string.
const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Largest header accepted (NumPy itself refuses more than 10 000 bytes by default).
const MAX_HEADER_LEN: usize = 1 << 16;

/// Reads every array of the archive at `path`, keyed by entry name without `.npy`.
pub(crate) fn read(path: &Path) -> Result<BTreeMap<String, Tensor>, WeightsError> {
    let zip_err = |source| WeightsError::Zip {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(|source| WeightsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(zip_err)?;
    let mut tensors = BTreeMap::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(zip_err)?;
        if entry.is_dir() {
            continue;
        }
        let entry_name = entry.name().map_err(zip_err)?.into_owned();
        let entry_err = |why: String| WeightsError::NpzEntry {
            path: path.to_path_buf(),
            entry: entry_name.clone(),
            why,
        };
        let Some(name) = entry_name.strip_suffix(".npy") else {
            let why = if entry_name.ends_with(".pkl") {
                "a Python pickle (a PyTorch checkpoint?), which is never loaded"
            } else {
                "not a .npy array"
            };
            return Err(entry_err(why.into()));
        };
        let size = entry.size();
        let tensor = read_npy(&mut entry, size).map_err(entry_err)?;
        if tensors.insert(name.to_string(), tensor).is_some() {
            return Err(entry_err("appears twice in the archive".into()));
        }
    }
    Ok(tensors)
}

/// The element types we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Float {
    F16,
    F32,
    F64,
}

impl Float {
    fn size(self) -> usize {
        match self {
            Float::F16 => 2,
            Float::F32 => 4,
            Float::F64 => 8,
        }
    }
}

/// What the header says.
#[derive(Debug, PartialEq)]
struct Header {
    dtype: Float,
    big_endian: bool,
    shape: Vec<usize>,
}

/// Reads one `.npy` stream of `size` bytes (as the zip entry declares).
fn read_npy(r: &mut impl Read, size: u64) -> Result<Tensor, String> {
    let truncated = |e: std::io::Error| format!("truncated or unreadable: {e}");
    let mut pre = [0u8; 12];
    r.read_exact(&mut pre[..10]).map_err(truncated)?;
    if &pre[..6] != MAGIC {
        return Err("not a .npy array (bad magic)".into());
    }
    let (header_len, prefix_len) = match pre[6] {
        1 => (u16::from_le_bytes([pre[8], pre[9]]) as usize, 10),
        2 | 3 => {
            r.read_exact(&mut pre[10..12]).map_err(truncated)?;
            let len = u32::from_le_bytes([pre[8], pre[9], pre[10], pre[11]]) as usize;
            (len, 12)
        }
        v => return Err(format!("unsupported .npy format version {v}.{}", pre[7])),
    };
    if header_len > MAX_HEADER_LEN {
        return Err(format!("header of {header_len} bytes is implausibly large"));
    }
    let mut text = vec![0u8; header_len];
    r.read_exact(&mut text).map_err(truncated)?;
    let text = std::str::from_utf8(&text).map_err(|_| "header is not UTF-8 text".to_string())?;
    let header = parse_header(text)?;

    let count = header
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or("shape overflows")?;
    let data_len = count
        .checked_mul(header.dtype.size())
        .ok_or("shape overflows")?;
    let expected = (prefix_len + header_len) as u64 + data_len as u64;
    if size != expected {
        return Err(format!(
            "holds {size} bytes but a {:?} array of shape {:?} needs {expected}",
            header.dtype, header.shape
        ));
    }
    // Grows as bytes really arrive, so a lying size cannot force a huge allocation.
    let mut bytes = Vec::new();
    r.take(data_len as u64)
        .read_to_end(&mut bytes)
        .map_err(truncated)?;
    if bytes.len() != data_len {
        return Err(format!(
            "truncated: {} of {data_len} data bytes",
            bytes.len()
        ));
    }
    // Reading on to the end is what makes the zip reader verify the entry's CRC-32.
    let mut extra = [0u8; 1];
    match r.read(&mut extra) {
        Ok(0) => {}
        Ok(_) => return Err("trailing bytes after the array data".into()),
        Err(e) => return Err(format!("corrupt data: {e}")),
    }
    let data = decode(&bytes, &header)?;
    Ok(Tensor {
        shape: header.shape,
        data,
    })
}

/// Converts raw element bytes to f32.
fn decode(bytes: &[u8], header: &Header) -> Result<Vec<f32>, String> {
    let be = header.big_endian;
    match header.dtype {
        Float::F32 => Ok(bytes
            .chunks_exact(4)
            .map(|c| {
                let b = [c[0], c[1], c[2], c[3]];
                if be {
                    f32::from_be_bytes(b)
                } else {
                    f32::from_le_bytes(b)
                }
            })
            .collect()),
        Float::F16 => Ok(bytes
            .chunks_exact(2)
            .map(|c| {
                let bits = if be {
                    u16::from_be_bytes([c[0], c[1]])
                } else {
                    u16::from_le_bytes([c[0], c[1]])
                };
                f16_to_f32(bits)
            })
            .collect()),
        Float::F64 => bytes
            .chunks_exact(8)
            .enumerate()
            .map(|(i, c)| {
                let b: [u8; 8] = c.try_into().expect("chunks_exact(8)");
                let v = if be {
                    f64::from_be_bytes(b)
                } else {
                    f64::from_le_bytes(b)
                };
                f64_to_f32(v).ok_or_else(|| {
                    format!("float64 value {v:e} at flat index {i} does not fit in float32")
                })
            })
            .collect(),
    }
}

#[path = "npz_header.rs"]
mod header;
use header::parse_header;

#[cfg(test)]
#[path = "npz_tests.rs"]
mod tests;
