//! The inference flags every command that runs a model shares (`--provider`, `--device`,
//! `--threads`), and the bundled demo model used when none is given.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{ClassifierOptions, ExecutionProvider};

/// Model when none is given: the bundled demo model.
pub const DEFAULT_MODEL: &str = "models/demo.onnx";

/// Where and how the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct BackendArgs {
    /// Where the model runs: an ONNX Runtime execution provider, or libtorch (torch-cuda,
    /// torch-cpu; builds with the `train` feature).
    #[arg(long, value_enum, default_value_t = ExecutionProvider::Cpu)]
    pub provider: ExecutionProvider,
    /// GPU index for cuda / tensorrt / torch-cuda.
    #[arg(long, value_name = "ID", default_value_t = 0)]
    pub device: i32,
    /// Intra-op threads of ONNX Runtime or libtorch on the CPU [default: one per physical core].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Where frames are cropped, resized and normalized: the GPU when usable (auto), the CPU,
    /// or CUDA (an error without a usable GPU).
    #[arg(long, value_enum, default_value_t = crate::cuda::select::PreprocessChoice::Auto)]
    pub preprocess: crate::cuda::select::PreprocessChoice,
}

impl BackendArgs {
    /// Classifier options for these flags; `shares_cpu` when other stages run beside it.
    pub fn options(&self, shares_cpu: bool) -> ClassifierOptions {
        ClassifierOptions {
            provider: self.provider,
            device_id: self.device,
            intra_threads: self.threads,
            shares_cpu,
            ..ClassifierOptions::default()
        }
    }
}

/// Resolves a bundled file: as given relative to the working directory, else under
/// `$ENDOSCAN_ROOT` (set by scripts/env.sh).
pub fn bundled(relative: &str) -> Option<PathBuf> {
    let here = PathBuf::from(relative);
    if here.exists() {
        return Some(here);
    }
    let root = std::env::var_os("ENDOSCAN_ROOT")?;
    let there = PathBuf::from(root).join(relative);
    there.exists().then_some(there)
}

/// `model`, or the bundled demo model when none was given.
pub fn model_or_bundled(model: Option<&Path>) -> anyhow::Result<PathBuf> {
    match model {
        Some(p) => Ok(p.to_path_buf()),
        None => bundled(DEFAULT_MODEL).with_context(|| {
            format!("{DEFAULT_MODEL}: no --model given and the bundled demo model is missing (looked in the working directory and $ENDOSCAN_ROOT); pass --model FILE.onnx (see `endoscan export`)")
        }),
    }
}
