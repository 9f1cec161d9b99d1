//! The score stage's one trait: every backend (ONNX Runtime on CPU/CUDA/TensorRT, libtorch on
//! CUDA/CPU) turns a normalized batch into positive-class probabilities, and where
//! the model has a class-activation map, into each image's evidence map. Tests and benchmarks
//! plug in their own.

use ndarray::ArrayView4;

use super::{Classifier, InferError};
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
        let maps = match out.maps {
            Some(maps) => Some(
                maps.outer_iter()
                    .map(|cam| EvidenceMap::from_cam(cam, positive))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| InferError::Output {
                        path: self.path().to_path_buf(),
                        problem: "empty class-activation map".to_string(),
                    })?,
            ),
            None => None,
        };
        Ok(Scores {
            p: out.probs.column(positive).to_vec(),
            maps,
        })
    }
}
