//! Runs a model over dataset images: decode and preprocess on worker threads (the project's
//! shared [`crate::preprocess`], exactly as deployment), classify batches on the caller's thread
//! in order. Images that fail to read or preprocess are collected, not fatal here.

use std::path::PathBuf;
use std::sync::Arc;

use indicatif::ProgressBar;
use ndarray::Array4;

use crate::data::images::prepare_one;
use crate::data::{BadImage, DataError, Dataset, Loader, LoaderSettings};
use crate::infer::Scorer;
use crate::model::ModelMetadata;
use crate::preprocess::Preprocessor;

/// One image's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// Index into the dataset's samples.
    pub index: usize,
    /// Probability of the positive class.
    pub probability: f32,
}

/// Results of a scoring pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores {
    /// In the order of the requested indices, failed images left out.
    pub scored: Vec<Scored>,
    /// Images that could not be read or preprocessed.
    pub failed: Vec<BadImage>,
}

/// A preprocessed batch.
struct Prepared {
    indices: Vec<usize>,
    input: Array4<f32>,
    failed: Vec<BadImage>,
}

/// Scores `indices` of `dataset` with `model` (described by `meta`: input size, normalization)
/// in batches of `batch` with `workers` preprocessing threads (0 = all cores), advancing
/// `progress` by each batch.
pub fn score(
    model: &mut dyn Scorer,
    meta: &ModelMetadata,
    dataset: &Dataset,
    indices: &[usize],
    batch: usize,
    workers: usize,
    progress: &ProgressBar,
) -> anyhow::Result<Scores> {
    let pre = Arc::new(Preprocessor::for_model(meta)?);
    let paths: Arc<Vec<PathBuf>> =
        Arc::new(dataset.samples().iter().map(|s| s.path.clone()).collect());
    let jobs: Vec<Vec<usize>> = indices
        .chunks(batch.max(1))
        .map(<[usize]>::to_vec)
        .collect();
    let settings = LoaderSettings {
        workers,
        prefetch: 0,
    };
    let loader = Loader::new(jobs, settings, move |job: Vec<usize>| {
        Ok(prepare(&pre, &paths, job))
    });
    let mut out = Scores::default();
    for prepared in loader {
        let prepared: Prepared = prepared.map_err(|e: DataError| anyhow::anyhow!(e))?;
        let n = prepared.indices.len();
        if n > 0 {
            let probs = model.score(prepared.input.view())?;
            anyhow::ensure!(
                probs.len() == n,
                "the model returned {} probabilities for a batch of {n}",
                probs.len()
            );
            out.scored.extend(
                prepared
                    .indices
                    .iter()
                    .zip(probs)
                    .map(|(&index, probability)| Scored { index, probability }),
            );
        }
        progress.inc((n + prepared.failed.len()) as u64);
        out.failed.extend(prepared.failed);
    }
    Ok(out)
}

/// Reads, preprocesses and normalizes the images of one batch.
fn prepare(pre: &Preprocessor, paths: &[PathBuf], job: Vec<usize>) -> Prepared {
    let s = pre.input_size();
    let mut images = Vec::with_capacity(job.len());
    let mut indices = Vec::with_capacity(job.len());
    let mut failed = Vec::new();
    for index in job {
        match prepare_one(pre, &paths[index]) {
            Ok(image) => {
                images.push(image);
                indices.push(index);
            }
            Err(bad) => failed.push(bad),
        }
    }
    let mut input = Array4::<f32>::zeros((images.len(), 3, s, s));
    let data = input
        .as_slice_mut()
        .expect("a freshly allocated array is contiguous");
    for (image, chunk) in images.iter().zip(data.chunks_exact_mut(3 * s * s)) {
        pre.normalize_into(image, chunk)
            .expect("a prepared image is S×S, its chunk 3·S·S");
    }
    Prepared {
        indices,
        input,
        failed,
    }
}
