//! Training and validation batches as normalized NCHW f32 plus labels.
//!
//! Step `s` of a run is a pure function of (seed, `s`): the samples come from
//! [`Sampler::batch`], and the augmentation of slot `k` draws from its own
//! `Rng::derive(seed, [AUGMENT_STREAM, s, k])`, so a resumed run and an uninterrupted one see the
//! same pixels whatever the thread count. Augmentation is the recipe's `SomeOf` on the prepared
//! 8-bit square, before normalization (as imgaug works on uint8 images).

use std::sync::Arc;

use super::augment::Augmenter;
use super::frames::Frames;
use super::rng::Rng;
use super::sampler::Sampler;
use crate::data::DataError;

/// Stream id of the per-image augmentation in [`Rng::derive`].
pub const AUGMENT_STREAM: u64 = 0x41_55_47_4d; // "AUGM"

/// One batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The step it belongs to (0 for validation batches).
    pub step: u64,
    /// Positions of its samples in the list the maker was given.
    pub positions: Vec<usize>,
    /// `[n, 3, S, S]` normalized pixels, empty when the maker makes labels only.
    pub images: Vec<f32>,
    /// Class index per sample.
    pub labels: Vec<i64>,
}

impl Batch {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Makes the batches of one subset.
#[derive(Debug)]
pub struct BatchMaker {
    frames: Arc<Frames>,
    /// Dataset index of every sample of the subset.
    samples: Vec<usize>,
    labels: Vec<i64>,
    sampler: Sampler,
    augmenter: Option<Augmenter>,
    seed: u64,
    /// Whether batches carry pixels (false: local mode on cached features needs labels only).
    pixels: bool,
}

impl BatchMaker {
    /// A maker over `samples` (dataset indices) with their `labels`; `None` if empty.
    pub fn new(
        frames: Arc<Frames>,
        samples: Vec<usize>,
        labels: Vec<i64>,
        batch: usize,
        seed: u64,
        augmenter: Option<Augmenter>,
    ) -> Option<Self> {
        let sampler = Sampler::new(samples.len(), batch, seed)?;
        Some(Self {
            frames,
            samples,
            labels,
            sampler,
            augmenter,
            seed,
            pixels: true,
        })
    }

    /// Batches carry positions and labels only.
    pub fn labels_only(mut self) -> Self {
        self.pixels = false;
        self
    }

    /// The batch of training step `step`.
    pub fn make(&self, step: u64) -> Result<Batch, DataError> {
        let positions = self.sampler.batch(step);
        let labels = positions.iter().map(|&p| self.labels[p]).collect();
        let images = if self.pixels {
            self.pixels_of(&positions, |slot| {
                Rng::derive(self.seed, &[AUGMENT_STREAM, step, slot as u64])
            })?
        } else {
            Vec::new()
        };
        Ok(Batch {
            step,
            positions,
            images,
            labels,
        })
    }

    /// Unaugmented batches over every sample in order (validation, feature caching).
    pub fn in_order(&self, batch: usize) -> impl Iterator<Item = Result<Batch, DataError>> + '_ {
        let positions: Vec<usize> = (0..self.samples.len()).collect();
        let chunks: Vec<Vec<usize>> = positions
            .chunks(batch.max(1))
            .map(<[usize]>::to_vec)
            .collect();
        chunks.into_iter().map(move |positions| {
            let labels = positions.iter().map(|&p| self.labels[p]).collect();
            let images = self.plain_pixels(&positions)?;
            Ok(Batch {
                step: 0,
                positions,
                images,
                labels,
            })
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether there are no samples (never: [`Self::new`] refuses them).
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Class index of every sample, in order.
    pub fn labels(&self) -> &[i64] {
        &self.labels
    }

    fn plain_pixels(&self, positions: &[usize]) -> Result<Vec<f32>, DataError> {
        let s = self.frames.input_size();
        let mut out = vec![0f32; positions.len() * 3 * s * s];
        for (&p, chunk) in positions.iter().zip(out.chunks_exact_mut(3 * s * s)) {
            let image = self.frames.get(self.samples[p])?;
            self.normalize(&image, chunk);
        }
        Ok(out)
    }

    fn pixels_of(
        &self,
        positions: &[usize],
        rng_of: impl Fn(usize) -> Rng,
    ) -> Result<Vec<f32>, DataError> {
        let Some(augmenter) = &self.augmenter else {
            return self.plain_pixels(positions);
        };
        let s = self.frames.input_size();
        let mut out = vec![0f32; positions.len() * 3 * s * s];
        for (slot, (&p, chunk)) in positions
            .iter()
            .zip(out.chunks_exact_mut(3 * s * s))
            .enumerate()
        {
            let image = self.frames.get(self.samples[p])?.into_owned();
            let image = augmenter.augment(image, &mut rng_of(slot));
            self.normalize(&image, chunk);
        }
        Ok(out)
    }

    fn normalize(&self, image: &image::RgbImage, out: &mut [f32]) {
        self.frames
            .preprocessor()
            .normalize_into(image, out)
            .expect("a prepared image is S×S and its chunk 3·S·S");
    }
}
