//! `endoscan classify`: class probabilities of still images.
//!
//! Images (PNG, JPEG or PPM, recognized by content) go through the shared
//! [`crate::preprocess`] and are classified in batches by [`Classifier`]. Output goes to stdout:
//! a table, or with `--json` an array `[{"path": …, "probs": {class: p, …}}, …]` in the order
//! given; a flagged image of a model with a class-activation map also gets its `finding` (box
//! and peak in image pixels, [`crate::localize`]). An image that cannot be read or has no image area is reported on stderr, naming it,
//! and skipped: the others are still classified and printed, and the exit status is non-zero.
//! A model that cannot be loaded, or a failed inference, stops everything before any output.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;
use image::RgbImage;
use ndarray::{ArrayView3, Axis};

use crate::capture::Frame;
use crate::infer::{model_or_bundled, BackendArgs, Classifier};
use crate::localize::{locate, EvidenceMap, Finding};
use crate::preprocess::{
    normalize_batch, read_rgb, AreaTracker, Crop, FrameStatus, Located, Prepare, Preprocessor,
    TrackerSettings,
};

/// Default images per inference batch.
pub const DEFAULT_BATCH: usize = 8;
/// Largest `--batch` accepted.
pub const MAX_BATCH: usize = 1024;

/// Arguments of `endoscan classify`.
#[derive(Debug, Clone, clap::Args)]
pub struct ClassifyArgs {
    /// Images to classify: PNG, JPEG or binary PPM (recognized by content).
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
    /// ONNX model written by `endoscan export` [default: the bundled models/demo.onnx]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Images per inference batch.
    #[arg(long, default_value_t = DEFAULT_BATCH, value_parser = parse_batch, value_name = "N")]
    pub batch: usize,
    #[command(flatten)]
    pub backend: BackendArgs,
}

fn parse_batch(s: &str) -> Result<usize, String> {
    crate::cli::parse_batch_size(s, MAX_BATCH)
}

/// One classified image.
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    pub path: PathBuf,
    /// Probabilities in the model's class order.
    pub probs: Vec<f32>,
    /// Where the evidence is (image pixels), for a flagged image of a model with a
    /// class-activation map.
    pub finding: Option<Finding>,
}

/// Top-level entry point of `endoscan classify`.
pub fn run(args: &ClassifyArgs) -> anyhow::Result<()> {
    crate::cuda::select::cpu_only(args.backend.preprocess, "classify")?;
    let model = model_or_bundled(args.model.as_deref())?;
    let mut classifier = Classifier::load(&model, &args.backend.options(false))?;
    let (results, failed) = classify_paths(&mut classifier, &args.images, args.batch)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if args.json {
        write_json(&mut out, &classifier, &results)?;
    } else {
        write_table(&mut out, &classifier, &results)?;
    }
    out.flush()?;
    if failed > 0 {
        bail!(
            "{failed} of {} images could not be classified",
            args.images.len()
        );
    }
    Ok(())
}

/// Classifies `paths` in batches; unreadable images are reported on stderr and counted.
pub fn classify_paths(
    classifier: &mut Classifier,
    paths: &[PathBuf],
    batch: usize,
) -> anyhow::Result<(Vec<Classified>, usize)> {
    let pre = classifier.preprocessor().clone();
    let mut results = Vec::with_capacity(paths.len());
    let mut failed = 0;
    for group in paths.chunks(batch.max(1)) {
        let mut ok_paths = Vec::with_capacity(group.len());
        let mut images = Vec::with_capacity(group.len());
        let mut crops = Vec::with_capacity(group.len());
        for path in group {
            match prepare(&pre, path) {
                Ok((image, crop)) => {
                    ok_paths.push(path);
                    images.push(image);
                    crops.push(crop);
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    failed += 1;
                }
            }
        }
        if images.is_empty() {
            continue;
        }
        let squares: Vec<&RgbImage> = images.iter().collect();
        let input = normalize_batch(&squares, pre.normalization())?;
        let out = classifier.classify_with_maps(input.view())?;
        for (i, (path, crop)) in ok_paths.into_iter().zip(&crops).enumerate() {
            let probs = out.probs.row(i).to_vec();
            let finding = match &out.maps {
                Some(maps) if classifier.is_positive(&probs) => {
                    finding_of(maps.index_axis(Axis(0), i), classifier, crop)
                }
                _ => None,
            };
            results.push(Classified {
                path: path.clone(),
                probs,
                finding,
            });
        }
    }
    Ok((results, failed))
}

/// The finding of one image's class-activation map `[classes, h, w]`.
fn finding_of(cam: ArrayView3<'_, f32>, classifier: &Classifier, crop: &Crop) -> Option<Finding> {
    let meta = classifier.metadata();
    EvidenceMap::from_cam(cam, meta.positive).and_then(|m| locate(&m, crop, meta.input_size))
}

/// Reads and prepares one image through the same fail-closed area tracker as video (each
/// still is its own evidence): a damaged file, a white-out or uniform fill, or an image without
/// an endoscopic image area is an error naming the file, never a score. Returns the model input
/// and the square of the image it shows.
fn prepare(pre: &Preprocessor, path: &Path) -> anyhow::Result<(RgbImage, Crop)> {
    let image = read_rgb(path)?;
    let mut tracker = AreaTracker::new(TrackerSettings::still(*pre.area_settings()));
    let mut located = tracker.push(Frame::from_rgb_image(0, Duration::ZERO, image));
    located.extend(tracker.finish());
    let Some(Located {
        frame,
        area,
        status,
    }) = located.pop()
    else {
        bail!("{}: no frame", path.display());
    };
    let Some(area) = area.filter(|_| status == FrameStatus::Ok) else {
        bail!(
            "{}: {}",
            path.display(),
            match status {
                FrameStatus::Saturated => "a saturated white-out, not an endoscopic picture",
                FrameStatus::Uniform => "a uniform fill or menu screen, not an endoscopic picture",
                FrameStatus::Corrupt => "damaged image",
                _ => "no endoscopic image area in the image (it is black or holds only text)",
            }
        );
    };
    let crop = Crop::centred_square(area.bounds());
    Ok((Prepare::prepare(pre, &frame, &area)?, crop))
}

/// A probability as JSON: the shortest decimal that reads back as the same f32.
fn json_number(p: f32) -> serde_json::Value {
    p.to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(serde_json::Value::Null, serde_json::Value::Number)
}

fn write_json(
    out: &mut impl Write,
    classifier: &Classifier,
    results: &[Classified],
) -> anyhow::Result<()> {
    let classes = &classifier.metadata().classes;
    let items: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            let probs: serde_json::Map<String, serde_json::Value> = classes
                .iter()
                .zip(&r.probs)
                .map(|(c, &p)| (c.clone(), json_number(p)))
                .collect();
            let mut item =
                serde_json::json!({ "path": r.path.display().to_string(), "probs": probs });
            if let Some(f) = &r.finding {
                item["finding"] = serde_json::json!(f);
            }
            item
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &items)?;
    writeln!(out)?;
    Ok(())
}

fn write_table(
    out: &mut impl Write,
    classifier: &Classifier,
    results: &[Classified],
) -> anyhow::Result<()> {
    let meta = classifier.metadata();
    let paths: Vec<String> = results
        .iter()
        .map(|r| r.path.display().to_string())
        .collect();
    let path_w = paths
        .iter()
        .map(|p| p.chars().count())
        .chain([5])
        .max()
        .unwrap_or(5);
    let widths: Vec<usize> = meta
        .classes
        .iter()
        .map(|c| c.chars().count().max(6))
        .collect();
    let flag = format!("{} ≥ {}", meta.positive_class(), meta.threshold);
    write!(out, "{:<path_w$}", "image")?;
    for (c, w) in meta.classes.iter().zip(&widths) {
        write!(out, "  {c:>w$}")?;
    }
    writeln!(out, "  {flag}")?;
    for (path, r) in paths.iter().zip(results) {
        write!(out, "{path:<path_w$}")?;
        for (p, w) in r.probs.iter().zip(&widths) {
            write!(out, "  {p:>w$.4}")?;
        }
        let flagged = if classifier.is_positive(&r.probs) {
            "yes"
        } else {
            "no"
        };
        match &r.finding {
            Some(f) => writeln!(
                out,
                "  {flagged}, box {}x{} at {},{}",
                f.width, f.height, f.x, f.y
            )?,
            None => writeln!(out, "  {flagged}")?,
        }
    }
    Ok(())
}
