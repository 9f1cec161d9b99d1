//! Live alerts: model scores of inferred frames, one at a time → a smoothed score and an
//! alert that neither flickers nor waits for the future.
//!
//! Input: each inferred frame's score `p` and presentation time (ms). Output: a [`LiveStep`]
//! per frame: the smoothed score, whether the alert is on, and the frame where it started or
//! ended. Fails only on bad settings ([`AlertError`], naming the value); a non-finite score
//! counts as 0 and a non-finite time as "no time passed", so the output is never NaN.
//!
//! The rule (defaults argued in `docs/live.md`, section "Alerts"):
//! 1. **Smooth**: the causal EMA of [`crate::smooth::causal`],
//!    `s = prev + (1 − exp(−Δt/τ))·(p − prev)`, the first frame `s = p`.
//! 2. **On**: the alert goes on at the frame where at least `on_k` of the last `of_n` inferred
//!    frames (this one included) had `s ≥ on`.
//! 3. **Off**: it goes off at the `off_m`-th consecutive inferred frame with `s < off`; a
//!    shorter dip keeps it on. The on-window then starts empty: a new alert needs `on_k`
//!    fresh frames.
//!
//! Counts are in inferred frames, not time: the persistence rule of the field data is in
//! frames, and a frame the model skipped carries no evidence either way.

use std::collections::VecDeque;

use crate::smooth::causal::{AlertChange, Ema};

/// Frames of the last [`DEFAULT_OF_N`] with `s ≥ on` that turn the alert on.
pub const DEFAULT_ON_K: usize = 3;
/// Length of the window the on-rule counts in (inferred frames).
pub const DEFAULT_OF_N: usize = 5;
/// Consecutive inferred frames with `s < off` that turn the alert off.
pub const DEFAULT_OFF_M: usize = 6;
/// EMA time constant (ms): about one frame at 30 fps, so the filter adds at most a frame of
/// delay and the persistence rule sets it.
pub const DEFAULT_LIVE_TAU_MS: f64 = 33.0;
/// Longest on-window accepted (frames): a minute at 60 fps is far beyond any sensible rule.
pub const MAX_OF_N: usize = 3600;

/// The frame-count persistence rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Persistence {
    /// Frames with `s ≥ on` needed ...
    pub on_k: usize,
    /// ... among the last `of_n` inferred frames.
    pub of_n: usize,
    /// Consecutive frames with `s < off` that end the alert.
    pub off_m: usize,
}

impl Default for Persistence {
    fn default() -> Self {
        Self {
            on_k: DEFAULT_ON_K,
            of_n: DEFAULT_OF_N,
            off_m: DEFAULT_OFF_M,
        }
    }
}

/// What [`LiveAlerts::push`] says about one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveStep {
    /// The smoothed score, in `[0, 1]`.
    pub smoothed: f32,
    /// Whether the alert is on after this frame.
    pub alert: bool,
    /// `Started` / `Ended` at the frame where the alert changed.
    pub change: Option<AlertChange>,
}

/// Settings that make no sense.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("live alerts: thresholds must satisfy 0 ≤ off ≤ on ≤ 1 (on {on}, off {off})")]
    Thresholds { on: f32, off: f32 },
    #[error("live alerts: the EMA time constant must be a finite number ≥ 0 ms (got {0})")]
    Tau(f64),
    #[error("persistence: of-n ({0}) must be between 1 and {MAX_OF_N}")]
    OfN(usize),
    #[error("persistence: on-k ({on_k}) must be between 1 and of-n ({of_n})")]
    OnK { on_k: usize, of_n: usize },
    #[error("persistence: off-m ({0}) must be at least 1")]
    OffM(usize),
}

/// The live alert state machine (see the module docs).
#[derive(Debug, Clone)]
pub struct LiveAlerts {
    on: f32,
    off: f32,
    persistence: Persistence,
    ema: Ema,
    /// Whether each of the last (up to `of_n`) frames had `s ≥ on`, oldest first.
    window: VecDeque<bool>,
    /// How many of `window` are true.
    hits: usize,
    /// Consecutive frames with `s < off` while the alert is on.
    below: usize,
    alert: bool,
    last_pts: Option<f64>,
    /// The smoothed score of the last frame pushed.
    last_smoothed: f32,
}

impl LiveAlerts {
    /// `on`/`off` thresholds on the smoothed score (0 ≤ off ≤ on ≤ 1), EMA time constant `tau_ms` (0 = no smoothing).
    pub fn new(
        on: f32,
        off: f32,
        tau_ms: f64,
        persistence: Persistence,
    ) -> Result<Self, AlertError> {
        if !((0.0..=1.0).contains(&off) && (off..=1.0).contains(&on)) {
            return Err(AlertError::Thresholds { on, off });
        }
        if !(tau_ms.is_finite() && tau_ms >= 0.0) {
            return Err(AlertError::Tau(tau_ms));
        }
        let Persistence { on_k, of_n, off_m } = persistence;
        if !(1..=MAX_OF_N).contains(&of_n) {
            return Err(AlertError::OfN(of_n));
        }
        if !(1..=of_n).contains(&on_k) {
            return Err(AlertError::OnK { on_k, of_n });
        }
        if off_m == 0 {
            return Err(AlertError::OffM(off_m));
        }
        Ok(Self {
            on,
            off,
            persistence,
            ema: Ema::new(tau_ms),
            window: VecDeque::with_capacity(of_n),
            hits: 0,
            below: 0,
            alert: false,
            last_pts: None,
            last_smoothed: 0.0,
        })
    }

    /// Takes the score `p` of the next inferred frame at `pts_ms` (non-decreasing).
    pub fn push(&mut self, pts_ms: f64, p: f32) -> LiveStep {
        let p = if p.is_finite() {
            p.clamp(0.0, 1.0)
        } else {
            0.0
        };
        // A missing or broken timestamp: no time passed since the last frame.
        let pts_ms = match (pts_ms.is_finite(), self.last_pts) {
            (true, _) => pts_ms,
            (false, Some(last)) => last,
            (false, None) => 0.0,
        };
        self.last_pts = Some(pts_ms);
        let smoothed = (self.ema.push(pts_ms, f64::from(p)) as f32).clamp(0.0, 1.0);
        self.last_smoothed = smoothed;
        let change = if self.alert {
            self.while_on(smoothed)
        } else {
            self.while_off(smoothed)
        };
        LiveStep {
            smoothed,
            alert: self.alert,
            change,
        }
    }

    fn while_off(&mut self, s: f32) -> Option<AlertChange> {
        let hit = s >= self.on;
        if self.window.len() == self.persistence.of_n {
            let oldest = self.window.pop_front().expect("the window is full");
            self.hits -= usize::from(oldest);
        }
        self.window.push_back(hit);
        self.hits += usize::from(hit);
        if self.hits < self.persistence.on_k {
            return None;
        }
        self.alert = true;
        self.below = 0;
        Some(AlertChange::Started)
    }

    fn while_on(&mut self, s: f32) -> Option<AlertChange> {
        if s >= self.off {
            self.below = 0;
            return None;
        }
        self.below += 1;
        if self.below < self.persistence.off_m {
            return None;
        }
        self.alert = false;
        self.below = 0;
        self.window.clear();
        self.hits = 0;
        Some(AlertChange::Ended)
    }

    /// Forgets the history (a new stream, or the source came back after a loss).
    ///
    /// An alert that was on is dropped without an `Ended` step: the caller knows it reset.
    pub fn reset(&mut self) {
        self.ema.reset();
        self.window.clear();
        self.hits = 0;
        self.below = 0;
        self.alert = false;
        self.last_pts = None;
        self.last_smoothed = 0.0;
    }

    /// The state as it is, for a frame that says nothing about the mucosa (a white-out, a
    /// menu): smoothed score and alert unchanged, no change.
    pub fn hold(&self) -> LiveStep {
        LiveStep {
            smoothed: self.last_smoothed,
            alert: self.alert,
            change: None,
        }
    }

    /// Whether the alert is on.
    pub fn alert(&self) -> bool {
        self.alert
    }
}

#[cfg(test)]
#[path = "alert_tests.rs"]
mod tests;
