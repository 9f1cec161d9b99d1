//! The score stage's one trait: every backend (ONNX Runtime on CPU/CUDA/TensorRT today,
//! libtorch CUDA next) turns a normalized batch into positive-class probabilities. Tests and
//! benchmarks plug in their own.

use ndarray::ArrayView4;

use super::Classifier;

/// Scores normalized `[N, 3, S, S]` batches.
pub trait Scorer: Send {
    /// One positive-class probability per image, in batch order.
    fn score(&mut self, batch: ArrayView4<'_, f32>) -> anyhow::Result<Vec<f32>>;
}

impl Scorer for Classifier {
    fn score(&mut self, batch: ArrayView4<'_, f32>) -> anyhow::Result<Vec<f32>> {
        let positive = self.metadata().positive;
        let probs = self.classify_batch(batch)?;
        Ok(probs.column(positive).to_vec())
    }
}
