//! Live analysis: the pieces `endoscan live` and the `endoscan` GStreamer element share.
//!
//! Input: frames and model scores as they arrive from a running video. Output: the newest
//! frame for the model ([`slot`]), the alert state ([`alert`]), latency percentiles
//! ([`latency`]) and the run's stats file ([`stats`]). Nothing here touches GStreamer; each
//! module documents its own failure modes (bad settings, an unwritable stats file).

pub mod alert;
pub mod args;
pub mod bench;
pub mod capture;
pub mod display;
pub mod latency;
pub mod monitor;
pub mod run;
pub mod signals;
pub mod slot;
pub mod source;
pub mod stats;
pub mod worker;
