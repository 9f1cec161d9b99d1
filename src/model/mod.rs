//! The BiT ResNet-v2 classifier: architecture ([`variant`], [`layout`]), model metadata and
//! the faces that share one parameter naming: weight files, the ONNX graph and (feature
//! `train`) the tch model.

pub mod layout;
pub mod metadata;
mod npz;
pub mod onnx;
mod safetensors_io;
pub(crate) mod tensor;
#[cfg(feature = "train")]
pub mod torch;
pub mod variant;
pub mod weights;

pub use metadata::{ModelMetadata, Normalization};
pub use variant::Variant;
pub use weights::{Tensor, Weights, WeightsError};
