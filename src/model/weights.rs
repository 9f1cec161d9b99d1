//! The in-memory weights every face of the model shares: a map from checkpoint name to an f32
//! tensor in the official BiT layout (conv kernels HWIO), as in Google's `.npz` checkpoints.
//!
//! [`Weights::load`] reads `.npz` (NumPy zip, see `npz.rs`) or safetensors (see
//! `safetensors_io.rs`), told apart by their first bytes, or, named `*.onnx`, the initializers
//! of an endoscan model (`onnx/read.rs`); nothing is ever unpickled. [`Weights::conform`] checks a file strictly against [`layout::parameters`].

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::layout::{self, ParamSpec, Role, HEAD_BIAS, HEAD_KERNEL};
pub use super::tensor::{Tensor, Weights, WeightsError};
use super::variant::Variant;
use super::{npz, safetensors_io};
use crate::rng::{Rng, Train};
use crate::util::hash::sha256_file;

/// Hints at the variant the tensors do fit, for errors about the wrong one.
fn variant_hint(tensors: &BTreeMap<String, Tensor>) -> String {
    const DEPTHS: [u32; 5] = [14, 26, 50, 101, 152];
    const WIDTHS: [f32; 5] = [0.5, 1.0, 2.0, 3.0, 4.0];
    let classes = tensors
        .get(HEAD_BIAS)
        .and_then(|b| b.shape.first().copied());
    let fits = |variant: &Variant| {
        let specs = layout::parameters(variant, classes.unwrap_or(1));
        let body = |name: &str| name != HEAD_KERNEL && name != HEAD_BIAS;
        let body_count = tensors.keys().filter(|n| body(n)).count();
        body_count == specs.iter().filter(|p| body(&p.name)).count()
            && specs
                .iter()
                .filter(|p| body(&p.name))
                .all(|p| tensors.get(&p.name).is_some_and(|t| t.shape == p.shape))
    };
    DEPTHS
        .iter()
        .flat_map(|&d| WIDTHS.iter().filter_map(move |&w| Variant::new(d, w)))
        .find(fits)
        .map(|v| format!(" (these weights fit {v}: wrong --variant?)"))
        .unwrap_or_default()
}

impl Weights {
    /// Reads a `.npz` (zip, stored or deflated) or safetensors file, told apart by content.
    pub fn load(path: &Path) -> Result<Weights, WeightsError> {
        let read_err = |source| WeightsError::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut head = [0u8; 16];
        let n =
            read_prefix(&mut File::open(path).map_err(read_err)?, &mut head).map_err(read_err)?;
        let head = &head[..n];
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
        {
            return read_onnx(path);
        }
        let unknown = |why: &str| WeightsError::UnknownFormat {
            path: path.to_path_buf(),
            why: why.to_string(),
        };
        if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            let sha256 = sha256_file(path).map_err(read_err)?;
            let tensors = npz::read(path)?;
            Ok(Weights {
                tensors,
                sha256,
                metadata: BTreeMap::new(),
            })
        } else if safetensors_io::looks_like(head) {
            safetensors_io::read(path)
        } else if head.starts_with(b"\x93NUMPY") {
            Err(unknown(
                "a single .npy array; expected an .npz archive of named arrays",
            ))
        } else if head.first() == Some(&0x80) {
            Err(unknown("looks like a Python pickle, which is never loaded (convert it to .npz or safetensors)"))
        } else if n == 0 {
            Err(unknown("the file is empty"))
        } else {
            Err(unknown(
                "expected an .npz (zip) archive or a safetensors file",
            ))
        }
    }

    /// Writes all tensors as f32 safetensors (same names, official layout) with
    /// [`Self::metadata`] as `__metadata__`, atomically.
    pub fn save_safetensors(&self, path: &Path) -> Result<(), WeightsError> {
        safetensors_io::write(self, path)
    }

    /// Checks the tensors strictly against `variant` with a `classes`-way head.
    ///
    /// Every tensor must be present with the exact shape, and no other may be: the error names
    /// the first offending tensor and both shapes. A head that is absent or has another class
    /// count is replaced by zeros, as BiT does when fine-tuning; a head whose input width is
    /// wrong is an error.
    pub fn conform(mut self, variant: &Variant, classes: usize) -> Result<Weights, WeightsError> {
        let replaced = self.head_needs_replacing(variant, classes).then(|| {
            let found = |name| self.tensors.get(name).map(|t: &Tensor| t.shape.clone());
            (found(HEAD_KERNEL), found(HEAD_BIAS))
        });
        if replaced.is_some() {
            for spec in layout::parameters(variant, classes)
                .iter()
                .filter(|p| is_head(p))
            {
                self.tensors
                    .insert(spec.name.clone(), Tensor::zeros(spec.shape.clone()));
            }
        }
        self.check(variant, classes)?;
        if let Some((kernel, bias)) = replaced {
            tracing::info!(
                ?kernel,
                ?bias,
                "replaced the head with a zero-initialized {classes}-class head"
            );
        }
        Ok(self)
    }

    /// Whether the head is absent or has another class count (kernel `[1, 1, features, k]`,
    /// bias `[k]` or absent) rather than being the right one or mis-shaped otherwise.
    fn head_needs_replacing(&self, variant: &Variant, classes: usize) -> bool {
        let features = variant.feature_channels();
        let kernel = self.tensors.get(HEAD_KERNEL).map(|t| t.shape.as_slice());
        let bias = self.tensors.get(HEAD_BIAS).map(|t| t.shape.as_slice());
        let kernel_replaceable = match kernel {
            None => true,
            Some(&[1, 1, f, _]) => f == features,
            Some(_) => false,
        };
        let bias_replaceable = bias.is_none_or(|b| b.len() == 1);
        let right = kernel == Some(&[1, 1, features, classes]) && bias == Some(&[classes]);
        kernel_replaceable && bias_replaceable && !right
    }

    /// Checks the tensors strictly against `variant` with a `classes`-way head, head included:
    /// missing, extra, mis-shaped, wrongly sized or non-finite tensors are errors.
    pub fn check(&self, variant: &Variant, classes: usize) -> Result<(), WeightsError> {
        let specs = layout::parameters(variant, classes);
        let hint = || variant_hint(&self.tensors);
        for spec in &specs {
            if let Some(t) = self.tensors.get(&spec.name) {
                if t.shape != spec.shape {
                    return Err(WeightsError::Shape {
                        variant: *variant,
                        name: spec.name.clone(),
                        expected: spec.shape.clone(),
                        found: t.shape.clone(),
                        hint: hint(),
                    });
                }
            }
        }
        if let Some(spec) = specs.iter().find(|p| !self.tensors.contains_key(&p.name)) {
            return Err(WeightsError::Missing {
                variant: *variant,
                name: spec.name.clone(),
                expected: spec.shape.clone(),
                hint: hint(),
            });
        }
        if specs.len() != self.tensors.len() {
            let known: std::collections::BTreeSet<&str> =
                specs.iter().map(|p| p.name.as_str()).collect();
            if let Some((name, t)) = self
                .tensors
                .iter()
                .find(|(n, _)| !known.contains(n.as_str()))
            {
                return Err(WeightsError::Unexpected {
                    variant: *variant,
                    name: name.clone(),
                    found: t.shape.clone(),
                    hint: hint(),
                });
            }
        }
        for (name, t) in &self.tensors {
            if t.data.len() != t.shape.iter().product::<usize>() {
                return Err(WeightsError::Length {
                    name: name.clone(),
                    shape: t.shape.clone(),
                    len: t.data.len(),
                });
            }
            if let Some(index) = t.data.iter().position(|v| !v.is_finite()) {
                return Err(WeightsError::NonFinite {
                    name: name.clone(),
                    index,
                    value: t.data[index],
                });
            }
        }
        Ok(())
    }

    /// Deterministic random weights for tests and benchmarks: He-normal kernels, GroupNorm
    /// scales 1 ± noise and small shifts, a small random (non-zero) head.
    pub fn random(variant: &Variant, classes: usize, seed: u64) -> Weights {
        let mut rng = weight_rng(seed);
        let tensors = layout::parameters(variant, classes)
            .into_iter()
            .map(|spec| {
                let n: usize = spec.shape.iter().product();
                let (mean, std) = match spec.role {
                    Role::StdConvKernel => {
                        let fan_in: usize = spec.shape[..3].iter().product();
                        (0.0, (2.0 / fan_in as f64).sqrt())
                    }
                    Role::GroupNormGamma => (1.0, 0.1),
                    Role::GroupNormBeta => (0.0, 0.1),
                    Role::HeadKernel => (0.0, 0.05),
                    Role::HeadBias => (0.0, 0.05),
                };
                let data = (0..n)
                    .map(|_| (mean + std * normal(&mut rng)) as f32)
                    .collect();
                let tensor = Tensor {
                    shape: spec.shape,
                    data,
                };
                (spec.name, tensor)
            })
            .collect();
        Weights {
            tensors,
            sha256: String::new(),
            metadata: BTreeMap::new(),
        }
    }
}

fn is_head(spec: &ParamSpec) -> bool {
    matches!(spec.role, Role::HeadKernel | Role::HeadBias)
}

/// Reads up to `buf.len()` bytes, fewer only at end of file.
fn read_prefix(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The crate's SplitMix64 (identical on every platform), seeded for random weights.
fn weight_rng(seed: u64) -> Rng<Train> {
    Rng::new(seed ^ 0x5EED_B17E_0000_0001)
}

/// A standard normal draw (Box–Muller on uniforms in (0, 1], so the logarithm is finite).
fn normal(rng: &mut Rng<Train>) -> f64 {
    let mut open = || rng.next_f64() + 1.0 / (1u64 << 53) as f64;
    let (u, v) = (open(), open());
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// The initializers and metadata of an endoscan `.onnx` model ([`super::onnx::read`]).
fn read_onnx(path: &Path) -> Result<Weights, WeightsError> {
    let read_err = |source| WeightsError::Read {
        path: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::read(path).map_err(read_err)?;
    let (tensors, metadata) =
        super::onnx::read::read(&bytes).map_err(|why| WeightsError::UnknownFormat {
            path: path.to_path_buf(),
            why: format!("not an ONNX model endoscan can read back: {why}"),
        })?;
    Ok(Weights {
        tensors,
        sha256: sha256_file(path).map_err(read_err)?,
        metadata,
    })
}

#[cfg(test)]
#[path = "weights_tests.rs"]
mod tests;
