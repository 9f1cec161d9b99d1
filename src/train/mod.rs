//! Training data and recipe rules, free of `tch` so they build and test without libtorch:
//! [`data`] (ImageFolder / CSV manifests, checks, content hash, threaded loading), [`split`]
//! (seeded, stratified, patient-grouped train/val/test), [`augment`] (the recipe's imgaug
//! `SomeOf`), [`schedule`] (learning-rate rules) and [`rng`] (the deterministic PRNG they share).

pub mod augment;
pub mod data;
pub mod rng;
pub mod schedule;
pub mod split;
