//! Inference: the BiT classifier on ONNX Runtime, or on libtorch (`--provider torch-*`).
//!
//! Input: normalized `[N, 3, S, S]` f32 batches (see [`crate::preprocess`]) or raw frames.
//! Output: class probabilities `[N, classes]` in the model's class order. Everything about
//! the model (input size, normalization, classes, threshold) comes from the `.onnx` file's
//! metadata; the graph is checked against it at load. Runs on the caller's thread; one
//! [`Classifier`] serves one thread. Fails with an [`InferError`] naming the model file.
//! ONNX Runtime is loaded once per process from `ORT_DYLIB_PATH` ([`runtime`]).

mod backend_args;
mod classifier;
pub mod contract;
pub mod engine_build;
pub mod engine_cache;
mod error;
mod model;
mod options;
pub mod runtime;
mod scorer;
pub mod select;
pub mod softmax;
pub mod stage;
#[cfg(feature = "train")]
pub mod torch_scorer;
pub mod trt_rtx;
mod trt_rtx_session;

pub use backend_args::{bundled, model_or_bundled, BackendArgs, DEFAULT_MODEL};
pub use classifier::{Classifier, Outputs};
pub use error::InferError;
pub use model::{torch_cuda_unavailable, Model};
pub use options::{ClassifierOptions, EnginePrecision, ExecutionProvider, DEFAULT_INTRA_THREADS};
pub use scorer::{Scorer, Scores};
