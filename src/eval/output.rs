//! Writes an evaluation: `metrics.json`, `predictions.csv`, `roc.svg`, `confusion.svg` and
//! `report.html` into the output folder.
//!
//! `metrics.json` holds the keys of [`Metrics`] at the top level — `accuracy`, `f1`,
//! `sensitivity`, `specificity`, `auc` as `{"value": x, "ci95": [lo, hi], "ci_method": m}`
//! (`null` when undefined), `threshold`, `confusion: {tp, fp, tn, fn}`, `n`, `positives`,
//! `negatives` — plus `positive_class`, `classes`, `model` and `data` describing the run.
//! `predictions.csv`: `path,label,patient_id,probability,predicted,correct` with `probability`
//! the positive-class probability (every digit its f32 has).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::{json, Value};

use super::plots::{confusion_svg, roc_svg};
use super::report::{self, Miss, ReportContext};
use super::score::Scored;
use crate::data::{csv, Dataset};
use crate::metrics::{roc_curve, Metrics};

/// Output file names.
pub const METRICS_FILE: &str = "metrics.json";
pub const PREDICTIONS_FILE: &str = "predictions.csv";
pub const ROC_FILE: &str = "roc.svg";
pub const CONFUSION_FILE: &str = "confusion.svg";
pub const REPORT_FILE: &str = "report.html";

/// Everything an evaluation produced.
pub struct Evaluation<'a> {
    pub dataset: &'a Dataset,
    pub scored: &'a [Scored],
    pub metrics: &'a Metrics,
    /// Describes the model for `metrics.json` (`model`) and the report.
    pub model: Value,
    /// Describes the data for `metrics.json` (`data`) and the report.
    pub data: Value,
}

/// Writes every output file into `out` (created if missing); returns the report's path.
pub fn write_all(eval: &Evaluation<'_>, out: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("{}: cannot create the output folder", out.display()))?;
    let ds = eval.dataset;
    let positive = &ds.classes()[ds.positive()];
    let negative = ds
        .classes()
        .iter()
        .enumerate()
        .find(|(i, _)| *i != ds.positive())
        .map_or("negative", |(_, c)| c.as_str());

    write_metrics(eval, positive, out)?;
    write(
        &out.join(PREDICTIONS_FILE),
        predictions_csv(eval).as_bytes(),
    )?;
    let (roc, cm) = write_plots(eval, positive, negative, out)?;
    let ctx = ReportContext {
        facts: facts(eval),
        positive,
        negative,
        roc_svg: &roc,
        confusion_svg: &cm,
        misses: misses(eval),
    };
    let report_path = out.join(REPORT_FILE);
    write(&report_path, report::render(eval.metrics, &ctx).as_bytes())?;
    Ok(report_path)
}

/// `metrics.json`: the metrics with the classes, the model and the data.
fn write_metrics(eval: &Evaluation<'_>, positive: &str, out: &Path) -> anyhow::Result<()> {
    let ds = eval.dataset;
    let mut metrics = serde_json::to_value(eval.metrics).context("serializing metrics")?;
    if let Value::Object(map) = &mut metrics {
        map.insert("positive_class".into(), json!(positive));
        map.insert("classes".into(), json!(ds.classes()));
        map.insert("model".into(), eval.model.clone());
        map.insert("data".into(), eval.data.clone());
    }
    let text = serde_json::to_string_pretty(&metrics).context("serializing metrics")? + "\n";
    write(&out.join(METRICS_FILE), text.as_bytes())
}

/// `roc.svg` and `confusion.svg`; returns both for the report.
fn write_plots(
    eval: &Evaluation<'_>,
    positive: &str,
    negative: &str,
    out: &Path,
) -> anyhow::Result<(String, String)> {
    let (scores, truth) = scores_and_truth(eval);
    let curve = roc_curve(&scores, &truth);
    let c = &eval.metrics.confusion;
    let operating = (c.positives() > 0 && c.negatives() > 0).then(|| {
        (
            c.fp as f64 / c.negatives() as f64,
            c.tp as f64 / c.positives() as f64,
        )
    });
    let roc = roc_svg(&curve, eval.metrics.auc.value, operating);
    write(&out.join(ROC_FILE), roc.as_bytes())?;
    let cm = confusion_svg(c, positive, negative);
    write(&out.join(CONFUSION_FILE), cm.as_bytes())?;
    Ok((roc, cm))
}

/// The report's key/value lines of the model and the data.
fn facts(eval: &Evaluation<'_>) -> Vec<(&'static str, String)> {
    let mut facts = Vec::new();
    for (prefix, value) in [("model", &eval.model), ("data", &eval.data)] {
        if let Value::Object(map) = value {
            for (k, v) in map {
                let shown = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => "—".into(),
                    other => other.to_string(),
                };
                facts.push((prefix, format!("{k}: {shown}")));
            }
        }
    }
    facts
}

/// The misclassified images, most confident mistakes first.
fn misses(eval: &Evaluation<'_>) -> Vec<Miss> {
    let ds = eval.dataset;
    let mut misses: Vec<Miss> = eval
        .scored
        .iter()
        .filter(|s| predicted_positive(eval, s) != is_positive(eval, s))
        .map(|s| {
            let sample = &ds.samples()[s.index];
            Miss {
                key: sample.key.clone(),
                label: ds.classes()[sample.label].clone(),
                probability: s.probability,
            }
        })
        .collect();
    // Most confident mistakes first: distance of the probability from the threshold.
    let t = eval.metrics.threshold;
    misses.sort_by(|a, b| {
        (b.probability - t)
            .abs()
            .total_cmp(&(a.probability - t).abs())
    });
    misses
}

fn is_positive(eval: &Evaluation<'_>, s: &Scored) -> bool {
    eval.dataset.samples()[s.index].label == eval.dataset.positive()
}

fn predicted_positive(eval: &Evaluation<'_>, s: &Scored) -> bool {
    s.probability >= eval.metrics.threshold
}

/// Positive-class probabilities and truth, in scoring order.
pub fn scores_and_truth(eval: &Evaluation<'_>) -> (Vec<f32>, Vec<bool>) {
    eval.scored
        .iter()
        .map(|s| (s.probability, is_positive(eval, s)))
        .unzip()
}

fn predictions_csv(eval: &Evaluation<'_>) -> String {
    let ds = eval.dataset;
    let negative_name = ds
        .classes()
        .iter()
        .enumerate()
        .find(|(i, _)| *i != ds.positive())
        .map_or("negative", |(_, c)| c.as_str());
    let mut text = String::from("path,label,patient_id,probability,predicted,correct\n");
    for s in eval.scored {
        let sample = &ds.samples()[s.index];
        let predicted = predicted_positive(eval, s);
        let predicted_name = if predicted {
            ds.classes()[ds.positive()].as_str()
        } else {
            negative_name
        };
        // The shortest decimal that reads back as the same f32: rounding to a fixed number of
        // places could tie two images the metrics tell apart.
        let probability = s.probability.to_string();
        let correct = (predicted == is_positive(eval, s)).to_string();
        text += &csv::record([
            sample.key.as_str(),
            ds.classes()[sample.label].as_str(),
            sample.patient.as_deref().unwrap_or(""),
            probability.as_str(),
            predicted_name,
            correct.as_str(),
        ]);
        text.push('\n');
    }
    text
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("{}: cannot write", path.display()))
}
