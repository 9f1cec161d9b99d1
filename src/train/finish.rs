//! The end of a run (feature `train`): the best checkpoint becomes `model.onnx` with a decision
//! threshold chosen on the validation set, then the test subset is evaluated through that ONNX
//! file and ONNX Runtime — `endoscan eval`'s code path, so the reported numbers are those of
//! what gets deployed.
//!
//! The threshold is chosen on validation scores of the exported graph itself (a provisional
//! export with threshold 0.5, removed afterwards), by `--threshold-rule` (see
//! [`super::threshold`]); `best.safetensors` is rewritten with it in its metadata, so
//! `endoscan export --weights RUN/best.safetensors` gives back the same model.

use std::path::Path;

use anyhow::Context;
use indicatif::ProgressBar;
use serde_json::json;

use super::args::{RuntimeSettings, ThresholdRule, TrainConfig};
use super::checkpoint::{BEST_FILE, LAST_FILE};
use super::record::RunRecord;
use super::setup::RunData;
use super::threshold;
use crate::data::split::Subset;
use crate::eval::{self, score, EvalResult, EvalSettings, Metrics};
use crate::export::export_onnx;
use crate::infer::{Classifier, ClassifierOptions};
use crate::model::metadata::keys;
use crate::model::{ModelMetadata, Weights};

/// The deployable model in the run folder.
pub const MODEL_FILE: &str = "model.onnx";
/// Folder of the test evaluation in the run folder.
pub const TEST_DIR: &str = "test";
/// Images per ONNX Runtime call.
const EVAL_BATCH: usize = 16;

/// Exports `model.onnx` from the best checkpoint, evaluates it on the test subset and completes
/// `run.json`.
pub fn finish(
    config: &TrainConfig,
    meta: &ModelMetadata,
    data: &RunData,
    record: &mut RunRecord,
    runtime: RuntimeSettings,
) -> anyhow::Result<()> {
    let run = &config.out;
    let best = if run.join(BEST_FILE).exists() {
        run.join(BEST_FILE)
    } else {
        tracing::warn!("no validated checkpoint: exporting the last weights");
        run.join(LAST_FILE)
    };
    let mut weights = Weights::load(&best)?;
    let options = ClassifierOptions {
        intra_threads: runtime.threads,
        shares_cpu: false,
        ..ClassifierOptions::default()
    };
    let mut meta = ModelMetadata {
        weights_sha256: weights.sha256.clone(),
        ..meta.clone()
    };
    let (threshold, val_metrics) =
        choose_threshold(config, &meta, &weights, data, &options, runtime)?;

    // The final checkpoint and model, carrying the threshold.
    meta.threshold = threshold;
    weights
        .metadata
        .insert(keys::THRESHOLD.into(), threshold.to_string());
    let best_out = run.join(BEST_FILE);
    weights
        .save_safetensors(&best_out)
        .with_context(|| format!("{}: cannot write the checkpoint", best_out.display()))?;
    meta.weights_sha256 = Weights::load(&best_out)?.sha256;
    let model = run.join(MODEL_FILE);
    let bytes = export_onnx(&weights, &meta, &model)?;
    let result = evaluate_test(config, data, &model, &options, runtime)?;

    record.threshold = Some(json!({
        "rule": config.threshold_rule,
        "min_sensitivity": (config.threshold_rule == ThresholdRule::Sensitivity).then_some(config.min_sensitivity),
        "value": threshold,
        "validation": val_metrics,
    }));
    record.test = Some(json!({
        "metrics": result.metrics,
        "report": result.report,
    }));
    record.status = "done".into();
    record.write(run)?;
    print_summary(record, &model, bytes, &result.metrics, threshold);
    Ok(())
}

/// Scores the validation subset through a provisional export of `weights` (removed
/// afterwards) and chooses the decision threshold on those scores by `--threshold-rule`;
/// returns it and the validation metrics at it.
fn choose_threshold(
    config: &TrainConfig,
    meta: &ModelMetadata,
    weights: &Weights,
    data: &RunData,
    options: &ClassifierOptions,
    runtime: RuntimeSettings,
) -> anyhow::Result<(f32, Metrics)> {
    let provisional = config.out.join(".model.validation.onnx");
    export_onnx(weights, meta, &provisional)?;
    let scores = {
        let mut classifier = Classifier::load(&provisional, options)?;
        let described = classifier.metadata().clone();
        score::score(
            &mut classifier,
            &described,
            &data.dataset,
            &data.val,
            EVAL_BATCH,
            runtime.workers,
            &ProgressBar::hidden(),
        )?
    };
    let _ = std::fs::remove_file(&provisional);
    let probabilities: Vec<f32> = scores.scored.iter().map(|s| s.probability).collect();
    let truth: Vec<bool> = scores
        .scored
        .iter()
        .map(|s| data.dataset.samples()[s.index].label == meta.positive)
        .collect();
    let threshold = threshold::choose(
        &probabilities,
        &truth,
        config.threshold_rule,
        config.min_sensitivity,
    )
    .unwrap_or_else(|| {
        tracing::warn!(
            "the validation subset lacks a class: keeping the decision threshold at 0.5"
        );
        0.5
    });
    let val_metrics = Metrics::compute(&probabilities, &truth, threshold);
    Ok((threshold, val_metrics))
}

/// The test subset through the deployable `model` (`endoscan eval` into `RUN/test`).
fn evaluate_test(
    config: &TrainConfig,
    data: &RunData,
    model: &Path,
    options: &ClassifierOptions,
    runtime: RuntimeSettings,
) -> anyhow::Result<EvalResult> {
    let run = &config.out;
    let settings = EvalSettings {
        data: config.data.clone(),
        split: Some((data.split_file.clone(), Subset::Test)),
        batch: EVAL_BATCH,
        out: run.join(TEST_DIR),
        threshold: None,
        skip_bad: config.skip_bad,
        workers: runtime.workers,
    };
    let mut classifier = Classifier::load(model, options)?;
    let described = classifier.metadata().clone();
    eval::evaluate(
        &mut classifier,
        &described,
        &settings,
        json!({ "path": model.display().to_string(), "run": run.display().to_string() }),
    )
}

fn print_summary(record: &RunRecord, model: &Path, bytes: u64, m: &Metrics, threshold: f32) {
    let pct = |e: &crate::metrics::Estimate| {
        e.value
            .map_or("—".into(), |v| format!("{:.2} %", v * 100.0))
    };
    println!(
        "{}: {} {}×{} ({:.1} MB), threshold {threshold:.4} ({:?} on validation), best step {}",
        model.display(),
        record.config.variant,
        record.config.input_size,
        record.config.input_size,
        bytes as f64 / 1e6,
        record.config.threshold_rule,
        record
            .best
            .as_ref()
            .map_or("—".into(), |b| b.step.to_string()),
    );
    println!(
        "test: accuracy {}  sensitivity {}  specificity {}  F1 {}  AUC {}  (n = {})",
        pct(&m.accuracy),
        pct(&m.sensitivity),
        pct(&m.specificity),
        pct(&m.f1),
        m.auc.value.map_or("—".into(), |v| format!("{v:.4}")),
        m.n
    );
}
