//! `--preprocess auto|cpu|cuda`: which implementation of the prepare stage a command uses.
//! `auto` takes the GPU when one is usable and otherwise says once why it uses the CPU;
//! `cuda` asked for by name and unavailable is an error naming the reason.

use std::sync::Once;

use super::prepare::CudaPreparer;
use crate::preprocess::{Prepare, Preprocessor};

/// Where frames are cropped, resized and normalized.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PreprocessChoice {
    /// The GPU when a usable one is found (CUDA driver, GPU, NVRTC), else the CPU.
    #[default]
    Auto,
    /// The CPU reference.
    Cpu,
    /// endoscan's CUDA kernels on GPU 0 (an error without a usable GPU).
    Cuda,
}

impl PreprocessChoice {
    /// The command-line spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
        }
    }

    /// Parses the command-line spelling.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda),
            other => Err(format!(
                "unknown preprocessing `{other}` (expected auto, cpu or cuda)"
            )),
        }
    }
}

static FALLBACK_SAID: Once = Once::new();

/// The prepare stage `choice` asks for, matching `reference` (size, normalization).
pub fn prepare_stage(
    choice: PreprocessChoice,
    reference: &Preprocessor,
) -> anyhow::Result<Box<dyn Prepare + Send>> {
    let cpu = || Box::new(reference.clone()) as Box<dyn Prepare + Send>;
    let gpu = || CudaPreparer::new(reference.input_size(), reference.normalization());
    match choice {
        PreprocessChoice::Cpu => Ok(cpu()),
        PreprocessChoice::Cuda => {
            let stage = gpu().map_err(|e| anyhow::anyhow!("--preprocess cuda: {e}"))?;
            tracing::info!("preprocessing on the GPU ({})", stage.gpu_name());
            Ok(Box::new(stage))
        }
        PreprocessChoice::Auto => match gpu() {
            Ok(stage) => {
                tracing::info!("preprocessing on the GPU ({})", stage.gpu_name());
                Ok(Box::new(stage))
            }
            Err(e) => {
                FALLBACK_SAID.call_once(|| tracing::info!("preprocessing on the CPU: {e}"));
                Ok(cpu())
            }
        },
    }
}

/// For commands that prepare still images on the CPU only (classify, eval): `cuda` is an
/// error saying so, `auto` and `cpu` run on the CPU.
pub fn cpu_only(choice: PreprocessChoice, command: &str) -> anyhow::Result<()> {
    if choice == PreprocessChoice::Cuda {
        anyhow::bail!(
            "--preprocess cuda: `endoscan {command}` prepares images on the CPU only (the GPU path is in reprocess and live); use --preprocess cpu or auto"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Normalization;

    /// The no-GPU path of every choice (this test runs where there is no CUDA driver; on a
    /// GPU machine `scripts/gpu-check` covers the other path).
    #[test]
    fn without_a_gpu_auto_and_cpu_use_the_cpu_and_cuda_says_why_not() {
        if super::super::probe::probe().unusable().is_none() {
            eprintln!("a usable GPU is present: the no-GPU path is not what runs here");
            return;
        }
        let reference = Preprocessor::new(64, Normalization::Bit).unwrap();
        for choice in [PreprocessChoice::Auto, PreprocessChoice::Cpu] {
            let stage = prepare_stage(choice, &reference).unwrap();
            assert_eq!(stage.input_size(), 64, "{}", choice.name());
        }
        let err = prepare_stage(PreprocessChoice::Cuda, &reference)
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("--preprocess cuda: "), "{err}");
        assert!(
            err.contains("CUDA driver") || err.contains("GPU") || err.contains("NVRTC"),
            "{err}"
        );
        assert_eq!(PreprocessChoice::parse("cuda"), Ok(PreprocessChoice::Cuda));
        assert!(PreprocessChoice::parse("gpu")
            .unwrap_err()
            .contains("auto, cpu or cuda"));
    }
}
