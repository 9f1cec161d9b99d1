//! Small helpers shared by several commands, one job each.

pub mod atomic;
pub mod clock;
pub mod hash;
pub mod host;
pub mod image_file;
pub mod outdir_lock;
pub mod progress;
