//! Learning-rate rules of the recipe (recipe.md, "Training"): the paper's localized rule and
//! BiT's own HyperRule (Kolesnikov et al. 2020; google-research/big_transfer
//! `bit_hyperrule.py`). Steps count from 0; [`Schedule::lr_at`] is `None` once training is over.

use std::fmt;
use std::str::FromStr;

/// Images seen over a whole run in the paper's rule, for datasets under 20k images.
pub const DEFAULT_IMAGES_TOTAL: u64 = 256_000;
/// The paper's initial learning rate at batch 512 (scaled linearly with the batch).
pub const PAPER_BASE_LR: f64 = 0.03;
/// Fractions of the run after which the paper's rule divides the rate by 10.
pub const PAPER_DECAY_FRACTIONS: [f64; 3] = [0.3, 0.6, 0.9];
/// BiT's base learning rate at batch 512 (scaled linearly with the batch).
pub const BIT_BASE_LR: f64 = 0.003;
/// The batch the base learning rates are quoted at.
pub const REFERENCE_BATCH: f64 = 512.0;
/// Dataset size from which BiT uses its medium schedule and MixUp.
pub const BIT_SMALL_DATASET: usize = 20_000;
/// Dataset size from which BiT uses its large schedule.
pub const BIT_LARGE_DATASET: usize = 500_000;

/// Which rule sets the learning rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Rule {
    /// lr0 = 0.03·B/512, ÷10 at 30/60/90 % of `images_total / B` steps (Li et al. 2022).
    #[default]
    Paper,
    /// BiT-HyperRule: 0.003·B/512, linear warm-up, ÷10 at fixed steps (500 steps under 20k images).
    Bit,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::Paper => "paper",
            Rule::Bit => "bit",
        })
    }
}

impl FromStr for Rule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "paper" => Ok(Rule::Paper),
            "bit" => Ok(Rule::Bit),
            other => Err(format!("unknown lr rule '{other}' (expected paper or bit)")),
        }
    }
}

/// Settings a schedule is built from that make no run.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScheduleError {
    #[error("batch size must be at least 1")]
    ZeroBatch,
    #[error(
        "--images-total {images_total} is smaller than one batch of {batch}: no training step"
    )]
    NoSteps { images_total: u64, batch: usize },
    #[error("the training set is empty")]
    EmptyDataset,
}

/// A piecewise-constant learning rate with an optional linear warm-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    rule: Rule,
    base_lr: f64,
    /// Steps `0..warmup` ramp linearly from 0 (BiT: `base · step / warmup`).
    warmup: u64,
    /// After each boundary the rate is divided by 10.
    boundaries: Vec<u64>,
    /// A boundary `b` takes effect at step `b` (`true`, the paper) or at `b + 1` (BiT's `s < step`).
    inclusive: bool,
    total_steps: u64,
}

impl Schedule {
    /// The paper's rule: `steps = images_total / batch`, lr0 = 0.03·batch/512, divided by 10 from
    /// step ⌊0.3·steps⌋, ⌊0.6·steps⌋ and ⌊0.9·steps⌋ on.
    pub fn paper(batch: usize, images_total: u64) -> Result<Self, ScheduleError> {
        if batch == 0 {
            return Err(ScheduleError::ZeroBatch);
        }
        let total_steps = images_total / batch as u64;
        if total_steps == 0 {
            return Err(ScheduleError::NoSteps {
                images_total,
                batch,
            });
        }
        let boundaries = PAPER_DECAY_FRACTIONS
            .iter()
            .map(|f| (f * total_steps as f64).floor() as u64)
            .collect();
        Ok(Self {
            rule: Rule::Paper,
            base_lr: PAPER_BASE_LR * batch as f64 / REFERENCE_BATCH,
            warmup: 0,
            boundaries,
            inclusive: true,
            total_steps,
        })
    }

    /// BiT-HyperRule for a training set of `dataset_size` images, as `bit_hyperrule.get_lr`:
    /// supports `[100, 200, 300, 400, 500]` under 20k images, `[500, 3000, 6000, 9000, 10000]`
    /// under 500k, `[500, 6000, 12000, 18000, 20000]` above; warm-up `base · step / supports[0]`,
    /// then ÷10 for every later support `s < step`; training ends at the last support.
    pub fn bit(batch: usize, dataset_size: usize) -> Result<Self, ScheduleError> {
        if batch == 0 {
            return Err(ScheduleError::ZeroBatch);
        }
        if dataset_size == 0 {
            return Err(ScheduleError::EmptyDataset);
        }
        let supports: [u64; 5] = if dataset_size < BIT_SMALL_DATASET {
            [100, 200, 300, 400, 500]
        } else if dataset_size < BIT_LARGE_DATASET {
            [500, 3000, 6000, 9000, 10_000]
        } else {
            [500, 6000, 12_000, 18_000, 20_000]
        };
        Ok(Self {
            rule: Rule::Bit,
            base_lr: BIT_BASE_LR * batch as f64 / REFERENCE_BATCH,
            warmup: supports[0],
            boundaries: supports[1..4].to_vec(),
            inclusive: false,
            total_steps: supports[4],
        })
    }

    /// The schedule of `rule`; `images_total` is used by the paper's rule, `dataset_size` by BiT's.
    pub fn new(
        rule: Rule,
        batch: usize,
        images_total: u64,
        dataset_size: usize,
    ) -> Result<Self, ScheduleError> {
        match rule {
            Rule::Paper => Self::paper(batch, images_total),
            Rule::Bit => Self::bit(batch, dataset_size),
        }
    }

    /// The learning rate of step `step` (0-based), `None` from [`Self::total_steps`] on.
    pub fn lr_at(&self, step: u64) -> Option<f64> {
        if step >= self.total_steps {
            return None;
        }
        if step < self.warmup {
            return Some(self.base_lr * step as f64 / self.warmup as f64);
        }
        let decays = self
            .boundaries
            .iter()
            .filter(|&&b| if self.inclusive { step >= b } else { step > b })
            .count();
        Some(self.base_lr / 10f64.powi(decays as i32))
    }

    /// Number of optimizer steps in the run.
    pub fn total_steps(&self) -> u64 {
        self.total_steps
    }

    /// The rate after warm-up and before the first decay.
    pub fn base_lr(&self) -> f64 {
        self.base_lr
    }

    /// Steps of linear warm-up (0 for the paper's rule).
    pub fn warmup_steps(&self) -> u64 {
        self.warmup
    }

    /// Steps after which the rate drops ten-fold (see [`Schedule::lr_at`] for the exact step).
    pub fn boundaries(&self) -> &[u64] {
        &self.boundaries
    }

    /// The rule this schedule follows.
    pub fn rule(&self) -> Rule {
        self.rule
    }
}

/// BiT's MixUp α: 0 under 20k training images, 0.1 from there (`bit_hyperrule.get_mixup`).
pub fn mixup_alpha(dataset_size: usize) -> f64 {
    if dataset_size < BIT_SMALL_DATASET {
        0.0
    } else {
        0.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() <= 1e-12 * b.abs().max(1e-12))
    }

    #[test]
    fn paper_rule_at_batch_32() {
        // 256000 / 32 = 8000 steps; lr0 = 0.03 · 32 / 512 = 0.001875; decays at 2400, 4800, 7200.
        let s = Schedule::paper(32, DEFAULT_IMAGES_TOTAL).unwrap();
        assert_eq!(s.total_steps(), 8000);
        assert_eq!(s.boundaries(), &[2400, 4800, 7200]);
        assert!(close(s.lr_at(0), 0.001875));
        assert!(close(s.lr_at(2399), 0.001875));
        assert!(close(s.lr_at(2400), 0.000_187_5));
        assert!(close(s.lr_at(4799), 0.000_187_5));
        assert!(close(s.lr_at(4800), 0.000_018_75));
        assert!(close(s.lr_at(7200), 0.000_001_875));
        assert!(close(s.lr_at(7999), 0.000_001_875));
        assert_eq!(s.lr_at(8000), None);
    }

    #[test]
    fn paper_rule_floors_steps_and_boundaries() {
        // 1000 / 3 = 333 steps; decays at ⌊99.9⌋ = 99, ⌊199.8⌋ = 199, ⌊299.7⌋ = 299.
        let s = Schedule::paper(3, 1000).unwrap();
        assert_eq!(s.total_steps(), 333);
        assert_eq!(s.boundaries(), &[99, 199, 299]);
        assert!(close(s.lr_at(98), 0.03 * 3.0 / 512.0));
        assert!(close(s.lr_at(99), 0.003 * 3.0 / 512.0));
    }

    #[test]
    fn bit_rule_small_dataset() {
        // base 0.003 · 512 / 512; warm-up base·step/100; ÷10 after 200, 300, 400; end at 500.
        let s = Schedule::bit(512, 3501).unwrap();
        assert_eq!(s.total_steps(), 500);
        assert_eq!(s.lr_at(0), Some(0.0));
        assert!(close(s.lr_at(50), 0.0015));
        assert!(close(s.lr_at(99), 0.00297));
        assert!(close(s.lr_at(100), 0.003));
        assert!(close(s.lr_at(200), 0.003));
        assert!(close(s.lr_at(201), 0.0003));
        assert!(close(s.lr_at(301), 0.00003));
        assert!(close(s.lr_at(401), 0.000003));
        assert!(close(s.lr_at(499), 0.000003));
        assert_eq!(s.lr_at(500), None);
    }

    #[test]
    fn bit_rule_scales_with_batch_and_dataset() {
        let s = Schedule::bit(32, 100_000).unwrap();
        assert_eq!(s.total_steps(), 10_000);
        assert_eq!(s.warmup_steps(), 500);
        assert!(close(s.lr_at(250), 0.003 * 32.0 / 512.0 * 0.5));
        assert!(close(s.lr_at(3001), 0.003 * 32.0 / 512.0 / 10.0));
        let large = Schedule::bit(32, 1_000_000).unwrap();
        assert_eq!(large.boundaries(), &[6000, 12_000, 18_000]);
        assert_eq!(large.total_steps(), 20_000);
        assert_eq!(mixup_alpha(19_999), 0.0);
        assert_eq!(mixup_alpha(20_000), 0.1);
    }

    #[test]
    fn rejects_runs_without_steps() {
        assert_eq!(Schedule::paper(0, 100), Err(ScheduleError::ZeroBatch));
        assert!(matches!(
            Schedule::paper(64, 10),
            Err(ScheduleError::NoSteps { .. })
        ));
        assert_eq!(Schedule::bit(8, 0), Err(ScheduleError::EmptyDataset));
        assert_eq!("bit".parse::<Rule>(), Ok(Rule::Bit));
        assert!("cosine".parse::<Rule>().is_err());
    }
}
