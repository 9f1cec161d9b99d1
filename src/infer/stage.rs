//! The score stage of every composition: model inputs in frame order → batches → one
//! [`ScoredFrame`] per frame, in order. Frames without an image go through unscored.

use anyhow::Context;
use crossbeam_channel::{Receiver, Sender};
use ndarray::Array4;

use super::{Scorer, Scores};
use crate::localize::{locate, Finding};
use crate::model::Normalization;
use crate::pipeline::StageHandle;
use crate::preprocess::{normalize_into, FrameStatus, ModelInput};

/// One frame's score, with values rounded as they are stored (3 decimals for ms, 6 for
/// probabilities), so a resumed study reads back exactly what an uninterrupted one computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredFrame {
    pub index: u64,
    pub pts_ms: f64,
    /// Positive-class probability; 0 for frames the model did not score.
    pub p: f32,
    /// What became of the frame: only [`FrameStatus::Ok`] frames were scored.
    pub status: FrameStatus,
    /// Where the model's evidence is, in frame pixels, for models with a class-activation
    /// map ([`crate::localize`]); shown only while an alert is on.
    pub finding: Option<Finding>,
}

impl ScoredFrame {
    /// Whether the model scored the frame in a trusted image area.
    pub fn image_area(&self) -> bool {
        self.status == FrameStatus::Ok
    }

    /// The same values rounded as they are written.
    pub fn rounded(self) -> Self {
        Self {
            pts_ms: round_ms(self.pts_ms),
            p: round_p(self.p),
            ..self
        }
    }
}

/// `pts_ms` as written and read back.
pub fn round_ms(ms: f64) -> f64 {
    format!("{ms:.3}")
        .parse()
        .expect("a formatted float parses")
}

/// A probability as written and read back.
pub fn round_p(p: f32) -> f32 {
    format!("{p:.6}").parse().expect("a formatted float parses")
}

/// How the score stage batches and normalizes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchSettings {
    /// Images per model call.
    pub batch: usize,
    pub input_size: usize,
    pub normalization: Normalization,
}

/// The score stage: model inputs from `rx`, scored `batch` images at a time, every frame's
/// [`ScoredFrame`] sent in order to `tx` a batch at a time.
pub fn score_batches(
    stage: &StageHandle<'_>,
    scorer: &mut dyn Scorer,
    settings: BatchSettings,
    rx: &Receiver<ModelInput>,
    tx: &Sender<Vec<ScoredFrame>>,
) -> anyhow::Result<()> {
    let batch = settings.batch.max(1);
    let mut pending: Vec<ModelInput> = Vec::with_capacity(batch);
    let mut images = 0;
    while let Some(item) = stage.recv(rx) {
        images += usize::from(item.image.is_some());
        pending.push(item);
        if images == batch {
            images = 0;
            let rows = stage.work(|| score_batch(scorer, settings, &pending))?;
            stage.count(rows.len() as u64);
            pending.clear();
            if !stage.send(tx, rows) {
                return Ok(());
            }
        }
    }
    if !pending.is_empty() && !stage.stopped() {
        let rows = stage.work(|| score_batch(scorer, settings, &pending))?;
        stage.count(rows.len() as u64);
        stage.send(tx, rows);
    }
    Ok(())
}

/// Normalizes the images of `pending` into one batch, scores it, and returns every pending
/// frame's score in order (frames not scored get 0 and keep their status), with its finding
/// where the model has a class-activation map.
pub fn score_batch(
    scorer: &mut dyn Scorer,
    settings: BatchSettings,
    pending: &[ModelInput],
) -> anyhow::Result<Vec<ScoredFrame>> {
    let s = settings.input_size;
    let scored: Vec<&ModelInput> = pending.iter().filter(|p| p.image.is_some()).collect();
    let mut scores = Scores::default();
    if !scored.is_empty() {
        let mut input = Array4::<f32>::zeros((scored.len(), 3, s, s));
        let flat = input.as_slice_mut().expect("a new array is contiguous");
        for (item, out) in scored.iter().zip(flat.chunks_exact_mut(3 * s * s)) {
            let image = item.image.as_ref().expect("filtered on the image");
            normalize_into(image, settings.normalization, out)?;
        }
        let (first, last) = (pending[0].index, pending[pending.len() - 1].index);
        scores = scorer
            .score_with_maps(input.view())
            .with_context(|| format!("scoring frames {first}..={last}"))?;
        check_scores(&scores, scored.len(), first)?;
    }
    let mut probs = scores.p.into_iter();
    let mut maps = scores.maps.map(Vec::into_iter);
    Ok(pending
        .iter()
        .map(|p| {
            let (prob, finding) = match p.image {
                Some(_) => {
                    let map = maps.as_mut().and_then(Iterator::next);
                    let finding = map
                        .zip(p.crop)
                        .and_then(|(map, crop)| locate(&map, &crop, s));
                    (probs.next().expect("one score per image"), finding)
                }
                None => (0.0, None),
            };
            ScoredFrame {
                index: p.index,
                pts_ms: p.pts_ms,
                p: prob,
                status: p.status,
                finding,
            }
            .rounded()
        })
        .collect())
}

/// One probability in `[0, 1]` (and one map, if any) per image.
fn check_scores(scores: &Scores, images: usize, first: u64) -> anyhow::Result<()> {
    if scores.p.len() != images {
        anyhow::bail!(
            "the model returned {} scores for {images} frames",
            scores.p.len()
        );
    }
    if let Some(maps) = scores.maps.as_ref().filter(|m| m.len() != images) {
        anyhow::bail!(
            "the model returned {} activation maps for {images} frames",
            maps.len()
        );
    }
    if let Some(bad) = scores.p.iter().find(|p| !(0.0..=1.0).contains(*p)) {
        anyhow::bail!("the model returned probability {bad} for a frame near {first}");
    }
    Ok(())
}
