//! What `bench gpu` measured: rows per model × precision, written as `bench.json` (read by
//! the peer, `scripts/torch-peer.py`) and `bench.md`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use super::{max_abs_diff, Latency};
use crate::infer::ExecutionProvider;

/// Model-only latency at one batch size.
#[derive(Debug, Clone, Serialize)]
pub struct BatchTiming {
    pub batch: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Images per second at the median latency.
    pub images_per_s: f64,
}

impl BatchTiming {
    /// The timing of `batch` images per call.
    pub fn new(batch: usize, latency: Latency) -> Self {
        Self {
            batch,
            p50_ms: latency.p50_ms,
            p99_ms: latency.p99_ms,
            images_per_s: batch as f64 / (latency.p50_ms / 1e3),
        }
    }
}

/// One 1080p host frame → probability.
#[derive(Debug, Clone, Serialize)]
pub struct EndToEnd {
    /// Which prepare stage ran.
    pub preprocess: String,
    #[serde(flatten)]
    pub latency: Latency,
    /// |Δp| of the device-resident input against the host-input path on the same frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_vs_host_dp: Option<f32>,
}

/// One model at one precision.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The variant, or the model file's name.
    pub model: String,
    pub variant: String,
    pub precision: String,
    /// `nchw`, or `nhwc` (channels-last kernels and inputs).
    pub layout: String,
    /// Largest |Δp| against the CPU f32 reference on the same images.
    pub max_abs_dp: f32,
    pub bound: f32,
    pub pass: bool,
    pub timings: Vec<BatchTiming>,
    pub end_to_end: EndToEnd,
    /// The probabilities of the agreement batch (for fp16 against fp32).
    #[serde(skip)]
    pub(super) probe: Vec<f32>,
}

impl Row {
    /// The batch size with the most images per second.
    pub fn best(&self) -> Option<&BatchTiming> {
        self.timings
            .iter()
            .max_by(|a, b| a.images_per_s.total_cmp(&b.images_per_s))
    }
}

/// One timed training configuration.
#[derive(Debug, Clone, Serialize)]
pub struct TrainRow {
    pub variant: String,
    pub precision: String,
    pub batch: usize,
    /// Whether this is the largest batch that fit (`max`).
    pub largest: bool,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub images_per_s: f64,
}

/// fp16 against fp32 on the same images, per model.
#[derive(Debug, Clone, Serialize)]
pub struct PrecisionGap {
    pub model: String,
    pub max_abs_dp: f32,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub date: String,
    pub provider: String,
    pub input_size: usize,
    pub runs: usize,
    pub rows: Vec<Row>,
    pub fp16_vs_fp32: Vec<PrecisionGap>,
    /// Training steps (`--train`), timed `train_runs` times each.
    pub training: Vec<TrainRow>,
    pub train_runs: usize,
    /// What was asked for and not run, and why.
    pub skipped: Vec<String>,
}

impl Report {
    /// An empty report of a run on `provider` at `input_size`², `runs` timed calls each.
    pub fn new(provider: ExecutionProvider, input_size: usize, runs: usize) -> Self {
        Self {
            date: crate::util::clock::utc_now(),
            provider: provider.to_string(),
            input_size,
            runs,
            rows: Vec::new(),
            fp16_vs_fp32: Vec::new(),
            training: Vec::new(),
            train_runs: 0,
            skipped: Vec::new(),
        }
    }

    /// Adds a row; the second precision of a model also adds its fp16-vs-fp32 gap.
    pub fn push(&mut self, row: Row) {
        let other = self.rows.iter().find(|r| {
            r.model == row.model && r.layout == row.layout && r.precision != row.precision
        });
        if let Some(other) = other {
            self.fp16_vs_fp32.push(PrecisionGap {
                model: format!("{} {}", row.model, row.layout),
                max_abs_dp: max_abs_diff(&other.probe, &row.probe),
            });
        }
        self.rows.push(row);
    }

    /// Whether every row is within its bound.
    pub fn all_pass(&self) -> bool {
        self.rows.iter().all(|r| r.pass)
    }

    /// Writes `bench.json` and `bench.md` into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let json = dir.join("bench.json");
        std::fs::write(&json, serde_json::to_string_pretty(self)?)
            .with_context(|| format!("{}: cannot write", json.display()))?;
        let md = dir.join("bench.md");
        std::fs::write(&md, self.markdown())
            .with_context(|| format!("{}: cannot write", md.display()))?;
        Ok(())
    }

    /// The tables.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# bench gpu: {} at {}², {} ({} timed calls each)\n",
            self.provider, self.input_size, self.date, self.runs
        );
        let _ = writeln!(s, "| model | precision | layout | max Δp vs CPU f32 | bound | batch | p50 ms | p99 ms | images/s |");
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
        for r in &self.rows {
            let fail = if r.pass { "" } else { " **FAIL**" };
            for t in &r.timings {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {:.2e} | {:.0e}{fail} | {} | {:.3} | {:.3} | {:.0} |",
                    r.model,
                    r.precision,
                    r.layout,
                    r.max_abs_dp,
                    r.bound,
                    t.batch,
                    t.p50_ms,
                    t.p99_ms,
                    t.images_per_s
                );
            }
        }
        let _ = writeln!(s, "\n| model | precision | layout | best batch | images/s | end to end (1080p frame → p) p50 ms | p99 ms | preprocess |");
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
        for r in &self.rows {
            let (batch, rate) = r.best().map_or((0, 0.0), |b| (b.batch, b.images_per_s));
            let e = &r.end_to_end;
            let device = e.device_vs_host_dp.map_or(String::new(), |dp| {
                format!("; device vs host input max |Δp| {dp:.2e}")
            });
            let _ = writeln!(
                s,
                "| {} | {} | {} | {batch} | {rate:.0} | {:.3} | {:.3} | {}{device} |",
                r.model, r.precision, r.layout, e.latency.p50_ms, e.latency.p99_ms, e.preprocess
            );
        }
        for gap in &self.fp16_vs_fp32 {
            let _ = writeln!(
                s,
                "\n{}: fp16 vs fp32 max |Δp| {:.2e}",
                gap.model, gap.max_abs_dp
            );
        }
        if !self.training.is_empty() {
            let _ = writeln!(
                s,
                "\n| training step | precision | batch | p50 ms | p99 ms | images/s |"
            );
            let _ = writeln!(s, "|---|---|---|---|---|---|");
            for t in &self.training {
                let largest = if t.largest {
                    " (largest that fits)"
                } else {
                    ""
                };
                let _ = writeln!(
                    s,
                    "| {} | {} | {}{largest} | {:.1} | {:.1} | {:.1} |",
                    t.variant, t.precision, t.batch, t.p50_ms, t.p99_ms, t.images_per_s
                );
            }
            let _ = writeln!(
                s,
                "\nmax: the largest of 4, 8, 16, … 256 images whose step ran."
            );
        }
        for why in &self.skipped {
            let _ = writeln!(s, "\nnot run: {why}");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(precision: &str, dp: f32, probe: Vec<f32>) -> Row {
        let latency = |ms| Latency {
            p50_ms: ms,
            p99_ms: ms * 1.5,
        };
        Row {
            model: "r50x1".into(),
            variant: "r50x1".into(),
            precision: precision.into(),
            layout: "nchw".into(),
            max_abs_dp: dp,
            bound: 1e-3,
            pass: dp <= 1e-3,
            timings: vec![
                BatchTiming::new(1, latency(2.0)),
                BatchTiming::new(8, latency(8.0)),
                BatchTiming::new(32, latency(40.0)),
            ],
            end_to_end: EndToEnd {
                preprocess: "cpu".into(),
                latency: latency(3.0),
                device_vs_host_dp: None,
            },
            probe,
        }
    }

    #[test]
    fn the_second_precision_of_a_model_adds_its_gap_and_a_failure_shows() {
        let mut report = Report::new(ExecutionProvider::TorchCuda, 384, 50);
        report.push(row("fp16", 5e-3, vec![0.25, 0.75]));
        assert!(report.fp16_vs_fp32.is_empty());
        report.push(row("fp32", 0.0, vec![0.5, 0.75]));
        assert_eq!(report.fp16_vs_fp32.len(), 1);
        assert_eq!(report.fp16_vs_fp32[0].max_abs_dp, 0.25);
        assert!(!report.all_pass());
        // 8 images in 8 ms beat 1 in 2 ms and 32 in 40 ms.
        assert_eq!(report.rows[0].best().unwrap().batch, 8);
        assert_eq!(report.rows[0].timings[1].images_per_s, 1000.0);
        let md = report.markdown();
        assert!(
            md.contains("| r50x1 | fp16 | nchw | 5.00e-3 | 1e-3 **FAIL** | 1 |"),
            "{md}"
        );
        assert!(
            md.contains("| r50x1 | fp32 | nchw | 8 | 1000 | 3.000 | 4.500 | cpu |"),
            "{md}"
        );
        assert!(
            md.contains("r50x1 nchw: fp16 vs fp32 max |Δp| 2.50e-1"),
            "{md}"
        );
    }
}
