//! The generator of synth: the crate's SplitMix64 [`crate::rng::Rng`] under the
//! [`Synth`](crate::rng::Synth) scheme. Every image and video frame draws from its own stream
//! derived from `(seed, stream, index)`, so parallel generation is byte-identical to serial.

/// A SplitMix64 generator with synth's stream derivation and integer draws.
pub type Rng = crate::rng::Rng<crate::rng::Synth>;
