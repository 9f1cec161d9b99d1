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
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Synth(args) => crate::synth::run(&args),
        Command::Export(args) => crate::export::run(&args),
        Command::Eval(args) => crate::eval::run(&args),
        Command::Classify(args) => crate::classify::run(&args),
    }
}
