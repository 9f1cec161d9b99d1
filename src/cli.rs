//! Command-line interface: one subcommand per job, each a thin call into its module.

use clap::{Parser, Subcommand};

/// Flags frames suspicious for early gastric cancer in endoscopy video.
#[derive(Debug, Parser)]
#[command(name = "endoscan", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate labelled synthetic gastroscopy / capsule images and video.
    Synth(crate::synth::SynthArgs),
    /// Export BiT weights (.npz or safetensors) to a self-describing ONNX model.
    Export(crate::export::ExportArgs),
    /// Evaluate a deployable ONNX model on labelled images (metrics, ROC, report).
    Eval(crate::eval::EvalArgs),
    /// Classify still images (PNG, JPEG, PPM) with an exported ONNX model.
    Classify(crate::classify::ClassifyArgs),
    /// Reprocess a recorded study (video or image directory): every frame scored, segments,
    /// annotated video, thumbnails and an HTML report.
    Reprocess(crate::reprocess::ReprocessArgs),
    /// Reprocess an archive of studies listed in a manifest, one shard per task of a Slurm job
    /// array or Kubernetes Indexed Job; restart-safe (`endoscan batch index ARCHIVE` lists them).
    Batch(crate::batch::BatchArgs),
    /// Live analysis: endoscope (or test://, a device, a stream, a file) → screen with alerts,
    /// never stalling the video.
    Live(crate::live::args::LiveArgs),
    /// TensorRT engines (`endoscan engine build --model M`: build one ahead of time).
    Engine(crate::infer::engine_build::EngineArgs),
    /// Benchmarks (`endoscan bench live`, `endoscan bench gpu`).
    Bench(crate::live::args::BenchArgs),
    /// Audit a study's exports for patient data: any non-black pixel in the panel rectangle
    /// of annotated.mp4 or a thumbnail fails the check.
    CheckMasking(crate::check_masking::CheckMaskingArgs),
    /// What this machine offers the GPU paths: CUDA driver, GPUs, NVRTC, ONNX Runtime providers.
    Devices(crate::cuda::devices::DevicesArgs),
    /// Fine-tune a BiT classifier with the paper's recipe and export it as model.onnx.
    #[cfg(feature = "train")]
    Train(crate::train::args::TrainArgs),
    /// Fine-tune a BiT classifier (needs a build with the `train` feature).
    #[cfg(not(feature = "train"))]
    Train(crate::train::args::WithoutTrainFeature),
    /// The paper's experiments: variants × {global, local}, batch-size sweep, error sets.
    #[cfg(feature = "train")]
    Study(crate::study::StudyArgs),
    /// The paper's experiments (needs a build with the `train` feature).
    #[cfg(not(feature = "train"))]
    Study(crate::train::args::WithoutTrainFeature),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Synth(args) => crate::synth::run(&args),
        Command::Export(args) => crate::export::run(&args),
        Command::Eval(args) => crate::eval::run(&args),
        Command::Classify(args) => crate::classify::run(&args),
        Command::Devices(args) => crate::cuda::devices::run(&args),
        Command::Engine(args) => match &args.what {
            crate::infer::engine_build::EngineCommand::Build(build) => {
                crate::infer::engine_build::run(build)
            }
        },
        Command::Reprocess(args) => crate::reprocess::run(&args),
        Command::Batch(args) => crate::batch::run(&args),
        Command::CheckMasking(args) => crate::check_masking::run(&args),
        Command::Live(args) => crate::live::run::run(&args),
        Command::Bench(args) => match &args.what {
            crate::live::args::BenchCommand::Live(live) => crate::live::bench::run(live),
            crate::live::args::BenchCommand::Gpu(gpu) => crate::bench::gpu::command(gpu),
        },
        #[cfg(feature = "train")]
        Command::Train(args) => crate::train::run::run(&args),
        #[cfg(not(feature = "train"))]
        Command::Train(args) => args.run(),
        #[cfg(feature = "train")]
        Command::Study(args) => crate::study::run(&args),
        #[cfg(not(feature = "train"))]
        Command::Study(args) => args.run(),
    }
}

/// Parses a batch size in `1..=max` (the one rule every command's `--batch` follows).
pub fn parse_batch_size(s: &str, max: usize) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("expected a batch size in 1..={max}, got '{s}'")),
    }
}
