//! The score stage of every composition: model inputs in frame order → batches → one
//! [`ScoredFrame`] per frame, in order. Frames without an image go through unscored.

use anyhow::Context;
use crossbeam_channel::{Receiver, Sender};
use ndarray::Array4;

use super::Scorer;
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
/// frame's score in order (frames not scored get 0 and keep their status).
pub fn score_batch(
    scorer: &mut dyn Scorer,
    settings: BatchSettings,
    pending: &[ModelInput],
) -> anyhow::Result<Vec<ScoredFrame>> {
    let s = settings.input_size;
    let images: Vec<&image::RgbImage> = pending.iter().filter_map(|p| p.image.as_ref()).collect();
    let mut probs = Vec::new();
    if !images.is_empty() {
        let mut input = Array4::<f32>::zeros((images.len(), 3, s, s));
        let flat = input.as_slice_mut().expect("a new array is contiguous");
        for (img, out) in images.iter().zip(flat.chunks_exact_mut(3 * s * s)) {
            normalize_into(img, settings.normalization, out)?;
        }
        let (first, last) = (pending[0].index, pending[pending.len() - 1].index);
        probs = scorer
            .score(input.view())
            .with_context(|| format!("scoring frames {first}..={last}"))?;
        if probs.len() != images.len() {
            anyhow::bail!(
                "the model returned {} scores for {} frames",
                probs.len(),
                images.len()
            );
        }
        if let Some(bad) = probs.iter().find(|p| !(0.0..=1.0).contains(*p)) {
            anyhow::bail!("the model returned probability {bad} for a frame near {first}");
        }
    }
    let mut probs = probs.into_iter();
    Ok(pending
        .iter()
        .map(|p| {
            let prob = match p.image {
                Some(_) => probs.next().expect("one score per image"),
                None => 0.0,
            };
            ScoredFrame {
                index: p.index,
                pts_ms: p.pts_ms,
                p: prob,
                status: p.status,
            }
            .rounded()
        })
        .collect())
}
