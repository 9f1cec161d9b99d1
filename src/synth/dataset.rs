//! Still images in ImageFolder layout, `images/{cancer,non-cancer}/synth_NNNNNN.png`, and
//! `labels.csv`, rendered in parallel with one RNG stream per image so the bytes do not
//! depend on scheduling.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyhow::Context;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::ImageEncoder;
use indicatif::ProgressBar;

use super::config::Config;
use super::frame::render_still;
use super::layout::FrameGeometry;
use super::panel::Patient;
use super::rng::Rng;

/// Seed stream of the dataset plan (labels and patients).
const STREAM_PLAN: u64 = 3;
/// Class folder names, which are also the labels.
pub const CANCER: &str = "cancer";
/// See [`CANCER`].
pub const NON_CANCER: &str = "non-cancer";
/// Header of `labels.csv`.
pub const LABELS_HEADER: &str = "path,label,patient_id,x,y,w,h";

/// Which images show a lesion and whose they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Per image: has a lesion.
    pub lesion: Vec<bool>,
    /// Per image: patient id (consecutive runs of 2–6 images).
    pub patient: Vec<u32>,
}

impl Plan {
    /// Exactly `round(n × fraction)` positives at random positions.
    pub fn new(seed: u64, n: u32, fraction: f64) -> Self {
        let mut rng = Rng::derive(seed, STREAM_PLAN, 0);
        let positives = ((f64::from(n) * fraction).round() as usize).min(n as usize);
        let mut order: Vec<usize> = (0..n as usize).collect();
        rng.shuffle(&mut order);
        let mut lesion = vec![false; n as usize];
        for &i in &order[..positives] {
            lesion[i] = true;
        }
        let mut patient = Vec::with_capacity(n as usize);
        let mut id = 1;
        while patient.len() < n as usize {
            let run = rng.between(2, 6) as usize;
            patient.extend(std::iter::repeat_n(id, run.min(n as usize - patient.len())));
            id += 1;
        }
        Self { lesion, patient }
    }
}

/// Counts of what was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Images with a lesion.
    pub cancer: u32,
    /// Images without.
    pub non_cancer: u32,
}

/// Renders and writes all still images and `labels.csv` under `cfg.out`.
pub fn write_images(cfg: &Config, progress: &ProgressBar) -> anyhow::Result<Written> {
    for dir in [CANCER, NON_CANCER].map(|label| cfg.out.join("images").join(label)) {
        std::fs::create_dir_all(&dir).with_context(|| {
            format!(
                "--out {}: cannot create {}",
                cfg.out.display(),
                dir.display()
            )
        })?;
        remove_stale(&dir)?;
    }
    let plan = Plan::new(cfg.seed, cfg.images, cfg.positive_fraction);
    let rows = render_all(cfg, &plan, progress)?;
    write_labels(&cfg.out.join("labels.csv"), &rows)?;
    let cancer = plan.lesion.iter().filter(|&&l| l).count() as u32;
    Ok(Written {
        cancer,
        non_cancer: cfg.images - cancer,
    })
}

/// Renders and writes the images of `plan` on all cores; returns their `labels.csv` rows in
/// image order. The first error stops the other workers.
fn render_all(cfg: &Config, plan: &Plan, progress: &ProgressBar) -> anyhow::Result<Vec<String>> {
    let geometry = cfg.layout.geometry(cfg.width, cfg.height);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(cfg.images.max(1) as usize);
    let worker = || -> anyhow::Result<Vec<(usize, String)>> {
        let mut rows = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= plan.lesion.len() || failed.load(Ordering::Relaxed) {
                return Ok(rows);
            }
            match write_one(cfg, &geometry, plan, i) {
                Ok(row) => rows.push((i, row)),
                Err(err) => {
                    failed.store(true, Ordering::Relaxed);
                    return Err(err);
                }
            }
            progress.inc(1);
        }
    };
    let results: Vec<anyhow::Result<Vec<(usize, String)>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(worker)).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("an image worker panicked")))
            })
            .collect()
    });
    let mut rows = Vec::with_capacity(plan.lesion.len());
    for result in results {
        rows.extend(result?);
    }
    rows.sort_unstable_by_key(|(i, _)| *i);
    Ok(rows.into_iter().map(|(_, row)| row).collect())
}

/// Renders image `i` of `plan`, writes its PNG and returns its `labels.csv` row.
fn write_one(
    cfg: &Config,
    geometry: &FrameGeometry,
    plan: &Plan,
    i: usize,
) -> anyhow::Result<String> {
    let patient = Patient::fake(cfg.seed, plan.patient[i]);
    let frame = render_still(
        cfg.layout,
        geometry,
        cfg.seed,
        i as u64,
        plan.lesion[i],
        &patient,
    );
    let label = if plan.lesion[i] { CANCER } else { NON_CANCER };
    let rel = format!("images/{label}/synth_{i:06}.png");
    write_png(&cfg.out.join(&rel), &frame.image)?;
    let bbox = frame.lesion.map_or_else(
        || ",,,".to_owned(),
        |r| format!("{},{},{},{}", r.x, r.y, r.w, r.h),
    );
    Ok(format!("{rel},{label},{},{bbox}", patient.label()))
}

/// Writes `labels.csv` ([`LABELS_HEADER`] and `rows`).
fn write_labels(path: &Path, rows: &[String]) -> anyhow::Result<()> {
    let mut csv = String::with_capacity(64 * (rows.len() + 1));
    csv.push_str(LABELS_HEADER);
    csv.push('\n');
    for row in rows {
        csv.push_str(row);
        csv.push('\n');
    }
    std::fs::write(path, csv).with_context(|| format!("{}: cannot write", path.display()))
}

/// Encodes `img` as PNG (fast deflate; deterministic) and writes it to `path`.
pub fn write_png(path: &Path, img: &image::RgbImage) -> anyhow::Result<()> {
    let mut bytes = Vec::with_capacity(img.as_raw().len() / 2);
    PngEncoder::new_with_quality(&mut bytes, CompressionType::Fast, FilterType::Adaptive)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .with_context(|| format!("{}: cannot encode PNG", path.display()))?;
    std::fs::write(path, bytes).with_context(|| format!("{}: cannot write", path.display()))
}

/// Removes `synth_NNNNNN.png` files left by an earlier run, so the folder matches
/// `labels.csv`; other files are left alone.
fn remove_stale(dir: &Path) -> anyhow::Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("{}: cannot list", dir.display()))?
            .path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let digits = name
            .strip_prefix("synth_")
            .and_then(|n| n.strip_suffix(".png"));
        if digits.is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())) {
            std::fs::remove_file(&path)
                .with_context(|| format!("{}: cannot remove stale image", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_has_exact_positives_and_grouped_patients() {
        let plan = Plan::new(3, 50, 0.3);
        assert_eq!(plan.lesion.iter().filter(|&&l| l).count(), 15);
        assert_eq!(plan.patient.len(), 50);
        assert!(plan
            .patient
            .windows(2)
            .all(|w| w[1] == w[0] || w[1] == w[0] + 1));
        assert!(plan.patient[49] < 25);
        assert_eq!(plan, Plan::new(3, 50, 0.3));
        assert_eq!(Plan::new(3, 0, 0.3).lesion.len(), 0);
    }
}
