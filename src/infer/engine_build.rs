//! `endoscan engine build`: builds a model's TensorRT engine into the engine cache ahead of
//! time, so the first `--provider tensorrt` run starts at once instead of spending minutes
//! building it, and prints the cache folder. Without a GPU, ONNX Runtime's TensorRT provider or
//! TensorRT itself it stops before loading anything, with one line saying which is missing.

use std::path::PathBuf;

use anyhow::{bail, Context};
use ndarray::Array4;

use super::select::{probe, Availability};
use super::{engine_cache, model_or_bundled, Classifier, ClassifierOptions, EnginePrecision};
use super::{ExecutionProvider, DEFAULT_INTRA_THREADS};

/// `endoscan engine …`.
#[derive(Debug, clap::Args)]
pub struct EngineArgs {
    #[command(subcommand)]
    pub what: EngineCommand,
}

/// The engine subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum EngineCommand {
    /// Build the TensorRT engine of a model into the cache and print its folder.
    Build(EngineBuildArgs),
}

/// Arguments of `endoscan engine build`.
#[derive(Debug, clap::Args)]
pub struct EngineBuildArgs {
    /// The model (`.onnx` from `endoscan export` or `train`) [default: the bundled demo model].
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Engine precision (`--provider tensorrt` runs fp16).
    #[arg(long, value_enum, default_value_t = EnginePrecision::Fp16)]
    pub precision: EnginePrecision,
    /// Largest batch to build for: the engine is run at batch 1 and at this size, so its
    /// dynamic-shape profile covers both.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub batch: usize,
    /// GPU index.
    #[arg(long, value_name = "ID", default_value_t = 0)]
    pub device: i32,
}

/// What stops an engine build on this machine, or `None` when nothing does.
pub fn missing(available: &Availability, tensorrt: Option<&str>) -> Option<String> {
    if let Some(why) = &available.gpu {
        return Some(format!("no usable GPU: {why}"));
    }
    if !available.tensorrt_ep {
        return Some("this ONNX Runtime library has no TensorRT provider (the PyPI `onnxruntime` is CPU-only; install onnxruntime-gpu with TensorRT 10 and point ORT_DYLIB_PATH at it)".into());
    }
    if tensorrt.is_none() {
        return Some("TensorRT is not installed (libnvinfer.so.10 cannot be loaded)".into());
    }
    None
}

/// Runs `endoscan engine build`.
pub fn run(args: &EngineBuildArgs) -> anyhow::Result<()> {
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let model = model_or_bundled(args.model.as_deref())?;
    if !model.is_file() {
        bail!("{}: model file not found", model.display());
    }
    if let Some(why) = missing(&probe(), engine_cache::tensorrt_version().as_deref()) {
        bail!("engine build: {why}");
    }
    let options = ClassifierOptions {
        provider: ExecutionProvider::TensorRt,
        device_id: args.device,
        intra_threads: DEFAULT_INTRA_THREADS,
        shares_cpu: false,
        engine_precision: args.precision,
    };
    let mut classifier = Classifier::load(&model, &options)?;
    let side = classifier.metadata().input_size;
    let mut sizes = vec![1, args.batch];
    sizes.dedup();
    for n in sizes {
        let zeros = Array4::<f32>::zeros((n, 3, side, side));
        classifier
            .classify_batch(zeros.view())
            .with_context(|| format!("{}: building the engine for batch {n}", model.display()))?;
    }
    let dir = engine_cache::for_model(&model, args.device, args.precision)
        .with_context(|| format!("{}: no engine cache folder", model.display()))?;
    println!("{}", dir.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(gpu: Option<&str>, tensorrt_ep: bool) -> Availability {
        Availability {
            gpu: gpu.map(str::to_string),
            cuda_ep: tensorrt_ep,
            tensorrt_ep,
            trt_rtx: None,
            torch_cuda: None,
        }
    }

    #[test]
    fn each_missing_piece_is_named_first_the_gpu() {
        let why = missing(&machine(Some("no CUDA driver"), false), None).unwrap();
        assert_eq!(why, "no usable GPU: no CUDA driver");
        let why = missing(&machine(None, false), Some("10.3.0")).unwrap();
        assert!(why.contains("no TensorRT provider"), "{why}");
        let why = missing(&machine(None, true), None).unwrap();
        assert!(why.contains("libnvinfer"), "{why}");
        assert_eq!(missing(&machine(None, true), Some("10.3.0")), None);
    }
}
