//! `RUN/run.json`: everything needed to know how a model was made and to resume its run — the
//! validated configuration, the resolved plan (batch, schedule, device), the data (content hash,
//! split counts), the code revision, every validation, the best checkpoint, the chosen threshold
//! and the test metrics (through the exported ONNX, as `endoscan eval` computes them).
//!
//! Written atomically (temporary sibling renamed over it) after every checkpoint.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::args::TrainConfig;
use super::augment::AugmentSettings;

/// File name of the run record.
pub const RUN_FILE: &str = "run.json";
/// Format version of `run.json`.
pub const RUN_FORMAT: u32 = 1;

/// The plan resolved from the configuration at the start of a run; fixed for its lifetime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Images per step.
    pub batch: usize,
    pub total_steps: u64,
    /// Learning rate after warm-up, before the first decay (after `--lr`).
    pub base_lr: f64,
    pub warmup_steps: u64,
    /// Steps after which the rate drops ten-fold.
    pub decay_steps: Vec<u64>,
    pub eval_every: u64,
    pub momentum: f64,
    pub weight_decay: f64,
    /// `cpu` or `cuda:N` at the start of the run.
    pub device: String,
    /// Precision actually used (`fp32` on the CPU whatever was asked).
    pub precision: String,
    pub normalization: String,
    /// The recipe's `SomeOf` as used on training images (`null`: none).
    pub augmentation: Option<AugmentRecord>,
    /// Local mode trains on backbone features computed once.
    pub feature_cache: bool,
    pub trainable_parameters: usize,
    pub total_parameters: usize,
}

/// Ranges of the training augmentation (see `augment::AugmentSettings`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AugmentRecord {
    pub ops: (usize, usize),
    pub rot90_k: (u8, u8),
    pub multiply: (f32, f32),
    pub blur_sigma: (f64, f64),
}

impl From<&AugmentSettings> for AugmentRecord {
    fn from(s: &AugmentSettings) -> Self {
        Self {
            ops: s.ops,
            rot90_k: s.rot90_k,
            multiply: s.multiply,
            blur_sigma: s.blur_sigma,
        }
    }
}

/// The data a run saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataRecord {
    /// Folder or manifest the samples were listed from.
    pub source: PathBuf,
    /// SHA-256 over every used file's key, label and bytes (see `Dataset::content_hash`).
    pub content_hash: String,
    pub classes: Vec<String>,
    pub positive: String,
    /// `RUN/split.csv`.
    pub split: PathBuf,
    /// Images per class in train, val and test.
    pub counts: SubsetCounts,
    /// Images left out with `--skip-bad`, with the reason.
    pub skipped: Vec<String>,
}

/// Images per class of each subset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubsetCounts {
    pub train: Vec<usize>,
    pub val: Vec<usize>,
    pub test: Vec<usize>,
}

/// Starting weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightsRecord {
    pub path: PathBuf,
    pub sha256: String,
}

/// One validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalRecord {
    /// Steps done.
    pub step: u64,
    pub images_seen: u64,
    /// Learning rate of the last step.
    pub lr: f64,
    /// Mean training loss since the previous validation.
    pub train_loss: Option<f64>,
    pub val_loss: f64,
    /// At probability 0.5.
    pub val_accuracy: f64,
    pub val_auc: Option<f64>,
    /// Training seconds so far.
    pub seconds: f64,
}

/// The checkpoint kept as `best.safetensors`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestRecord {
    pub step: u64,
    /// The value of the selection metric (see `TrainConfig::select`).
    pub value: f64,
    pub val_loss: f64,
}

/// The whole record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub format: u32,
    pub endoscan_version: String,
    /// `git rev-parse HEAD` of the source tree this binary was built from, `-dirty` if it had
    /// changes; `null` when unavailable.
    pub git_revision: Option<String>,
    pub config: TrainConfig,
    pub plan: Plan,
    pub data: DataRecord,
    pub weights: Option<WeightsRecord>,
    /// `running`, `stopped` (a checkpoint to resume from) or `done`.
    pub status: String,
    /// Steps done at the last checkpoint.
    pub step: u64,
    /// Steps at which the run was resumed.
    pub resumed_at: Vec<u64>,
    pub evals: Vec<EvalRecord>,
    pub best: Option<BestRecord>,
    /// Seconds spent training (all processes together).
    pub train_seconds: f64,
    /// Decision threshold, rule and validation metrics (set at the end).
    pub threshold: Option<serde_json::Value>,
    /// Test-set metrics of `model.onnx` (set at the end).
    pub test: Option<serde_json::Value>,
}

impl RunRecord {
    /// Reads `RUN/run.json`.
    pub fn read(run: &Path) -> anyhow::Result<Self> {
        let path = run.join(RUN_FILE);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read the run record", path.display()))?;
        let record: Self = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a run record of endoscan train", path.display()))?;
        if record.format != RUN_FORMAT {
            anyhow::bail!(
                "{}: run record format {} (this endoscan reads {RUN_FORMAT})",
                path.display(),
                record.format
            );
        }
        Ok(record)
    }

    /// Writes `RUN/run.json` atomically.
    pub fn write(&self, run: &Path) -> anyhow::Result<()> {
        let path = run.join(RUN_FILE);
        let text = serde_json::to_string_pretty(self).expect("a run record serializes");
        crate::util::atomic::write(&path, text.as_bytes())
            .with_context(|| format!("{}: cannot write the run record", path.display()))
    }
}

/// The git revision of the source tree this binary was built from (`-dirty` with uncommitted
/// changes), or `None` when git or the tree is not there (an installed binary).
pub fn git_revision() -> Option<String> {
    let dir = env!("CARGO_MANIFEST_DIR");
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let head = git(&["rev-parse", "HEAD"]).filter(|h| !h.is_empty())?;
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{head}-dirty") } else { head })
}
