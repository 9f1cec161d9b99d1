//! Small helpers shared by several commands, one job each.

pub mod atomic;
pub mod hash;
pub mod outdir_lock;
pub mod progress;
