//! `endoscan batch`: archives of studies, reprocessed on a cluster's own engine — Slurm job
//! arrays or Kubernetes Indexed Jobs — one shard of a manifest per task (`docs/batch.md`).
//!
//! - [`manifest`]: the `study_id,input[,model]` CSV;
//! - [`shard`]: which rows a task takes, from `--shard` or the cluster's environment;
//! - [`run`]: one task: skip, resume or start over each study, record failures, go on;
//! - [`record`], [`archive`]: what the archive says about each study and each task run;
//! - [`index`], [`index_html`]: `endoscan batch index`.

pub mod archive;
pub mod index;
mod index_html;
pub mod manifest;
pub mod record;
pub mod run;
pub mod shard;

use std::path::PathBuf;

use crate::reprocess::StudyOptions;

pub use self::shard::Shard;

/// Arguments of `endoscan batch`.
#[derive(Debug, Clone, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BatchArgs {
    #[command(subcommand)]
    pub command: Option<BatchCommand>,
    /// CSV with the columns study_id,input[,model]; paths relative to its folder.
    #[arg(value_name = "MANIFEST", required = true)]
    pub manifest: Option<PathBuf>,
    /// The archive: each study goes to ARCHIVE/<study_id>/.
    #[arg(long, value_name = "ARCHIVE", required = true)]
    pub out: Option<PathBuf>,
    /// Model for the studies whose row names none [default: the bundled models/demo.onnx].
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// This task's shard I/N (rows r with r mod N = I) [default: from SLURM_ARRAY_TASK_ID or
    /// JOB_COMPLETION_INDEX; else every study].
    #[arg(long, value_name = "I/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Number of shards where the environment gives only the index (Kubernetes:
    /// JOB_COMPLETION_INDEX; or set ENDOSCAN_SHARD_COUNT).
    #[arg(long, value_name = "N")]
    pub shard_count: Option<usize>,
    #[command(flatten)]
    pub options: StudyOptions,
}

/// `endoscan batch` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BatchCommand {
    /// Index an archive: index.csv, index.json and index.html with every study's status;
    /// exit status 1 while any study is not complete.
    Index(index::IndexArgs),
}

/// Runs `endoscan batch`.
pub fn run(args: &BatchArgs) -> anyhow::Result<()> {
    if let Some(BatchCommand::Index(index)) = &args.command {
        return index::run(index);
    }
    let (Some(manifest), Some(archive)) = (&args.manifest, &args.out) else {
        anyhow::bail!("endoscan batch MANIFEST --out ARCHIVE (or endoscan batch index ARCHIVE)");
    };
    // The environment first: a task started with the wrong one says so before any work.
    let shard = match args.shard {
        Some(s) => s,
        None => Shard::from_env(|k| std::env::var(k).ok(), args.shard_count)
            .map_err(|e| anyhow::anyhow!("--shard: {e}"))?,
    };
    let manifest = manifest::Manifest::read(manifest)?;
    run::run_shard(args, shard, &manifest, archive)
}
