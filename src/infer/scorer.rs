//! The score stage's one trait: every backend (ONNX Runtime on CPU/CUDA/TensorRT, libtorch on
//! CUDA/CPU) turns a normalized batch into positive-class probabilities, and where
//! the model has a class-activation map, into each image's evidence map. Tests and benchmarks
//! plug in their own.

use std::path::Path;

use ndarray::ArrayView4;

use super::{Classifier, InferError};
use crate::cuda::prepare::DeviceBatch;
use crate::localize::EvidenceMap;

/// One batch's scores, in batch order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scores {
    /// Positive-class probability per image.
    pub p: Vec<f32>,
    /// Positive-class evidence map per image, for models that have one.
    pub maps: Option<Vec<EvidenceMap>>,
}

/// Scores normalized `[N, 3, S, S]` batches.
pub trait Scorer: Send {
    /// One positive-class probability per image, in batch order.
    fn score(&mut self, batch: ArrayView4<'_, f32>) -> anyhow::Result<Vec<f32>>;

    /// The probabilities with each image's evidence map where the model has them (by
    /// default it has none).
    fn score_with_maps(&mut self, batch: ArrayView4<'_, f32>) -> anyhow::Result<Scores> {
        Ok(Scores {
            p: self.score(batch)?,
            maps: None,
        })
    }

    /// Scores a batch the CUDA prepare stage left on the GPU, without a trip through host
    /// memory; `None` when this scorer takes host batches only (the caller copies instead).
    fn score_device(&mut self, _batch: &DeviceBatch) -> anyhow::Result<Option<Scores>> {
        Ok(None)
    }
}

impl Scorer for Classifier {
    fn score(&mut self, batch: ArrayView4<'_, f32>) -> anyhow::Result<Vec<f32>> {
        let positive = self.metadata().positive;
        let probs = self.classify_batch(batch)?;
        Ok(probs.column(positive).to_vec())
    }

    fn score_with_maps(&mut self, batch: ArrayView4<'_, f32>) -> anyhow::Result<Scores> {
        let positive = self.metadata().positive;
        let out = self.classify_with_maps(batch)?;
        let maps = out
            .maps
            .map(|cams| evidence_maps(cams.view(), positive, self.path()))
            .transpose()?;
        Ok(Scores {
            p: out.probs.column(positive).to_vec(),
            maps,
        })
    }
}

/// Each image's positive-class evidence map of class-activation maps `[N, classes, h, w]`;
/// an error naming `model` when a map is empty (never a dropped map).
pub(crate) fn evidence_maps(
    cams: ArrayView4<'_, f32>,
    positive: usize,
    model: &Path,
) -> Result<Vec<EvidenceMap>, InferError> {
    cams.outer_iter()
        .map(|cam| EvidenceMap::from_cam(cam, positive))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| InferError::Output {
            path: model.to_path_buf(),
            problem: "empty class-activation map".to_string(),
        })
}
