//! What can go wrong loading a model or running it.

use std::path::PathBuf;

use crate::model::metadata::MetadataError;

/// An inference error; variants about a model name its file.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error("{}: model file not found", .path.display())]
    ModelNotFound { path: PathBuf },
    #[error(
        "cannot load the ONNX Runtime library: {why}; run scripts/setup and `source scripts/env.sh`, or set ORT_DYLIB_PATH to an ONNX Runtime 1.{}+ library",
        ort::MINOR_VERSION
    )]
    Runtime { why: String },
    #[error("{}: cannot set up an ONNX Runtime session", .path.display())]
    Session {
        path: PathBuf,
        #[source]
        source: ort::Error,
    },
    #[error("{}: cannot use the {provider} execution provider (is ONNX Runtime built with it, and is a GPU there?)", .path.display())]
    Provider {
        path: PathBuf,
        provider: super::ExecutionProvider,
        #[source]
        source: ort::Error,
    },
    #[error("{}: --provider {provider} runs the model on libtorch, which this command does not; use cpu, cuda or tensorrt", .path.display())]
    NotOnnxRuntime {
        path: PathBuf,
        provider: super::ExecutionProvider,
    },
    #[error("--provider {provider}: this endoscan was built without libtorch; rebuild with `cargo build --release --features train` (scripts/setup installs libtorch)")]
    NoLibtorch { provider: super::ExecutionProvider },
    #[error("{}: --provider {provider}: {why}", .path.display())]
    Unavailable {
        path: PathBuf,
        provider: super::ExecutionProvider,
        why: String,
    },
    #[error("{}: --provider {provider}: {why}", .path.display())]
    Torch {
        path: PathBuf,
        provider: super::ExecutionProvider,
        why: String,
    },
    #[error("{}: cannot load the ONNX model (corrupt, or not an ONNX file)", .path.display())]
    LoadModel {
        path: PathBuf,
        #[source]
        source: ort::Error,
    },
    #[error("{}: not an endoscan model", .path.display())]
    Metadata {
        path: PathBuf,
        #[source]
        source: MetadataError,
    },
    #[error("{}: the graph does not match its metadata: {problem}", .path.display())]
    Contract { path: PathBuf, problem: String },
    #[error("input tensor has shape {got}, the model expects {expected}")]
    InputShape { expected: String, got: String },
    #[error("{}: inference failed", .path.display())]
    Run {
        path: PathBuf,
        #[source]
        source: ort::Error,
    },
    #[error("{}: model output is malformed: {problem}", .path.display())]
    Output { path: PathBuf, problem: String },
    #[error(transparent)]
    Preprocess(#[from] crate::preprocess::PreprocessError),
}
