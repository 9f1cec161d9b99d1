//! [`Sampler`]: which samples make up each training step.

use super::rng::Rng;

/// Which samples make up each training step: successive epochs, each a fresh seeded
/// permutation, cut into batches. Step `s` is a pure function of (seed, `s`), so a resumed run
/// sees exactly the batches an uninterrupted one would.
#[derive(Debug, Clone)]
pub struct Sampler {
    len: usize,
    batch: usize,
    seed: u64,
}

/// Stream id of epoch permutations in [`Rng::derive`].
const EPOCH_STREAM: u64 = 0x45_50_4f_43_48; // "EPOCH"

impl Sampler {
    /// A sampler over `len` samples; `None` if `len` or `batch` is 0.
    pub fn new(len: usize, batch: usize, seed: u64) -> Option<Self> {
        (len > 0 && batch > 0).then_some(Self { len, batch, seed })
    }

    /// The permutation of epoch `epoch`.
    pub fn epoch_order(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len).collect();
        Rng::derive(self.seed, &[EPOCH_STREAM, epoch]).shuffle(&mut order);
        order
    }

    /// Sample indices of step `step`: positions `step·B .. (step+1)·B` of the epoch stream.
    pub fn batch(&self, step: u64) -> Vec<usize> {
        let start = step as u128 * self.batch as u128;
        let mut out = Vec::with_capacity(self.batch);
        let mut epoch = (start / self.len as u128) as u64;
        let mut offset = (start % self.len as u128) as usize;
        let mut order = self.epoch_order(epoch);
        while out.len() < self.batch {
            if offset == self.len {
                epoch += 1;
                offset = 0;
                order = self.epoch_order(epoch);
            }
            let take = (self.batch - out.len()).min(self.len - offset);
            out.extend_from_slice(&order[offset..offset + take]);
            offset += take;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampler_walks_epochs_deterministically() {
        let s = Sampler::new(5, 3, 9).unwrap();
        let first: Vec<usize> = (0..5).flat_map(|step| s.batch(step)).collect();
        // 15 draws = 3 whole epochs, each a permutation of 0..5.
        for epoch in first.chunks(5) {
            let mut e = epoch.to_vec();
            e.sort_unstable();
            assert_eq!(e, vec![0, 1, 2, 3, 4]);
        }
        assert_eq!(s.batch(3), Sampler::new(5, 3, 9).unwrap().batch(3));
        assert_ne!(s.epoch_order(0), s.epoch_order(1));
        assert_eq!(Sampler::new(2, 7, 1).unwrap().batch(0).len(), 7);
        assert!(Sampler::new(0, 3, 1).is_none());
    }
}
