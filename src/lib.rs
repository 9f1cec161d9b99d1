//! endoscan: flags frames suspicious for early gastric cancer (EGC) in gastroscopy and
//! capsule-endoscopy video with a BiT ResNet-v2 classifier.
//!
//! Modules follow the data flow: [`capture`] → [`preprocess`] → [`infer`] → [`smooth`] →
//! [`overlay`] / [`sink`], live video through [`live`]; the model side is [`model`] (architecture, weights, ONNX export),
//! [`data`] (labelled datasets and splits) under [`train`] and [`eval`]; [`synth`] makes labelled gastroscopy-like data for tests and demos.

pub mod batch;
pub mod bench;
pub mod capture;
pub mod check_masking;
pub mod classify;
pub mod cli;
pub mod cuda;
pub mod data;
pub mod element;
pub mod eval;
pub mod export;
pub mod gst;
pub mod infer;
pub mod live;
pub mod localize;
pub mod metrics;
pub mod model;
pub mod overlay;
pub mod pipeline;
pub mod plot;
pub mod preprocess;
pub mod reprocess;
pub mod rng;
pub mod sink;
pub mod smooth;
#[cfg(feature = "train")]
pub mod study;
pub mod synth;
pub mod train;
pub mod util;
