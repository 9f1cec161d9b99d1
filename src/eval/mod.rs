//! `endoscan eval`: evaluates the deployable ONNX model on labelled images exactly as it runs in
//! deployment (shared preprocessing, ONNX Runtime), with the recipe's metrics (recipe.md,
//! "Evaluation").
//!
//! Input: `--model model.onnx` (classes, positive class, input size, normalization and threshold
//! come from its metadata), `--data` (ImageFolder, CSV manifest or a folder with `labels.csv`),
//! optionally `--split split.csv --subset test`. Output in `--out`: see [`output`].
//! Threads: preprocessing on worker threads, the model on the calling thread.
//! Failure modes: unreadable images are listed together and fail the run unless `--skip-bad`;
//! bad arguments fail before any work.
//!
//! [`crate::metrics`] (used by `train` for the threshold choice too) and [`stats`] (Pearson r of
//! `study`'s batch-size sweep) are pure.

pub mod output;
pub mod plots;
pub mod report;
pub mod score;
pub mod stats;

use std::path::PathBuf;

use anyhow::Context as _;
use indicatif::ProgressBar;
use serde_json::json;

use crate::data::split::{Split, Subset};
use crate::data::{BadImage, DataError, DataSettings, Dataset};
use crate::infer::{BackendArgs, Model, Scorer};
/// What an evaluation measures (defined in [`crate::metrics`]).
pub use crate::metrics::Metrics;
use crate::model::ModelMetadata;
use crate::util::outdir_lock::OutDirLock;

/// Images per model call by default.
pub const DEFAULT_BATCH: usize = 16;

/// Arguments of `endoscan eval`.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    /// Deployable model (`.onnx` written by `endoscan export` or `endoscan train`).
    #[arg(long)]
    pub model: PathBuf,
    /// Labelled images: an ImageFolder (DIR/<class>/…), a CSV manifest `path,label[,patient_id]`,
    /// or a folder holding `labels.csv`.
    #[arg(long)]
    pub data: PathBuf,
    /// `split.csv` of a training run: evaluate only `--subset` of it.
    #[arg(long)]
    pub split: Option<PathBuf>,
    /// Subset of `--split` to evaluate [default: test].
    #[arg(long, value_enum)]
    pub subset: Option<Subset>,
    /// Images per model call.
    #[arg(long, default_value_t = DEFAULT_BATCH)]
    pub batch: usize,
    /// Output folder for metrics.json, predictions.csv, roc.svg, confusion.svg and report.html.
    #[arg(long)]
    pub out: PathBuf,
    /// Decision threshold on the positive-class probability [default: the model's].
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Leave unreadable images out (listed as warnings) instead of failing.
    #[arg(long)]
    pub skip_bad: bool,
    /// Preprocessing threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub workers: usize,
    /// Where and how the model runs: the flags every inferring command shares.
    #[command(flatten)]
    pub backend: BackendArgs,
}

/// Validated settings of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalSettings {
    pub data: PathBuf,
    pub split: Option<(PathBuf, Subset)>,
    pub batch: usize,
    pub out: PathBuf,
    pub threshold: Option<f32>,
    pub skip_bad: bool,
    pub workers: usize,
}

impl EvalSettings {
    /// Checks the raw arguments before any work.
    pub fn from_args(args: &EvalArgs) -> anyhow::Result<Self> {
        anyhow::ensure!(args.batch >= 1, "--batch must be at least 1");
        if let Some(t) = args.threshold {
            anyhow::ensure!(
                (0.0..=1.0).contains(&t),
                "--threshold {t} is not a probability in [0, 1]"
            );
        }
        let split = match (&args.split, args.subset) {
            (Some(path), subset) => Some((path.clone(), subset.unwrap_or(Subset::Test))),
            (None, Some(_)) => anyhow::bail!("--subset needs --split split.csv"),
            (None, None) => None,
        };
        Ok(Self {
            data: args.data.clone(),
            split,
            batch: args.batch,
            out: args.out.clone(),
            threshold: args.threshold,
            skip_bad: args.skip_bad,
            workers: args.workers,
        })
    }
}

/// Runs `endoscan eval`.
pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    crate::cuda::select::cpu_only(args.backend.preprocess, "eval")?;
    let settings = EvalSettings::from_args(args)?;
    let mut model = load_model(&args.model, args)?;
    let meta = model.metadata().clone();
    let result = evaluate(
        &mut model,
        &meta,
        &settings,
        json!({ "path": args.model.display().to_string() }),
    )?;
    print_summary(&result);
    Ok(())
}

/// Loads the ONNX model through the project's classifier.
fn load_model(path: &std::path::Path, args: &EvalArgs) -> anyhow::Result<Model> {
    Ok(Model::load(path, &args.backend.options(false))?)
}

/// What an evaluation returns to its caller.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalResult {
    pub metrics: Metrics,
    pub report: PathBuf,
    pub out: PathBuf,
}

/// Evaluates `model` (described by `meta`) on the data of `settings` and writes every output;
/// `model_facts` (a JSON object) is added to the model's own metadata in `metrics.json` and the
/// report.
pub fn evaluate(
    model: &mut dyn Scorer,
    meta: &ModelMetadata,
    settings: &EvalSettings,
    model_facts: serde_json::Value,
) -> anyhow::Result<EvalResult> {
    let data_settings = DataSettings {
        classes: meta.classes.clone(),
        positive: meta.positive_class().to_string(),
        skip_bad: settings.skip_bad,
        threads: settings.workers,
        ..DataSettings::default()
    };
    let (dataset, listed_bad) = open_subset(settings, &data_settings)?;
    let indices: Vec<usize> = (0..dataset.len()).collect();
    tracing::info!(
        "evaluating {} images of {} (classes {:?}, positive '{}')",
        indices.len(),
        dataset.source().path().display(),
        meta.classes,
        meta.positive_class()
    );

    // Taken once the data has been read (bad data leaves no folder behind), held to the end.
    let _lock = OutDirLock::acquire(&settings.out)?;
    let progress = progress_bar(indices.len() as u64);
    let scores = score::score(
        model,
        meta,
        &dataset,
        &indices,
        settings.batch,
        settings.workers,
        &progress,
    )?;
    progress.finish_and_clear();
    let bad: Vec<_> = listed_bad.into_iter().chain(scores.failed).collect();
    settle_bad(&dataset, &bad, settings.skip_bad)?;
    anyhow::ensure!(
        !scores.scored.is_empty(),
        "{}: no image could be evaluated",
        dataset.source().path().display()
    );

    let threshold = settings.threshold.unwrap_or(meta.threshold);
    let truth: Vec<bool> = scores
        .scored
        .iter()
        .map(|s| dataset.samples()[s.index].label == dataset.positive())
        .collect();
    let probabilities: Vec<f32> = scores.scored.iter().map(|s| s.probability).collect();
    let metrics = Metrics::compute(&probabilities, &truth, threshold);

    let report = output::write_all(
        &output::Evaluation {
            dataset: &dataset,
            scored: &scores.scored,
            metrics: &metrics,
            model: model_json(meta, model_facts),
            data: data_json(&dataset, settings, &bad),
        },
        &settings.out,
    )
    .with_context(|| format!("{}: writing the evaluation", settings.out.display()))?;
    Ok(EvalResult {
        metrics,
        report,
        out: settings.out.clone(),
    })
}

/// Lists the data of `settings`, keeps the subset its split names, and returns it with the bad
/// images found while listing that belong to it.
fn open_subset(
    settings: &EvalSettings,
    data_settings: &DataSettings,
) -> anyhow::Result<(Dataset, Vec<BadImage>)> {
    let mut dataset = Dataset::scan(&settings.data, data_settings)?;
    // Bad images found while listing count only if they belong to the evaluated subset.
    let mut listed_bad = dataset.bad().to_vec();
    if let Some((path, subset)) = &settings.split {
        let split = Split::read(&dataset, path)?;
        let keep = split.indices(*subset);
        anyhow::ensure!(
            !keep.is_empty(),
            "{}: no images in subset '{subset}' of {}",
            path.display(),
            dataset.source().path().display()
        );
        dataset.retain_indices(|i| split.subset_of(i) == Some(*subset));
        listed_bad = split
            .bad_indices(*subset)
            .into_iter()
            .map(|i| dataset.bad()[i].clone())
            .collect();
    }
    Ok((dataset, listed_bad))
}

/// Fails listing every bad image unless `skip_bad`, in which case each is a warning.
fn settle_bad(dataset: &Dataset, bad: &[BadImage], skip_bad: bool) -> Result<(), DataError> {
    if !bad.is_empty() {
        if !skip_bad {
            return Err(DataError::BadImages {
                source_path: dataset.source().path().to_path_buf(),
                images: bad.to_vec(),
            });
        }
        for b in bad {
            tracing::warn!("skipped {}: {}", b.path.display(), b.reason);
        }
    }
    Ok(())
}

/// The model as `metrics.json` describes it: its metadata and the caller's `facts`.
fn model_json(meta: &ModelMetadata, facts: serde_json::Value) -> serde_json::Value {
    let mut model_json = json!({
        "variant": meta.variant.to_string(),
        "input_size": meta.input_size,
        "normalization": meta.normalization.to_string(),
        "threshold": meta.threshold,
        "weights_sha256": meta.weights_sha256,
    });
    if let (Some(m), serde_json::Value::Object(extra)) = (model_json.as_object_mut(), facts) {
        m.extend(extra);
    }
    model_json
}

/// The data as `metrics.json` describes it, with the images left out.
fn data_json(dataset: &Dataset, settings: &EvalSettings, bad: &[BadImage]) -> serde_json::Value {
    let skipped: Vec<String> = bad.iter().map(|b| b.path.display().to_string()).collect();
    json!({
        "path": dataset.source().path().display().to_string(),
        "split": settings.split.as_ref().map(|(p, _)| p.display().to_string()),
        "subset": settings.split.as_ref().map(|(_, s)| s.name()),
        "skipped": skipped,
    })
}

/// A progress bar on stderr, hidden when stderr is not a terminal.
fn progress_bar(len: u64) -> ProgressBar {
    crate::util::progress::bar(Some(len), "eval", "images")
}

/// Prints the headline numbers on stdout.
fn print_summary(r: &EvalResult) {
    let m = &r.metrics;
    let line = |name: &str, e: &crate::metrics::Estimate| match (e.value, e.ci95) {
        (Some(v), Some([lo, hi])) => {
            println!(
                "{name:<12} {:6.2} %  (95 % CI {:.2}–{:.2})",
                v * 100.0,
                lo * 100.0,
                hi * 100.0
            )
        }
        (Some(v), None) => println!("{name:<12} {:6.2} %", v * 100.0),
        _ => println!("{name:<12}      —"),
    };
    line("accuracy", &m.accuracy);
    line("sensitivity", &m.sensitivity);
    line("specificity", &m.specificity);
    line("F1", &m.f1);
    line("AUC", &m.auc);
    let c = &m.confusion;
    println!(
        "threshold {}  TP {}  FP {}  TN {}  FN {}  (n = {})",
        m.threshold, c.tp, c.fp, c.tn, c.fn_, m.n
    );
    println!("report: {}", r.report.display());
}
