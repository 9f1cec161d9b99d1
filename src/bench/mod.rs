//! Benchmarks that are subcommands (`endoscan bench gpu`); `bench live` is the live mode's
//! (`crate::live::bench`).

pub mod gpu;
