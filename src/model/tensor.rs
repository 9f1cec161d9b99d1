//! The data every weight format reads into and writes from: [`Tensor`], [`Weights`],
//! [`WeightsError`] and the exact float conversions of the file dtypes. The formats (`npz.rs`,
//! `safetensors_io.rs`) and the model-facing operations (`weights.rs`) both build on this
//! module, so neither format depends on the other or on `weights.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::PathBuf;

use super::variant::Variant;

/// One tensor: row-major f32 values of `shape`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Tensor {
    /// A tensor of zeros.
    pub fn zeros(shape: Vec<usize>) -> Self {
        let data = vec![0.0; shape.iter().product()];
        Self { shape, data }
    }
}

/// Named tensors plus where they came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Weights {
    /// Checkpoint name → tensor, official layout.
    pub tensors: BTreeMap<String, Tensor>,
    /// Hex SHA-256 of the source file; empty for weights made in memory.
    pub sha256: String,
    /// Safetensors `__metadata__`; empty for `.npz`.
    pub metadata: BTreeMap<String, String>,
}

/// Shapes printed as `[7, 7, 3, 32]`.
struct ShapeFmt<'a>(&'a [usize]);

impl fmt::Display for ShapeFmt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// Why weights could not be read, written or matched to a variant.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("{}: cannot read weights", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: cannot write weights", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: not a weight file: {why}", path.display())]
    UnknownFormat { path: PathBuf, why: String },
    #[error("{}: corrupt .npz archive", path.display())]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("{}: .npz entry '{entry}': {why}", path.display())]
    NpzEntry {
        path: PathBuf,
        entry: String,
        why: String,
    },
    #[error("{}: corrupt safetensors file", path.display())]
    Safetensors {
        path: PathBuf,
        #[source]
        source: safetensors::SafeTensorError,
    },
    #[error("{}: tensor '{name}': {why}", path.display())]
    SafetensorsTensor {
        path: PathBuf,
        name: String,
        why: String,
    },
    #[error(
        "weights lack tensor '{name}' of shape {} that {variant} needs{hint}",
        ShapeFmt(expected)
    )]
    Missing {
        variant: Variant,
        name: String,
        expected: Vec<usize>,
        hint: String,
    },
    #[error(
        "unexpected tensor '{name}' of shape {}: {variant} has no such parameter{hint}",
        ShapeFmt(found)
    )]
    Unexpected {
        variant: Variant,
        name: String,
        found: Vec<usize>,
        hint: String,
    },
    #[error(
        "tensor '{name}' has shape {} but {variant} needs {}{hint}",
        ShapeFmt(found),
        ShapeFmt(expected)
    )]
    Shape {
        variant: Variant,
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
        hint: String,
    },
    #[error("tensor '{name}' of shape {} holds {len} values", ShapeFmt(shape))]
    Length {
        name: String,
        shape: Vec<usize>,
        len: usize,
    },
    #[error("tensor '{name}' holds a non-finite value ({value}) at flat index {index}")]
    NonFinite {
        name: String,
        index: usize,
        value: f32,
    },
}

/// Narrows to f32, refusing finite values that would become infinite.
pub(crate) fn f64_to_f32(v: f64) -> Option<f32> {
    let f = v as f32;
    (f.is_finite() || !v.is_finite()).then_some(f)
}

/// IEEE 754 half → single precision, exact.
pub(crate) fn f16_to_f32(bits: u16) -> f32 {
    let sign = ((bits >> 15) as u32) << 31;
    let exp = ((bits >> 10) & 0x1f) as u32;
    let man = (bits & 0x3ff) as u32;
    let out = match (exp, man) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: value = man · 2^-24.
            let v = man as f32 * f32::from_bits(0x3380_0000);
            return if sign != 0 { -v } else { v };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, _) => sign | 0x7fc0_0000 | (man << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (man << 13),
    };
    f32::from_bits(out)
}
