//! `endoscan study` (feature `train`): the paper's experiments on one dataset (recipe.md,
//! "Evaluation"): every variant fine-tuned globally and locally, the batch-size sweep of one
//! variant with Pearson's r (and two-sided p) of the batch size against each test metric, and
//! the union and intersection of false positives and false negatives over all models.
//!
//! Input: [`StudyArgs`]. Output in `--out`: `split.csv` (one split for every model, so test
//! sets and error sets are comparable), `runs/<name>/` (one `endoscan train` run each),
//! `results.md|csv` (the paper's table), `batch_sweep.md|csv`, `errors.md|csv`, and the plots
//! `results.svg` (test metrics per variant × mode, grouped bars) and `batch_sweep.svg` (each
//! test metric against the batch size), linked from `results.md`.
//! Runs one training at a time on the caller's thread. A run that fails (e.g. a variant that
//! does not fit the GPU) is reported and shows as "—"; the study goes on. Re-running the same
//! command skips finished runs and resumes interrupted ones.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::data::split::{Split, SplitSettings, SPLIT_FILE};
use crate::data::{csv, DataSettings, Dataset, DEFAULT_CLASSES, DEFAULT_POSITIVE};
use crate::eval::stats::{pearson, Pearson};
use crate::model::{Normalization, Variant};
use crate::plot::{self, Frame, FONT, PALETTE};
use crate::train::args::{
    BatchChoice, DeviceChoice, Mode, Precision, Select, ThresholdRule, TrainArgs,
};
use crate::train::record::RunRecord;
use crate::train::schedule::{Rule, DEFAULT_IMAGES_TOTAL};
use crate::util::atomic;

/// The paper's backbones.
pub const DEFAULT_VARIANTS: [&str; 5] = ["r50x1", "r101x1", "r50x3", "r101x3", "r152x4"];
/// The paper's batch-size sweep.
pub const DEFAULT_BATCHES: [usize; 6] = [32, 16, 8, 4, 2, 1];

/// Arguments of `endoscan study`.
#[derive(Debug, Clone, clap::Args)]
pub struct StudyArgs {
    /// Labelled images (as `endoscan train --data`).
    #[arg(long)]
    pub data: PathBuf,
    /// Study folder (created; re-running continues it).
    #[arg(long)]
    pub out: PathBuf,
    /// Variants to fine-tune.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_VARIANTS.map(|v| v.parse::<Variant>().expect("a known variant")))]
    pub variants: Vec<Variant>,
    /// Fine-tuning modes.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Mode::Global, Mode::Local])]
    pub modes: Vec<Mode>,
    /// Folder of Google's checkpoints named `BiT-M-R50x1.npz` etc. [default: from scratch].
    #[arg(long, value_name = "DIR")]
    pub weights_dir: Option<PathBuf>,
    /// Batch sizes of the sweep (global fine-tuning of --sweep-variant); empty: no sweep.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_BATCHES)]
    pub batches: Vec<usize>,
    /// Variant of the batch-size sweep [default: the first of --variants].
    #[arg(long)]
    pub sweep_variant: Option<Variant>,
    /// Batch of the variant × mode runs (`auto`: the largest that fits the GPU).
    #[arg(long, default_value_t = BatchChoice::Auto)]
    pub batch: BatchChoice,
    #[arg(long, value_enum, default_value_t = Rule::Paper)]
    pub rule: Rule,
    #[arg(long, default_value_t = DEFAULT_IMAGES_TOTAL)]
    pub images_total: u64,
    /// Initial learning rate, overriding the rule's.
    #[arg(long)]
    pub lr: Option<f64>,
    #[arg(long, default_value_t = crate::model::metadata::DEFAULT_INPUT_SIZE)]
    pub input_size: usize,
    #[arg(long = "normalize", value_enum)]
    pub normalization: Option<Normalization>,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
    #[arg(long, value_enum, default_value_t = Precision::Fp32)]
    pub precision: Precision,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long)]
    pub threads: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub workers: usize,
    #[arg(long)]
    pub skip_bad: bool,
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_CLASSES.map(String::from))]
    pub classes: Vec<String>,
    #[arg(long, default_value = DEFAULT_POSITIVE)]
    pub positive: String,
}

/// One training of the study.
#[derive(Debug, Clone, PartialEq)]
struct Job {
    name: String,
    variant: Variant,
    mode: Mode,
    batch: BatchChoice,
    /// Part of the batch-size sweep.
    sweep: bool,
}

/// Test results of a finished run.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    /// accuracy, sensitivity, specificity, F1, AUC (fractions; `None` when undefined).
    metrics: [Option<f64>; 5],
    batch: usize,
    /// Test images called positive although negative, and negative although positive.
    false_positives: BTreeSet<String>,
    false_negatives: BTreeSet<String>,
}

const METRICS: [&str; 5] = ["accuracy", "sensitivity", "specificity", "f1", "auc"];
/// [`METRICS`] as the tables and plots name them.
const METRIC_LABELS: [&str; 5] = ["accuracy", "sensitivity", "specificity", "F1", "AUC"];

/// Plot of the test metrics per variant × mode (grouped bars).
pub const RESULTS_PLOT: &str = "results.svg";
/// Plot of every test metric against the batch size.
pub const SWEEP_PLOT: &str = "batch_sweep.svg";

/// Top-level entry point of `endoscan study`.
pub fn run(args: &StudyArgs) -> anyhow::Result<()> {
    let jobs = jobs(args)?;
    if !args.data.exists() {
        bail!("--data {}: no such file or folder", args.data.display());
    }
    let weights = weights_of(args)?;
    let (split, _lock) = shared_split(args)?;
    let mut outcomes: BTreeMap<String, Outcome> = BTreeMap::new();
    for (i, job) in jobs.iter().enumerate() {
        let run = args.out.join("runs").join(&job.name);
        println!("study: [{}/{}] {}", i + 1, jobs.len(), job.name);
        let result = train_one(args, job, &run, &split, weights.get(&job.variant))
            .and_then(|()| outcome(&run));
        match result {
            Ok(o) => {
                outcomes.insert(job.name.clone(), o);
            }
            Err(e) => eprintln!("study: {} failed: {e:#}", job.name),
        }
    }
    write_tables(args, &jobs, &outcomes)?;
    println!(
        "study: {} of {} runs finished; tables in {}",
        outcomes.len(),
        jobs.len(),
        args.out.display()
    );
    Ok(())
}

/// Variant × mode runs, then the batch-size sweep.
fn jobs(args: &StudyArgs) -> anyhow::Result<Vec<Job>> {
    if args.variants.is_empty() || args.modes.is_empty() {
        bail!("--variants and --modes need at least one value each");
    }
    if let Some(b) = args.batches.iter().find(|&&b| b == 0) {
        bail!("--batches: {b} is not a batch size");
    }
    let mut jobs = Vec::new();
    for v in &args.variants {
        for m in &args.modes {
            jobs.push(Job {
                name: format!("{v}-{}", mode_name(*m)),
                variant: *v,
                mode: *m,
                batch: args.batch,
                sweep: false,
            });
        }
    }
    let sweep_variant = args.sweep_variant.unwrap_or(args.variants[0]);
    for &b in &args.batches {
        jobs.push(Job {
            name: format!("{sweep_variant}-global-b{b}"),
            variant: sweep_variant,
            mode: Mode::Global,
            batch: BatchChoice::Fixed(b),
            sweep: true,
        });
    }
    Ok(jobs)
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Global => "global",
        Mode::Local => "local",
    }
}

/// `BiT-M-R50x1.npz` etc. in `--weights-dir`, checked before any training.
fn weights_of(args: &StudyArgs) -> anyhow::Result<HashMap<Variant, PathBuf>> {
    let Some(dir) = &args.weights_dir else {
        tracing::warn!("no --weights-dir: every model trains from scratch (the paper fine-tunes BiT-M ImageNet-21k weights)");
        return Ok(HashMap::new());
    };
    let mut found = HashMap::new();
    let mut variants: Vec<Variant> = args.variants.clone();
    variants.extend(args.sweep_variant);
    for v in variants {
        let name = v.to_string();
        let file = dir.join(format!("BiT-M-R{}.npz", &name[1..]));
        if !file.is_file() {
            bail!(
                "--weights-dir {}: no {} for {v}",
                dir.display(),
                file.display()
            );
        }
        found.insert(v, file);
    }
    Ok(found)
}

/// `OUT/split.csv`: made once (seeded) and given to every run. Creates the study folder once
/// the data has been read, so bad data leaves no folder behind, and locks it for this study
/// (held as long as the returned lock lives).
fn shared_split(args: &StudyArgs) -> anyhow::Result<(PathBuf, OutDirLock)> {
    let path = args.out.join(SPLIT_FILE);
    let create = || -> anyhow::Result<OutDirLock> {
        let lock = OutDirLock::acquire(&args.out)?;
        std::fs::create_dir_all(args.out.join("runs")).with_context(|| {
            format!(
                "--out {}: cannot create the study folder",
                args.out.display()
            )
        })?;
        Ok(lock)
    };
    if path.is_file() {
        return Ok((path, create()?));
    }
    let settings = DataSettings {
        classes: args.classes.clone(),
        positive: args.positive.clone(),
        skip_bad: args.skip_bad,
        threads: args.workers,
        ..DataSettings::default()
    };
    let dataset = Dataset::open(&args.data, &settings)?;
    let split = Split::stratified(
        &dataset,
        &SplitSettings {
            seed: args.seed,
            ..SplitSettings::default()
        },
    )?;
    let lock = create()?;
    split.write(&dataset, &path)?;
    Ok((path, lock))
}

/// Trains (or resumes) one run unless it is finished.
fn train_one(
    args: &StudyArgs,
    job: &Job,
    run: &Path,
    split: &Path,
    weights: Option<&PathBuf>,
) -> anyhow::Result<()> {
    let previous = run.join(crate::train::record::RUN_FILE).is_file();
    if previous && RunRecord::read(run)?.status == "done" {
        return Ok(());
    }
    let new = !previous;
    let train = TrainArgs {
        data: new.then(|| args.data.clone()),
        variant: new.then_some(job.variant),
        weights: weights.filter(|_| new).cloned(),
        mode: job.mode,
        out: new.then(|| run.to_path_buf()),
        batch: job.batch,
        rule: args.rule,
        images_total: args.images_total,
        lr: args.lr.filter(|_| new),
        input_size: args.input_size,
        normalization: args.normalization.filter(|_| new),
        device: args.device,
        precision: args.precision,
        seed: args.seed,
        split: new.then(|| split.to_path_buf()),
        eval_every: None,
        resume: previous.then(|| run.to_path_buf()),
        skip_bad: args.skip_bad,
        threads: args.threads,
        workers: args.workers,
        classes: args.classes.clone(),
        positive: args.positive.clone(),
        select: Select::Auc,
        threshold_rule: ThresholdRule::Youden,
        min_sensitivity: crate::train::args::DEFAULT_MIN_SENSITIVITY,
        no_feature_cache: false,
        no_augment: false,
        stop_after: None,
    };
    crate::train::run::run(&train)
}

/// Test metrics and error sets of a finished run.
fn outcome(run: &Path) -> anyhow::Result<Outcome> {
    let record = RunRecord::read(run)?;
    let test = record
        .test
        .as_ref()
        .with_context(|| format!("{}: no test results", run.display()))?;
    let metrics = METRICS.map(|m| test["metrics"][m]["value"].as_f64());
    let path = run.join("test").join(crate::eval::output::PREDICTIONS_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read predictions", path.display()))?;
    let table = csv::Table::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let col = |name: &str| {
        table
            .column(name)
            .with_context(|| format!("{}: no column '{name}'", path.display()))
    };
    let (p, l, pr) = (col("path")?, col("label")?, col("predicted")?);
    let positive = &record.data.positive;
    let mut o = Outcome {
        metrics,
        batch: record.plan.batch,
        false_positives: BTreeSet::new(),
        false_negatives: BTreeSet::new(),
    };
    for (_, row) in &table.rows {
        match (row[l] == *positive, row[pr] == *positive) {
            (false, true) => o.false_positives.insert(row[p].clone()),
            (true, false) => o.false_negatives.insert(row[p].clone()),
            _ => false,
        };
    }
    Ok(o)
}

/// `12.34` (percent) or `—`.
mod charts;
mod tables;
use crate::util::outdir_lock::OutDirLock;
use tables::write_tables;

#[cfg(test)]
mod tests;
