//! Measures the class-activation-map boxes against synth ground truth (`models/README.md`):
//!
//! * `cargo run --release --example localization -- stills MODEL.onnx DIR` — every cancer still
//!   of an `endoscan synth` folder (`DIR/labels.csv` with lesion boxes) is scored and located;
//! * `cargo run --release --example localization -- video FRAMES.csv GROUND_TRUTH.csv` — the
//!   flagged lesion frames of an `endoscan reprocess` output against the synth video's truth.
//!
//! Prints the pointing-game hit rate (peak inside the lesion box) and the mean IoU of the box,
//! over all lesion frames and over those the model flags.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use endoscan::infer::{Classifier, ClassifierOptions};
use endoscan::localize::tally::{Tally, TruthBox};
use endoscan::localize::{columns, locate, EvidenceMap, Finding};
use endoscan::preprocess::{normalize_batch, read_rgb};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match &args[..] {
        [mode, model, dir] if mode == "stills" => stills(Path::new(model), Path::new(dir)),
        [mode, frames, truth] if mode == "video" => video(Path::new(frames), Path::new(truth)),
        _ => {
            eprintln!("usage: localization stills MODEL.onnx DIR | video FRAMES.csv TRUTH.csv");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Rows of a simple CSV (no quoted commas), the header's column names lower-cased.
fn read_csv(path: &Path) -> anyhow::Result<(Vec<String>, Vec<Vec<String>>)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let mut lines = text.lines();
    let header = lines
        .next()
        .with_context(|| format!("{}: empty", path.display()))?
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    Ok((header, rows))
}

fn column(header: &[String], name: &str, path: &Path) -> anyhow::Result<usize> {
    header
        .iter()
        .position(|h| h == name)
        .with_context(|| format!("{}: no column '{name}'", path.display()))
}

/// The `x,y,w,h` box of a row from column `at` on, if it has one.
fn truth_box(row: &[String], at: usize) -> anyhow::Result<Option<TruthBox>> {
    let fields = &row[at..at + 4];
    if fields.iter().all(|f| f.is_empty()) {
        return Ok(None);
    }
    let mut b = [0.0; 4];
    for (v, f) in b.iter_mut().zip(fields) {
        *v = f.parse().with_context(|| format!("box field '{f}'"))?;
    }
    Ok(Some(b))
}

fn report(what: &str, all: &Tally, flagged: &Tally) {
    println!(
        "{what}: pointing game {:.3} ({}/{}), mean IoU {:.3} over all lesion frames; \
         flagged ones: pointing game {:.3} ({}/{}), mean IoU {:.3}",
        all.pointing_rate(),
        all.hits,
        all.frames,
        all.mean_iou(),
        flagged.pointing_rate(),
        flagged.hits,
        flagged.frames,
        flagged.mean_iou()
    );
}

fn stills(model: &Path, dir: &Path) -> anyhow::Result<()> {
    let mut classifier = Classifier::load(model, &ClassifierOptions::default())?;
    if !classifier.has_maps() {
        bail!(
            "{}: the model has no class-activation map output (re-export it)",
            model.display()
        );
    }
    let meta = classifier.metadata().clone();
    let labels = dir.join("labels.csv");
    let (header, rows) = read_csv(&labels)?;
    let (path_col, label_col, x_col) = (
        column(&header, "path", &labels)?,
        column(&header, "label", &labels)?,
        column(&header, "x", &labels)?,
    );
    let (mut all, mut flagged) = (Tally::default(), Tally::default());
    for row in rows
        .iter()
        .filter(|r| r[label_col] == meta.positive_class())
    {
        let Some(truth) = truth_box(row, x_col)? else {
            continue;
        };
        let file: PathBuf = dir.join(&row[path_col]);
        let image = read_rgb(&file)?;
        let prepared = classifier.preprocessor().prepare(&image)?;
        let input = normalize_batch(&[&prepared.image], meta.normalization)?;
        let out = classifier.classify_with_maps(input.view())?;
        let maps = out.maps.context("the model returned no map")?;
        let p = out.probs[[0, meta.positive]];
        let finding: Option<Finding> =
            EvidenceMap::from_cam(maps.index_axis(ndarray::Axis(0), 0), meta.positive)
                .and_then(|m| locate(&m, &prepared.crop, meta.input_size));
        all.add(finding.as_ref(), &truth);
        if p >= meta.threshold {
            flagged.add(finding.as_ref(), &truth);
        }
    }
    report(&format!("{} stills", dir.display()), &all, &flagged);
    Ok(())
}

fn video(frames: &Path, truth: &Path) -> anyhow::Result<()> {
    let (fh, frame_rows) = read_csv(frames)?;
    let (th, truth_rows) = read_csv(truth)?;
    let (flag_col, box_col) = (
        column(&fh, "flagged", frames)?,
        column(&fh, "box_x", frames)?,
    );
    let (label_col, x_col) = (column(&th, "label", truth)?, column(&th, "x", truth)?);
    if frame_rows.len() != truth_rows.len() {
        bail!(
            "{} has {} frames, {} has {}",
            frames.display(),
            frame_rows.len(),
            truth.display(),
            truth_rows.len()
        );
    }
    let (mut lesion, mut flagged) = (Tally::default(), Tally::default());
    let mut detection = [[0u64; 2]; 2]; // [lesion][flagged]
    for (f, t) in frame_rows.iter().zip(&truth_rows) {
        let truth = truth_box(t, x_col)?.filter(|_| t[label_col] == "cancer");
        detection[usize::from(truth.is_some())][usize::from(f[flag_col] == "1")] += 1;
        let Some(truth) = truth else {
            continue;
        };
        let fields: Vec<&str> = f[box_col..box_col + columns::FIELDS]
            .iter()
            .map(String::as_str)
            .collect();
        let finding = columns::parse(&fields)?;
        lesion.add(finding.as_ref(), &truth);
        if f[flag_col] == "1" {
            flagged.add(finding.as_ref(), &truth);
        }
    }
    let [[tn, fp], [fn_, tp]] = detection;
    println!(
        "{}: {} frames, {} with a lesion; flagged {} ({tp} with a lesion: sensitivity {:.3}; \
         {fp} of {} lesion-free: {:.1} %); frame IoU {:.3}",
        frames.display(),
        tn + fp + fn_ + tp,
        tp + fn_,
        tp + fp,
        tp as f64 / (tp + fn_).max(1) as f64,
        tn + fp,
        100.0 * fp as f64 / (tn + fp).max(1) as f64,
        tp as f64 / (tp + fp + fn_).max(1) as f64
    );
    report(&format!("{}", frames.display()), &lesion, &flagged);
    Ok(())
}
