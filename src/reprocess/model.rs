//! What the scoring stage needs from a model: positive-class probabilities of a normalized
//! batch. The ONNX [`Classifier`] is the real one; tests and benchmarks may plug in others.

use ndarray::ArrayView4;

use crate::infer::Classifier;

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
