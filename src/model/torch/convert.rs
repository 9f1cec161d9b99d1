//! VarStore ↔ [`Weights`]: names map `.` ↔ `/`; 4-D tensors (convolution kernels) are OIHW in
//! tch and HWIO in weight files, so they are transposed on the way in and out.

use std::collections::BTreeMap;

use tch::{nn::VarStore, Device, Kind, Tensor};

use super::TorchModelError;
use crate::model::layout;
use crate::model::weights::{self, Weights};

/// HWIO → OIHW.
const HWIO_TO_OIHW: [i64; 4] = [3, 2, 0, 1];
/// OIHW → HWIO.
const OIHW_TO_HWIO: [i64; 4] = [2, 3, 1, 0];

/// VarStore key (`resnet.head.conv2d.bias`) → checkpoint name (`resnet/head/conv2d/bias`).
pub(super) fn checkpoint_name(key: &str) -> String {
    key.replace('.', "/")
}

/// The official-layout shape of a tch variable shape.
fn official_shape(tch_shape: &[i64]) -> Vec<usize> {
    let shape: Vec<usize> = tch_shape.iter().map(|&d| d as usize).collect();
    match shape[..] {
        [o, i, h, w] => vec![h, w, i, o],
        _ => shape,
    }
}

/// Copies every tensor of `weights` into the same-named variable of `vs`.
///
/// Strict: the names must be exactly the VarStore's (with `/` for `.`) and every shape must be
/// the variable's in the official layout, else nothing is guaranteed loaded and an error names
/// the offenders. Replace a head of another class count first (`Weights::conform`).
pub fn load_weights(vs: &mut VarStore, weights: &Weights) -> Result<(), TorchModelError> {
    let variables: BTreeMap<String, Tensor> = vs
        .variables()
        .into_iter()
        .map(|(key, var)| (checkpoint_name(&key), var))
        .collect();
    let missing: Vec<String> = variables
        .keys()
        .filter(|n| !weights.tensors.contains_key(*n))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(TorchModelError::MissingTensors(missing));
    }
    let unexpected: Vec<String> = weights
        .tensors
        .keys()
        .filter(|n| !variables.contains_key(*n))
        .cloned()
        .collect();
    if !unexpected.is_empty() {
        return Err(TorchModelError::UnexpectedTensors(unexpected));
    }
    // Check every shape before copying anything, so a mismatch leaves the model untouched.
    for (name, var) in &variables {
        let tensor = &weights.tensors[name];
        let expected = official_shape(&var.size());
        if tensor.shape != expected {
            return Err(TorchModelError::TensorShape {
                name: name.clone(),
                found: tensor.shape.clone(),
                expected,
            });
        }
        if tensor.data.len() != expected.iter().product::<usize>() {
            return Err(TorchModelError::TensorData {
                name: name.clone(),
                len: tensor.data.len(),
                shape: tensor.shape.clone(),
            });
        }
    }
    let _guard = tch::no_grad_guard();
    for (name, var) in &variables {
        let tensor = &weights.tensors[name];
        let dims: Vec<i64> = tensor.shape.iter().map(|&d| d as i64).collect();
        let mut src = Tensor::f_from_slice(&tensor.data)?.f_view(dims.as_slice())?;
        if dims.len() == 4 {
            src = src.f_permute(HWIO_TO_OIHW)?;
        }
        // copy_ converts dtype and device and accepts the permuted (strided) source.
        var.shallow_clone().f_copy_(&src)?;
    }
    Ok(())
}

/// Every variable of `vs` as official-layout f32 tensors (kernels HWIO), named by checkpoint
/// name. Exact: `to_weights` after `load_weights(w)` gives back `w`'s tensors bit for bit.
pub fn to_weights(vs: &VarStore) -> Result<Weights, TorchModelError> {
    let _guard = tch::no_grad_guard();
    let mut tensors = BTreeMap::new();
    for (key, var) in vs.variables() {
        let mut t = var.f_to_device(Device::Cpu)?.f_to_kind(Kind::Float)?;
        if t.dim() == 4 {
            t = t.f_permute(OIHW_TO_HWIO)?;
        }
        let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
        let data = Vec::<f32>::try_from(t.f_contiguous()?.f_flatten(0, -1)?)?;
        tensors.insert(checkpoint_name(&key), weights::Tensor { shape, data });
    }
    // Made in memory: no source file, so no SHA-256 and no file metadata.
    Ok(Weights {
        tensors,
        ..Weights::default()
    })
}

/// The class count of the head in `weights` (length of its bias).
pub(super) fn head_classes(weights: &Weights) -> Result<usize, TorchModelError> {
    match weights.tensors.get(layout::HEAD_BIAS) {
        Some(bias) => match bias.shape[..] {
            [classes] if classes > 0 => Ok(classes),
            _ => Err(TorchModelError::TensorShape {
                name: layout::HEAD_BIAS.to_string(),
                found: bias.shape.clone(),
                expected: vec![2],
            }),
        },
        None => Err(TorchModelError::MissingTensors(vec![
            layout::HEAD_BIAS.to_string()
        ])),
    }
}
