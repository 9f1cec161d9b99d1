//! Where, not only whether: BiT's head applied at every location of the last feature map
//! (the model's class-activation map output, [`crate::model::metadata::OUTPUT_CAM`]) gives a
//! per-location logit map whose spatial mean is exactly the model's logit. [`EvidenceMap`]
//! takes the positive class's evidence from it; [`locate`] turns that into a box and a peak
//! in frame pixels by the rule in [`rule`].
//!
//! Costs one 1×1 convolution in the model and a few microseconds here; no retraining.

pub mod columns;
mod map;
pub mod rule;
#[cfg(test)]
mod rule_tests;
pub mod tally;

pub use map::EvidenceMap;
pub use rule::{locate, Finding};
