//! Prepared images of a run: each goes once through the shared [`Preprocessor`] (content-area
//! crop → centred square → resize to S×S, 8-bit), exactly as `classify` and `eval` prepare
//! frames, and is kept in memory when the whole set fits [`CACHE_BUDGET_BYTES`]; otherwise it
//! is read and prepared again whenever a batch needs it.
//!
//! Threads: preparation runs on the loader's workers. Failure modes: an image that cannot be
//! read or has no image area is reported as a [`BadImage`] by [`Frames::prepare`].

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use image::RgbImage;

use crate::data::images::prepare_one;
use crate::data::{BadImage, DataError, Dataset, Loader, LoaderSettings};
use crate::preprocess::Preprocessor;

/// Prepared images are cached when they take at most this many bytes together.
pub const CACHE_BUDGET_BYTES: usize = 8 << 30;
/// Images per preparation job.
const JOB_SIZE: usize = 16;

/// The prepared S×S images of some dataset samples.
#[derive(Debug)]
pub struct Frames {
    pre: Preprocessor,
    paths: Vec<PathBuf>,
    /// By dataset index; `None` when not cached.
    cache: Vec<Option<RgbImage>>,
}

impl Frames {
    /// Prepares the samples `indices` of `dataset` on `workers` threads (0 = all cores), calling
    /// `progress(n)` as they finish; returns the frames and the images that failed, by index.
    /// Errs only if a worker panicked.
    pub fn prepare(
        dataset: &Dataset,
        indices: &[usize],
        pre: Preprocessor,
        workers: usize,
        progress: impl Fn(usize),
    ) -> Result<(Self, Vec<(usize, BadImage)>), DataError> {
        let s = pre.input_size();
        let cache = indices.len().saturating_mul(3 * s * s) <= CACHE_BUDGET_BYTES;
        if !cache {
            tracing::info!(
                "{} prepared images would take more than {} GiB: preparing them for every batch",
                indices.len(),
                CACHE_BUDGET_BYTES >> 30
            );
        }
        let paths: Vec<PathBuf> = dataset.samples().iter().map(|s| s.path.clone()).collect();
        let shared = Arc::new((pre.clone(), paths.clone()));
        let jobs: Vec<Vec<usize>> = indices.chunks(JOB_SIZE).map(<[usize]>::to_vec).collect();
        let settings = LoaderSettings {
            workers,
            prefetch: 0,
        };
        let loader = Loader::new(jobs, settings, move |job: Vec<usize>| {
            let (pre, paths) = &*shared;
            Ok(job
                .into_iter()
                .map(|i| (i, prepare_one(pre, &paths[i])))
                .collect::<Vec<_>>())
        });
        let mut frames = Self {
            pre,
            paths,
            cache: vec![None; dataset.len()],
        };
        let mut bad = Vec::new();
        for results in loader {
            let results = results?;
            progress(results.len());
            for (i, result) in results {
                match result {
                    Ok(image) if cache => frames.cache[i] = Some(image),
                    Ok(_) => {}
                    Err(b) => bad.push((i, b)),
                }
            }
        }
        Ok((frames, bad))
    }

    /// Side of the square images.
    pub fn input_size(&self) -> usize {
        self.pre.input_size()
    }

    /// The preprocessor (normalization included).
    pub fn preprocessor(&self) -> &Preprocessor {
        &self.pre
    }

    /// The prepared image of dataset sample `index`.
    pub fn get(&self, index: usize) -> Result<Cow<'_, RgbImage>, DataError> {
        match &self.cache[index] {
            Some(image) => Ok(Cow::Borrowed(image)),
            None => prepare_one(&self.pre, &self.paths[index])
                .map(Cow::Owned)
                .map_err(|b| DataError::Image {
                    path: b.path,
                    reason: b.reason,
                }),
        }
    }
}
