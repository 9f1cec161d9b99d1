//! Training on the datasets of [`crate::data`]; recipe rules free of `tch` so they build and test
//! without libtorch: [`sampler`] (the samples of every step), [`augment`] (the recipe's imgaug
//! `SomeOf`), [`schedule`] (learning-rate rules) and [`rng`] (the deterministic PRNG they share).
//!
//! `endoscan train` itself: [`args`] (arguments, validated configuration), [`frames`] and
//! [`batch`] (prepared images, augmented batches), [`threshold`], [`record`] (`run.json`),
//! [`progress`] and [`patches`] (lesion patches of synth stills) build without libtorch; the
//! loop needs the `train` feature: [`run`] (entry point), [`start`] (new or resumed run),
//! [`setup`], [`steps`] (the step loop), [`trainer`], [`sgd`], [`amp`], [`checkpoint`] and
//! [`finish`].

#[cfg(feature = "train")]
pub mod amp;
pub mod args;
pub mod augment;
pub mod batch;
#[cfg(feature = "train")]
pub mod checkpoint;
mod choices;
#[cfg(feature = "train")]
pub mod finish;
pub mod frames;
pub mod patches;
pub mod progress;
pub mod record;
pub mod rng;
#[cfg(feature = "train")]
pub mod run;
pub mod sampler;
pub mod schedule;
#[cfg(feature = "train")]
pub mod setup;
#[cfg(feature = "train")]
pub mod sgd;
#[cfg(feature = "train")]
pub mod start;
#[cfg(feature = "train")]
pub mod steps;
pub mod threshold;
#[cfg(feature = "train")]
pub mod trainer;
