//! Lesion-centred patches of an `endoscan synth` still set: a dataset on which a small network
//! learns what synth lesions look like from scratch in minutes, where whole frames (the lesion
//! a few percent of the picture, benign look-alikes beside it) take a from-scratch network far
//! longer. Used by the CI training test and as the first stage of the demo model (then
//! fine-tuned on whole frames, as BiT fine-tunes a pretrained backbone).
//!
//! Input: a synth folder (`labels.csv` with `path,label,patient_id,x,y,w,h`, boxes given for
//! cancer images). Output: `OUT/patches/{cancer,non-cancer}/NNNNNN.png` and `OUT/labels.csv` keeping
//! the patient ids (so splits stay patient-grouped). For a cancer image the patch is a square
//! [`PatchSettings::context`] times the lesion box, around it (jittered by a quarter of the
//! margin); for a non-cancer image a square of a side drawn from the same sizes at a random
//! place in the image area (a benign mimic may be in it). Deterministic for a seed.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::rng::Rng;
use crate::data::{csv, decode_rgb};
use crate::synth::dataset::CANCER;
use crate::synth::layout::ImageArea;
use crate::synth::Layout;

/// How patches are cut.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PatchSettings {
    /// Patch side over the lesion box's longer side.
    pub context: f64,
    /// Smallest patch side in pixels.
    pub min_side: f64,
    pub seed: u64,
}

impl Default for PatchSettings {
    fn default() -> Self {
        Self {
            context: 2.5,
            min_side: 48.0,
            seed: 17,
        }
    }
}

/// Cuts one patch per image of the synth set in `src` (frames of `layout`) into `out`; returns
/// the number written.
pub fn cut(
    src: &Path,
    layout: Layout,
    out: &Path,
    settings: &PatchSettings,
) -> anyhow::Result<usize> {
    let labels = Labels::read(src)?;
    let sides = lesion_sides(&labels, settings)?;
    let mut rng = Rng::new(settings.seed);
    let mut listing = String::from("path,label,patient_id\n");
    for (i, (line, row)) in labels.table.rows.iter().enumerate() {
        let image = decode_rgb(&src.join(&row[labels.path]))?;
        let area = layout.geometry(image.width(), image.height()).area;
        let limit = 2.0 * area.half as f64;
        let (side, cx, cy) = if row[labels.label] == CANCER {
            let b = labels.lesion_box(row, *line)?;
            around_lesion(b, limit, settings, &mut rng)
        } else {
            at_random(sides[i % sides.len()].min(limit), &area, &mut rng)
        };
        let name = format!("patches/{}/{i:06}.png", row[labels.label]);
        save(&crop_square(&image, side, cx, cy), &out.join(&name))?;
        listing += &csv::record([name.as_str(), &row[labels.label], &row[labels.patient]]);
        listing.push('\n');
    }
    let target = out.join("labels.csv");
    std::fs::write(&target, listing)
        .with_context(|| format!("{}: cannot write", target.display()))?;
    Ok(labels.table.rows.len())
}

/// A synth set's `labels.csv` and the columns [`cut`] reads.
struct Labels {
    manifest: PathBuf,
    table: csv::Table,
    path: usize,
    label: usize,
    patient: usize,
    /// Lesion box columns `x, y, w, h`.
    bbox: [usize; 4],
}

impl Labels {
    /// Reads `src/labels.csv`, insisting on the columns synth writes.
    fn read(src: &Path) -> anyhow::Result<Self> {
        let manifest = src.join("labels.csv");
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("{}: cannot read", manifest.display()))?;
        let table =
            csv::Table::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", manifest.display()))?;
        let col = |name: &str| {
            table.column(name).with_context(|| {
                format!(
                    "{}: no column '{name}' (not written by endoscan synth?)",
                    manifest.display()
                )
            })
        };
        let [path, label, patient, x, y, w, h] =
            ["path", "label", "patient_id", "x", "y", "w", "h"].map(col);
        let (path, label, patient) = (path?, label?, patient?);
        let bbox = [x?, y?, w?, h?];
        Ok(Self {
            manifest,
            table,
            path,
            label,
            patient,
            bbox,
        })
    }

    /// The number in column `c` of `row` (at `line`).
    fn number(&self, row: &[String], c: usize, line: usize) -> anyhow::Result<f64> {
        row[c].parse().with_context(|| {
            format!(
                "{}: line {line}: bad box value '{}'",
                self.manifest.display(),
                row[c]
            )
        })
    }

    /// The lesion box `x, y, w, h` of `row` (at `line`).
    fn lesion_box(&self, row: &[String], line: usize) -> anyhow::Result<[f64; 4]> {
        let [x, y, w, h] = self.bbox;
        Ok([
            self.number(row, x, line)?,
            self.number(row, y, line)?,
            self.number(row, w, line)?,
            self.number(row, h, line)?,
        ])
    }
}

/// Patch sides of the cancer images (context times the box's longer side, at least
/// `min_side`), which the non-cancer patches reuse in turn.
fn lesion_sides(labels: &Labels, settings: &PatchSettings) -> anyhow::Result<Vec<f64>> {
    let [_, _, w, h] = labels.bbox;
    let mut sides = Vec::new();
    for (line, row) in &labels.table.rows {
        if row[labels.label] == CANCER {
            let side = labels
                .number(row, w, *line)?
                .max(labels.number(row, h, *line)?);
            sides.push((settings.context * side).max(settings.min_side));
        }
    }
    if sides.is_empty() {
        bail!(
            "{}: no cancer images with lesion boxes",
            labels.manifest.display()
        );
    }
    Ok(sides)
}

/// `(side, cx, cy)` of a patch around lesion box `b`, at most `limit` wide, its centre
/// jittered by a quarter of the margin.
fn around_lesion(
    b: [f64; 4],
    limit: f64,
    settings: &PatchSettings,
    rng: &mut Rng,
) -> (f64, f64, f64) {
    let [bx, by, bw, bh] = b;
    let side = (settings.context * bw.max(bh))
        .max(settings.min_side)
        .min(limit);
    let jitter = (side - bw.max(bh)).max(0.0) / 4.0;
    let (jx, jy) = (rng.uniform(-jitter, jitter), rng.uniform(-jitter, jitter));
    (side, bx + bw / 2.0 + jx, by + bh / 2.0 + jy)
}

/// `(side, cx, cy)` of a patch of `side` at a random place inside `area`.
fn at_random(side: f64, area: &ImageArea, rng: &mut Rng) -> (f64, f64, f64) {
    let reach = (area.half as f64 - side / 2.0).max(0.0) * rng.next_f64().sqrt();
    let angle = rng.uniform(0.0, std::f64::consts::TAU);
    let (cx, cy) = (area.cx as f64, area.cy as f64);
    (side, cx + reach * angle.cos(), cy + reach * angle.sin())
}

/// The square of `side` (whole pixels, within the frame) centred as near `(cx, cy)` as fits.
fn crop_square(image: &image::RgbImage, side: f64, cx: f64, cy: f64) -> image::RgbImage {
    let (fw, fh) = (image.width() as f64, image.height() as f64);
    let side = side.min(fw).min(fh).floor();
    let x0 = (cx - side / 2.0).clamp(0.0, fw - side) as u32;
    let y0 = (cy - side / 2.0).clamp(0.0, fh - side) as u32;
    image::imageops::crop_imm(image, x0, y0, side as u32, side as u32).to_image()
}

/// Writes `patch` to `target`, creating its class folder.
fn save(patch: &image::RgbImage, target: &Path) -> anyhow::Result<()> {
    let folder = target.parent().expect("a file in a class folder");
    std::fs::create_dir_all(folder)
        .with_context(|| format!("{}: cannot create", folder.display()))?;
    patch
        .save(target)
        .with_context(|| format!("{}: cannot write", target.display()))
}
