//! The BiT ResNet-v2 classifier: architecture ([`variant`], [`layout`]), model metadata and
//! the faces that share one parameter naming: weight files, the ONNX graph and (feature
//! `train`) the tch model.

pub mod layout;
pub mod metadata;
pub mod variant;

pub use metadata::{ModelMetadata, Normalization};
pub use variant::Variant;
