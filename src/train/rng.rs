//! The generator of training: the crate's deterministic SplitMix64 [`crate::rng::Rng`] under the
//! [`Train`](crate::rng::Train) scheme: same seed, same stream, on every platform and release,
//! so splits and augmentations are reproducible and resumable.

/// A SplitMix64 generator with training's stream derivation and unbiased integer draws.
pub type Rng = crate::rng::Rng<crate::rng::Train>;
