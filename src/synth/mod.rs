//! `endoscan synth`: procedural gastroscopy-like frames with early-gastric-cancer-like lesions.

use std::path::PathBuf;

/// Arguments of `endoscan synth`.
#[derive(Debug, Clone, clap::Args)]
pub struct SynthArgs {
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `endoscan synth`.
pub fn run(_args: &SynthArgs) -> anyhow::Result<()> {
    anyhow::bail!("synth is not implemented yet")
}
