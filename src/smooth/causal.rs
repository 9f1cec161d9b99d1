//! Live smoothing: the same rule as the offline [`super::Smoother`], one frame at a time and
//! without looking ahead, for `endoscan live` and the GStreamer element.
//!
//! * **Smooth**: the forward half of the offline filter, a causal exponential moving average
//!   with `α = 1 − exp(−Δt / τ)`.
//! * **Start**: the alert goes on once the smoothed score has stayed ≥ `on` (and then ≥ `off`)
//!   for `min_segment_ms`: the persistence rule, applied as a delay instead of in hindsight,
//!   so a flicker never alerts.
//! * **End**: the alert goes off once the smoothed score has stayed below `off` for
//!   `merge_gap_ms`: two findings closer than that stay one alert, as offline they are one
//!   segment.
//!
//! So a live alert lies inside the offline segment of the same scores, starting at most
//! `min_segment_ms` (plus the filter's lag) after it and ending at most `merge_gap_ms` after it.

use super::Settings;

/// A change of the alert state at a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertChange {
    Started,
    Ended,
}

/// The smoother's output for one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub smoothed: f32,
    /// Whether the alert is on after this frame.
    pub alert: bool,
    pub change: Option<AlertChange>,
}

/// The causal exponential moving average: `s = prev + (1 − exp(−Δt/τ))·(p − prev)`, the
/// first value (or every value when `τ ≤ 0`) taken as is; Δt below 0 counts as 0.
#[derive(Debug, Clone)]
pub struct Ema {
    tau_ms: f64,
    /// Time and smoothed value of the last sample.
    state: Option<(f64, f64)>,
}

impl Ema {
    /// An average with time constant `tau_ms` (0: no smoothing).
    pub fn new(tau_ms: f64) -> Self {
        Self {
            tau_ms,
            state: None,
        }
    }

    /// Takes value `p` at time `pts_ms`; returns the smoothed value.
    pub fn push(&mut self, pts_ms: f64, p: f64) -> f64 {
        let smoothed = match self.state {
            Some((last_ms, prev)) if self.tau_ms > 0.0 => {
                let dt = (pts_ms - last_ms).max(0.0);
                prev + (1.0 - (-dt / self.tau_ms).exp()) * (p - prev)
            }
            _ => p,
        };
        self.state = Some((pts_ms, smoothed));
        smoothed
    }

    /// Forgets the history: the next value is taken as is.
    pub fn reset(&mut self) {
        self.state = None;
    }
}

/// Smooths scores as they come (see the module docs).
#[derive(Debug, Clone)]
pub struct CausalSmoother {
    settings: Settings,
    ema: Ema,
    /// Time the smoothed score first reached `on` in the current candidate run.
    above_since: Option<f64>,
    /// Time the smoothed score first fell below `off` while the alert is on.
    below_since: Option<f64>,
    alert: bool,
}

impl CausalSmoother {
    /// A smoother with checked `settings` (see [`super::Smoother::new`]).
    pub fn new(settings: Settings) -> Result<Self, super::SmoothError> {
        super::Smoother::new(settings)?;
        Ok(Self {
            settings,
            ema: Ema::new(settings.tau_ms),
            above_since: None,
            below_since: None,
            alert: false,
        })
    }

    /// Takes frame score `p` at time `pts_ms` (non-decreasing).
    pub fn push(&mut self, pts_ms: f64, p: f32) -> Step {
        let v = self.ema.push(pts_ms, f64::from(p)) as f32;
        let change = if self.alert {
            self.after_alert(pts_ms, v)
        } else {
            self.before_alert(pts_ms, v)
        };
        Step {
            smoothed: v,
            alert: self.alert,
            change,
        }
    }

    fn before_alert(&mut self, pts_ms: f64, v: f32) -> Option<AlertChange> {
        let s = &self.settings;
        match self.above_since {
            None if v >= s.on => self.above_since = Some(pts_ms),
            Some(_) if v < s.off => self.above_since = None,
            _ => {}
        }
        let since = self.above_since?;
        if pts_ms - since >= s.min_segment_ms {
            self.alert = true;
            self.above_since = None;
            return Some(AlertChange::Started);
        }
        None
    }

    fn after_alert(&mut self, pts_ms: f64, v: f32) -> Option<AlertChange> {
        if v >= self.settings.off {
            self.below_since = None;
            return None;
        }
        let since = *self.below_since.get_or_insert(pts_ms);
        if pts_ms - since >= self.settings.merge_gap_ms {
            self.alert = false;
            self.below_since = None;
            return Some(AlertChange::Ended);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::Smoother;
    use super::*;

    fn times(n: usize, fps: f64) -> Vec<f64> {
        (0..n).map(|i| i as f64 * 1000.0 / fps).collect()
    }

    fn live(settings: Settings, pts: &[f64], p: &[f32]) -> Vec<Step> {
        let mut c = CausalSmoother::new(settings).unwrap();
        pts.iter().zip(p).map(|(&t, &v)| c.push(t, v)).collect()
    }

    #[test]
    fn a_live_alert_lies_inside_the_offline_segment_and_lags_it_by_the_rule() {
        let settings = Settings::default();
        let pts = times(300, 30.0);
        let mut p = vec![0.05f32; 300];
        p[90..180].iter_mut().for_each(|v| *v = 0.95);
        let offline = Smoother::new(settings).unwrap().process(&pts, &p).unwrap();
        let seg = &offline.segments[0];
        let steps = live(settings, &pts, &p);
        let on: Vec<usize> = (0..300).filter(|&i| steps[i].alert).collect();
        let (first, last) = (on[0], *on.last().unwrap());
        assert_eq!(on.len(), last - first + 1, "one alert, no flicker");
        assert!(first as u64 >= seg.start_frame);
        let lag_ms = pts[first] - pts[seg.start_frame as usize];
        assert!(
            lag_ms <= settings.min_segment_ms + 3.0 * settings.tau_ms,
            "{lag_ms}"
        );
        let tail_ms = pts[last] - pts[seg.end_frame as usize];
        assert!(
            tail_ms <= settings.merge_gap_ms + 3.0 * settings.tau_ms,
            "{tail_ms}"
        );
        let changes: Vec<_> = steps.iter().filter_map(|s| s.change).collect();
        assert_eq!(changes, [AlertChange::Started, AlertChange::Ended]);
    }

    #[test]
    fn flickers_alert_neither_live_nor_offline() {
        let settings = Settings::default();
        let pts = times(200, 30.0);
        let mut p = vec![0.05f32; 200];
        for start in [30, 80, 130] {
            p[start..start + 3].iter_mut().for_each(|v| *v = 0.99);
        }
        let offline = Smoother::new(settings).unwrap().process(&pts, &p).unwrap();
        assert!(offline.segments.is_empty());
        assert!(live(settings, &pts, &p).iter().all(|s| !s.alert));
    }

    #[test]
    fn without_smoothing_the_live_score_is_the_frame_score() {
        let settings = Settings {
            tau_ms: 0.0,
            ..Settings::default()
        };
        let pts = times(50, 2.0);
        let p: Vec<f32> = (0..50).map(|i| (i % 7) as f32 / 7.0).collect();
        let steps = live(settings, &pts, &p);
        assert!(steps.iter().zip(&p).all(|(s, &v)| s.smoothed == v));
        assert!(CausalSmoother::new(Settings {
            on: 0.2,
            off: 0.5,
            ..settings
        })
        .is_err());
    }
}
