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
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Synth(args) => crate::synth::run(&args),
    }
}
