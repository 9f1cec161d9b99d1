//! SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA
//! 2014): the crate's one small deterministic PRNG. Same seed, same stream, on every platform
//! and release: [`crate::synth`] draws every image and video frame from its own stream, so
//! parallel generation is byte-identical to serial; [`crate::train`] draws splits and
//! augmentations from it, so they are reproducible and resumable.
//!
//! Synth and training fixed their streams independently, and both must stay bit-exact, so a
//! [`Rng`] carries a [`Scheme`] that pins the two things they do differently: how an independent
//! stream is derived from a seed and item ids (`Rng::<Synth>::derive(seed, stream, index)` vs
//! `Rng::<Train>::derive(seed, &[ids])`) and how an integer in `[0, n)` is drawn
//! ([`Scheme::below`]). The state, its step, the output mixer and every other draw are shared;
//! [`crate::synth::rng::Rng`] and [`crate::train::rng::Rng`] name the two instances.

use std::marker::PhantomData;

/// Golden-ratio increment of SplitMix64.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 output function: a bijective 64-bit mixer.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What differs between the crate's two uses of [`Rng`] besides stream derivation (an inherent
/// `derive` of each instance): how a uniform integer below `n` is drawn.
pub trait Scheme: Sized {
    /// Uniform integer in `[0, n)` drawn from `rng`.
    fn below(rng: &mut Rng<Self>, n: u64) -> u64;
}

/// The scheme of [`crate::synth`]: streams keyed by `(seed, stream, index)`, integers by
/// multiply-shift (`n == 0` yields 0).
#[derive(Debug, Clone, Copy)]
pub enum Synth {}

/// The scheme of [`crate::train`]: streams keyed by a seed and a path of ids, integers without
/// modulo bias (Lemire 2019; `n` must be > 0).
#[derive(Debug, Clone, Copy)]
pub enum Train {}

impl Scheme for Synth {
    /// Uniform integer in `[0, n)`; `n == 0` yields 0.
    fn below(rng: &mut Rng<Self>, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Multiply-shift is unbiased enough for picking parameters.
        ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

impl Scheme for Train {
    /// Uniform integer in `0..n` without modulo bias (Lemire 2019); `n` must be > 0.
    fn below(rng: &mut Rng<Self>, n: u64) -> u64 {
        assert!(n > 0, "Rng::below needs a non-empty range");
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(rng.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }
}

/// A SplitMix64 generator under scheme `S`.
#[derive(Debug, Clone)]
pub struct Rng<S> {
    state: u64,
    scheme: PhantomData<S>,
}

impl<S: Scheme> Rng<S> {
    /// A generator seeded directly with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: seed,
            scheme: PhantomData,
        }
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix64(self.state)
    }

    /// Uniform in `[0, 1)` with 24 bits of precision.
    #[inline]
    pub fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// Uniform in `[lo, hi)`.
    #[inline]
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.f32()
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }

    /// Uniform integer in `[0, n)`, drawn as the scheme's [`Scheme::below`].
    pub fn below(&mut self, n: u64) -> u64 {
        S::below(self, n)
    }

    /// Uniform integer in `[lo, hi]`.
    pub fn between(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below(u64::from(hi.saturating_sub(lo)) + 1) as u32
    }

    /// True with probability `p`.
    #[inline]
    pub fn chance(&mut self, p: f32) -> bool {
        self.f32() < p
    }

    /// A random angle in `[0, 2π)`.
    pub fn angle(&mut self) -> f32 {
        self.range(0.0, std::f32::consts::TAU)
    }

    /// A seed for a child generator or noise field.
    pub fn fork(&mut self) -> u64 {
        self.next_u64()
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

impl Rng<Synth> {
    /// An independent stream for item `index` of kind `stream` under `seed`.
    pub fn derive(seed: u64, stream: u64, index: u64) -> Self {
        Self::new(mix64(
            mix64(seed ^ GAMMA).wrapping_add(stream.wrapping_mul(GAMMA)) ^ mix64(index),
        ))
    }
}

impl Rng<Train> {
    /// An independent generator for item `stream` of a run seeded with `seed` (for example one
    /// per image and step), so the result does not depend on which thread draws first.
    pub fn derive(seed: u64, stream: &[u64]) -> Self {
        Self::new(stream.iter().fold(mix64(seed ^ GAMMA), |acc, &s| {
            mix64(acc ^ mix64(s.wrapping_add(GAMMA)))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_splitmix64_reference() {
        // First outputs of SplitMix64 seeded with 1234567 (reference C implementation).
        let mut rng = Rng::<Train>::new(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(rng.next_u64(), 3_203_168_211_198_807_973);
        let mut rng = Rng::<Synth>::new(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
    }

    /// Outputs of the two generators before they were merged into this module: synth frames
    /// and training runs depend on every one of them.
    #[test]
    fn streams_are_pinned() {
        let mut s = Rng::<Synth>::derive(2026, 3, 17);
        let bits: Vec<u64> = (0..3).map(|_| s.next_u64()).collect();
        assert_eq!(
            bits,
            [
                2_289_096_749_708_994_544,
                12_557_637_577_807_363_195,
                12_719_482_569_948_118_716
            ]
        );
        let below: Vec<u64> = (0..3).map(|_| s.below(1000)).collect();
        assert_eq!(below, [865, 566, 708]);
        let between: Vec<u32> = (0..3).map(|_| s.between(7, 99)).collect();
        assert_eq!(between, [40, 94, 20]);
        let unit: Vec<u32> = (0..2).map(|_| s.f32().to_bits()).collect();
        assert_eq!(unit, [1_057_977_512, 1_062_904_032]);
        let mut order: Vec<u32> = (0..10).collect();
        s.shuffle(&mut order);
        assert_eq!(order, [2, 1, 7, 8, 3, 0, 4, 6, 9, 5]);

        let mut t = Rng::<Train>::derive(2026, &[3, 17]);
        let bits: Vec<u64> = (0..3).map(|_| t.next_u64()).collect();
        assert_eq!(
            bits,
            [
                2_948_285_965_859_539_793,
                6_651_934_731_584_390_032,
                13_741_246_345_521_376_748
            ]
        );
        let below: Vec<u64> = (0..3).map(|_| t.below(1000)).collect();
        assert_eq!(below, [809, 403, 763]);
        let unit: Vec<u64> = (0..2).map(|_| t.next_f64().to_bits()).collect();
        assert_eq!(unit, [4_591_464_951_920_977_608, 4_596_347_012_717_942_632]);
        let mut order: Vec<u32> = (0..10).collect();
        t.shuffle(&mut order);
        assert_eq!(order, [8, 7, 0, 5, 6, 2, 1, 9, 4, 3]);
    }

    #[test]
    fn synth_streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4)
            .map(|_| Rng::<Synth>::derive(1, 2, 3).next_u64())
            .collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            Rng::<Synth>::derive(1, 2, 3).next_u64(),
            Rng::<Synth>::derive(1, 2, 4).next_u64()
        );
        assert_ne!(
            Rng::<Synth>::derive(1, 2, 3).next_u64(),
            Rng::<Synth>::derive(2, 2, 3).next_u64()
        );
    }

    #[test]
    fn train_streams_differ_and_repeat() {
        let a = Rng::<Train>::derive(1, &[0, 5]).next_u64();
        assert_eq!(a, Rng::<Train>::derive(1, &[0, 5]).next_u64());
        assert_ne!(a, Rng::<Train>::derive(1, &[5, 0]).next_u64());
        assert_ne!(a, Rng::<Train>::derive(2, &[0, 5]).next_u64());
    }

    #[test]
    fn uniform_ranges_hold() {
        let mut rng = Rng::<Synth>::new(9);
        for _ in 0..10_000 {
            let x = rng.f32();
            assert!((0.0..1.0).contains(&x));
            assert!(rng.below(7) < 7);
            assert!((3..=5).contains(&rng.between(3, 5)));
        }
        assert_eq!(rng.below(0), 0);
    }

    #[test]
    fn unbiased_below_is_uniform_and_in_range() {
        let mut rng = Rng::<Train>::new(7);
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[rng.below(3) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_500..10_500).contains(&c)),
            "{counts:?}"
        );
    }
}
