//! `endoscan train` arguments and their validation into a [`TrainConfig`], free of `tch` so a
//! build without the `train` feature still knows the subcommand and says what is missing.
//!
//! Defaults follow recipe.md ("Training"): the paper's rule, 256,000 images, 384² inputs,
//! SGD momentum 0.9 without weight decay. `--resume RUN` takes every setting from
//! `RUN/run.json`; only run-time flags (threads, workers, device, stop-after) may be given with
//! it, the others are rejected by clap.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use super::augment::AugmentSettings;
use super::schedule::{Rule, DEFAULT_IMAGES_TOTAL};
use crate::data::{DEFAULT_CLASSES, DEFAULT_POSITIVE};
use crate::model::metadata::DEFAULT_INPUT_SIZE;
use crate::model::{Normalization, Variant};
use crate::preprocess::MAX_INPUT_SIZE;

/// Default `--seed`.
pub const DEFAULT_SEED: u64 = 0;
/// Batch of `--batch auto` on the CPU (the paper's r50x1 batch).
pub const CPU_DEFAULT_BATCH: usize = 32;
/// Largest batch `--batch auto` tries on a GPU (BiT's reference batch).
pub const MAX_AUTO_BATCH: usize = 512;
/// Validations per run when `--eval-every` is not given.
pub const DEFAULT_EVALS_PER_RUN: u64 = 10;
/// SGD momentum (recipe: 0.9, no weight decay).
pub const MOMENTUM: f64 = 0.9;
/// Input side the recipe's augmentation ranges are given for.
pub const RECIPE_INPUT_SIZE: usize = 384;

/// What `endoscan train` and `endoscan study` print in a build without the `train` feature.
pub const TRAIN_FEATURE_MISSING: &str = "this endoscan was built without the `train` feature; \
     rebuild with `cargo build --release --features train`";

pub use super::choices::{BatchChoice, DeviceChoice, Mode, Precision, Select, ThresholdRule};

/// Default of `--min-sensitivity`.
pub const DEFAULT_MIN_SENSITIVITY: f64 = 0.8;

fn default_min_sensitivity() -> f64 {
    DEFAULT_MIN_SENSITIVITY
}

/// Arguments of `endoscan train`.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    /// Labelled images: an ImageFolder (DIR/<class>/…), a CSV manifest `path,label[,patient_id]`
    /// or a folder holding `labels.csv` (as `endoscan synth` writes).
    #[arg(long, required_unless_present = "resume", conflicts_with = "resume")]
    pub data: Option<PathBuf>,
    /// Model variant: r50x1, r101x1, r50x3, r101x3, r152x4, or small ones such as r14x0.5.
    #[arg(long, required_unless_present = "resume", conflicts_with = "resume")]
    pub variant: Option<Variant>,
    /// Starting weights: Google's BiT `.npz` or an endoscan safetensors checkpoint; the head is
    /// replaced by a zero head when its class count differs [default: train from scratch].
    #[arg(long, value_name = "FILE", conflicts_with = "resume")]
    pub weights: Option<PathBuf>,
    /// global: everything trains; local: the backbone is frozen, only the head trains.
    #[arg(long, value_enum, default_value_t = Mode::Global, conflicts_with = "resume")]
    pub mode: Mode,
    /// Run folder: split.csv, checkpoints, run.json, model.onnx, test/ (created).
    #[arg(
        long,
        value_name = "RUN",
        required_unless_present = "resume",
        conflicts_with = "resume"
    )]
    pub out: Option<PathBuf>,
    /// Images per step, or `auto`: the largest that fits the GPU (32 on the CPU).
    #[arg(long, default_value_t = BatchChoice::Auto, value_name = "N|auto", conflicts_with = "resume")]
    pub batch: BatchChoice,
    /// Learning-rate rule: the paper's (0.03·B/512, ÷10 at 30/60/90 %) or BiT's HyperRule.
    #[arg(long, value_enum, default_value_t = Rule::Paper, conflicts_with = "resume")]
    pub rule: Rule,
    /// Images seen over the whole run (paper's rule): steps = this / batch.
    #[arg(long, default_value_t = DEFAULT_IMAGES_TOTAL, value_name = "N", conflicts_with = "resume")]
    pub images_total: u64,
    /// Initial learning rate, overriding the rule's (warm-up and decays keep their shape).
    #[arg(long, value_name = "LR", conflicts_with = "resume")]
    pub lr: Option<f64>,
    /// Square input side in pixels.
    #[arg(long, default_value_t = DEFAULT_INPUT_SIZE, value_name = "PIXELS", conflicts_with = "resume")]
    pub input_size: usize,
    /// Input normalization [default: the checkpoint's, else bit (what BiT's .npz expect)].
    #[arg(
        long = "normalize",
        value_enum,
        value_name = "MODE",
        conflicts_with = "resume"
    )]
    pub normalization: Option<Normalization>,
    /// Device to train on (a resumed run may move; bit-exact resumption needs the same one).
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
    /// Mixed precision on CUDA (bf16 or fp16 autocast); the CPU always trains in fp32.
    #[arg(long, value_enum, default_value_t = Precision::Fp32, conflicts_with = "resume")]
    pub precision: Precision,
    /// Seed of the split, the initialization, the batch order and the augmentation.
    #[arg(long, default_value_t = DEFAULT_SEED, conflicts_with = "resume")]
    pub seed: u64,
    /// Reuse this `split.csv` instead of splitting 70/15/15.
    #[arg(long, value_name = "FILE", conflicts_with = "resume")]
    pub split: Option<PathBuf>,
    /// Validate (and checkpoint) every N steps [default: 10 times per run].
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub eval_every: Option<u64>,
    /// Continue the run in this folder exactly where its last checkpoint left it.
    #[arg(long, value_name = "RUN")]
    pub resume: Option<PathBuf>,
    /// Leave unreadable or odd images out (listed as warnings) instead of failing.
    #[arg(long, conflicts_with = "resume")]
    pub skip_bad: bool,
    /// libtorch intra-op threads [default: libtorch's choice, one per core].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Data-loading threads (0 = all cores).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub workers: usize,
    /// Class names in label order.
    #[arg(long, value_delimiter = ',', value_name = "NAMES", conflicts_with = "resume",
          default_values_t = DEFAULT_CLASSES.map(String::from))]
    pub classes: Vec<String>,
    /// The positive (cancer) class.
    #[arg(long, default_value = DEFAULT_POSITIVE, value_name = "NAME", conflicts_with = "resume")]
    pub positive: String,
    /// Validation number that picks the best checkpoint.
    #[arg(long, value_enum, default_value_t = Select::Auc, conflicts_with = "resume")]
    pub select: Select,
    /// How the decision threshold is chosen on the validation set.
    #[arg(long, value_enum, default_value_t = ThresholdRule::Youden, conflicts_with = "resume")]
    pub threshold_rule: ThresholdRule,
    /// Validation sensitivity `--threshold-rule sensitivity` reaches (0 < F ≤ 1).
    #[arg(long, value_name = "F", default_value_t = DEFAULT_MIN_SENSITIVITY, conflicts_with = "resume")]
    pub min_sensitivity: f64,
    /// Local mode: run the frozen backbone on augmented images every step instead of caching
    /// its features of the unaugmented images once.
    #[arg(long, conflicts_with = "resume")]
    pub no_feature_cache: bool,
    /// Ablation: train without the recipe's augmentation.
    #[arg(long, conflicts_with = "resume")]
    pub no_augment: bool,
    /// Stop (with a checkpoint) once this many steps are done, as if killed; for tests.
    #[arg(long, hide = true, value_name = "STEPS")]
    pub stop_after: Option<u64>,
}

/// Validated, self-contained settings of one run, stored in `run.json` so `--resume` needs
/// nothing else. Paths are absolute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub data: PathBuf,
    #[serde(with = "as_text")]
    pub variant: Variant,
    pub weights: Option<PathBuf>,
    pub mode: Mode,
    pub out: PathBuf,
    pub batch: BatchChoice,
    #[serde(with = "as_text")]
    pub rule: Rule,
    pub images_total: u64,
    pub lr: Option<f64>,
    pub input_size: usize,
    /// `None`: from the checkpoint's metadata, else `bit`.
    #[serde(with = "as_text_opt")]
    pub normalization: Option<Normalization>,
    pub precision: Precision,
    pub seed: u64,
    pub split: Option<PathBuf>,
    pub eval_every: Option<u64>,
    pub skip_bad: bool,
    pub classes: Vec<String>,
    pub positive: String,
    pub select: Select,
    pub threshold_rule: ThresholdRule,
    /// Target of [`ThresholdRule::Sensitivity`] (runs recorded before it existed: the default).
    #[serde(default = "default_min_sensitivity")]
    pub min_sensitivity: f64,
    pub feature_cache: bool,
    pub augment: bool,
}

/// Settings that may change from one process of a run to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeSettings {
    pub device: DeviceChoice,
    pub threads: Option<usize>,
    pub workers: usize,
    pub stop_after: Option<u64>,
}

impl RuntimeSettings {
    pub fn from_args(args: &TrainArgs) -> anyhow::Result<Self> {
        if args.threads == Some(0) {
            bail!("--threads must be at least 1");
        }
        Ok(Self {
            device: args.device,
            threads: args.threads,
            workers: args.workers,
            stop_after: args.stop_after,
        })
    }
}

impl TrainConfig {
    /// Checks the arguments of a new run (not `--resume`) before any work.
    pub fn from_args(args: &TrainArgs) -> anyhow::Result<Self> {
        let (Some(data), Some(variant), Some(out)) = (&args.data, args.variant, &args.out) else {
            bail!("a new run needs --data, --variant and --out (or --resume RUN)");
        };
        let existing = |flag: &str, p: &Path| -> anyhow::Result<PathBuf> {
            std::fs::canonicalize(p).with_context(|| format!("{flag} {}", p.display()))
        };
        if let BatchChoice::Fixed(0) = args.batch {
            bail!("--batch must be at least 1");
        }
        if args.images_total == 0 {
            bail!("--images-total must be at least 1");
        }
        if let Some(lr) = args.lr {
            if !(lr.is_finite() && lr > 0.0) {
                bail!("--lr {lr} is not a positive learning rate");
            }
        }
        if !(1..=MAX_INPUT_SIZE).contains(&args.input_size) {
            bail!(
                "--input-size {} is out of range 1..={MAX_INPUT_SIZE}",
                args.input_size
            );
        }
        if args.eval_every == Some(0) {
            bail!("--eval-every must be at least 1");
        }
        if !(args.min_sensitivity > 0.0 && args.min_sensitivity <= 1.0) {
            bail!(
                "--min-sensitivity {} is not in (0, 1]",
                args.min_sensitivity
            );
        }
        if !args.classes.contains(&args.positive) {
            bail!(
                "--positive '{}' is not one of --classes {}",
                args.positive,
                args.classes.join(",")
            );
        }
        let out = absolute(out).with_context(|| format!("--out {}", out.display()))?;
        Ok(Self {
            data: existing("--data", data)?,
            variant,
            weights: args
                .weights
                .as_deref()
                .map(|w| existing("--weights", w))
                .transpose()?,
            mode: args.mode,
            out,
            batch: args.batch,
            rule: args.rule,
            images_total: args.images_total,
            lr: args.lr,
            input_size: args.input_size,
            normalization: args.normalization,
            precision: args.precision,
            seed: args.seed,
            split: args
                .split
                .as_deref()
                .map(|s| existing("--split", s))
                .transpose()?,
            eval_every: args.eval_every,
            skip_bad: args.skip_bad,
            classes: args.classes.clone(),
            positive: args.positive.clone(),
            select: args.select,
            threshold_rule: args.threshold_rule,
            min_sensitivity: args.min_sensitivity,
            feature_cache: !args.no_feature_cache,
            augment: !args.no_augment,
        })
    }

    /// Whether local mode trains on cached backbone features (then without augmentation).
    pub fn caches_features(&self) -> bool {
        self.mode == Mode::Local && self.feature_cache
    }

    /// The augmentation of training images, if any: the recipe's `SomeOf` with its blur σ range
    /// scaled to the input size. The recipe's σ ∈ [0, 5] is in pixels of 384² inputs; at 128²
    /// the same σ would blur three times as much of the picture, so σ ∈ [0, 5·S/384] keeps the
    /// recipe's effect at any size (and is exactly the recipe at 384²).
    pub fn augmentation(&self) -> Option<AugmentSettings> {
        if !self.augment || self.caches_features() {
            return None;
        }
        let recipe = AugmentSettings::default();
        let scale = self.input_size as f64 / RECIPE_INPUT_SIZE as f64;
        Some(AugmentSettings {
            blur_sigma: (recipe.blur_sigma.0 * scale, recipe.blur_sigma.1 * scale),
            ..recipe
        })
    }
}

/// `p` made absolute against the current directory (it need not exist yet).
fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    Ok(if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .context("cannot read the current directory")?
            .join(p)
    })
}

/// `endoscan train` or `study` in a build without the `train` feature: any arguments are
/// accepted so that the only message is the missing feature.
#[derive(Debug, Clone, clap::Args)]
pub struct WithoutTrainFeature {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub args: Vec<String>,
}

impl WithoutTrainFeature {
    /// Always fails with [`TRAIN_FEATURE_MISSING`].
    pub fn run(&self) -> anyhow::Result<()> {
        bail!(TRAIN_FEATURE_MISSING)
    }
}

/// Serde through `Display` / `FromStr` (variants, rules, normalizations as their names).
mod as_text {
    use std::fmt::Display;
    use std::str::FromStr;

    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<T: Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        String::deserialize(d)?.parse().map_err(D::Error::custom)
    }
}

/// [`as_text`] for an optional value (`null` when absent).
mod as_text_opt {
    use std::fmt::Display;
    use std::str::FromStr;

    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<T: Display, S: Serializer>(
        value: &Option<T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        Option::<String>::deserialize(d)?
            .map(|s| s.parse().map_err(D::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
#[path = "args_tests.rs"]
mod tests;
