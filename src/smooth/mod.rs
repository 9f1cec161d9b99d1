//! Smoothing: per-frame probabilities → smoothed scores, flagged frames and segments.
//!
//! Input: every frame's raw positive-class probability and presentation time (ms). Output: a
//! smoothed score and a flag per frame, and the flagged [`Segment`]s. Runs on the caller's
//! thread over a whole study (offline: it may look ahead). Fails only on bad settings.
//!
//! ## The rule (defaults in brackets, all configurable)
//! 1. **Smooth**: zero-phase exponential moving average with time constant τ
//!    [`DEFAULT_TAU_MS` = 100 ms ≈ 3 frames at 30 fps, ~nothing at 2 fps]; zero phase (forward
//!    then backward) so segments are not shifted late.
//! 2. **Hysteresis**: a segment starts where the smoothed score reaches `on` [0.5;
//!    `endoscan reprocess` takes the model's decision threshold, chosen on validation] and
//!    continues while it stays ≥ `off` [0.35; reprocess: 0.7 × `on`], so a score hovering
//!    around the threshold does not flicker.
//! 3. **Merge**: segments separated by at most `merge_gap_ms` [200 ms] are joined: a reader
//!    wants one segment per finding.
//! 4. **Persist**: segments shorter than `min_segment_ms` [200 ms ≈ 6 frames at 30 fps] are
//!    dropped. Field data: most CADe false alarms last < 3 frames and withholding alerts
//!    shorter than ~6 frames removed ~88 % of them without measurable loss. In time rather
//!    than frames, so a single capsule frame (500 ms at 2 fps) still counts.
//!
//! A frame is *flagged* when it lies inside a kept segment. Each segment reports its first and
//! last frame and time, peak and mean raw probability, and a representative frame (the
//! highest raw probability, first on ties).

pub mod causal;
pub mod rule;

use serde::Serialize;

/// Smoothing time constant (ms).
pub const DEFAULT_TAU_MS: f64 = 100.0;
/// Smoothed score at which a segment starts.
pub const DEFAULT_ON: f32 = 0.5;
/// Smoothed score below which a segment ends.
pub const DEFAULT_OFF: f32 = 0.35;
/// Segments this close (ms) are merged.
pub const DEFAULT_MERGE_GAP_MS: f64 = 200.0;
/// Segments shorter than this (ms) are dropped.
pub const DEFAULT_MIN_SEGMENT_MS: f64 = 200.0;
/// Frame duration assumed when timestamps do not give one (a single frame, 30 fps).
const FALLBACK_FRAME_MS: f64 = 1000.0 / 30.0;

/// Smoothing settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Settings {
    pub tau_ms: f64,
    pub on: f32,
    pub off: f32,
    pub merge_gap_ms: f64,
    pub min_segment_ms: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            tau_ms: DEFAULT_TAU_MS,
            on: DEFAULT_ON,
            off: DEFAULT_OFF,
            merge_gap_ms: DEFAULT_MERGE_GAP_MS,
            min_segment_ms: DEFAULT_MIN_SEGMENT_MS,
        }
    }
}

/// Settings that make no sense.
#[derive(Debug, thiserror::Error)]
pub enum SmoothError {
    #[error("smoothing: thresholds must satisfy 0 ≤ off ≤ on ≤ 1 (on {on}, off {off})")]
    Thresholds { on: f32, off: f32 },
    #[error("smoothing: {name} must be a finite number ≥ 0 ms (got {value})")]
    Time { name: &'static str, value: f64 },
    #[error("smoothing: {scores} scores but {times} timestamps")]
    Lengths { scores: usize, times: usize },
}

/// One flagged segment (frames inclusive).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    pub start_frame: u64,
    pub end_frame: u64,
    pub start_ms: f64,
    /// End of the last frame (its PTS plus its duration).
    pub end_ms: f64,
    pub frames: u64,
    pub peak_p: f32,
    pub mean_p: f32,
    pub peak_smoothed: f32,
    pub representative_frame: u64,
    pub representative_ms: f64,
}

/// A study after smoothing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Smoothed {
    pub smoothed: Vec<f32>,
    pub flagged: Vec<bool>,
    pub segments: Vec<Segment>,
}

/// Applies the rule in the module docs.
#[derive(Debug, Clone)]
pub struct Smoother {
    settings: Settings,
}

impl Smoother {
    /// Checks the settings.
    pub fn new(settings: Settings) -> Result<Self, SmoothError> {
        let Settings { on, off, .. } = settings;
        if !(0.0..=1.0).contains(&on) || !(0.0..=1.0).contains(&off) || off > on {
            return Err(SmoothError::Thresholds { on, off });
        }
        for (name, value) in [
            ("tau_ms", settings.tau_ms),
            ("merge_gap_ms", settings.merge_gap_ms),
            ("min_segment_ms", settings.min_segment_ms),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(SmoothError::Time { name, value });
            }
        }
        Ok(Self { settings })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// [`Smoother::process`] on the frames with `keep[i]` only (frames that carry no score —
    /// corrupt, white-outs — are left out, not taken as 0): their `smoothed` value is NaN,
    /// and they are flagged when a segment spans them. Frame numbers stay the study's.
    pub fn process_kept(
        &self,
        pts_ms: &[f64],
        p: &[f32],
        keep: &[bool],
    ) -> Result<Smoothed, SmoothError> {
        if keep.len() != p.len() || keep.iter().all(|&k| k) {
            return self.process(pts_ms, p);
        }
        let kept: Vec<usize> = (0..p.len()).filter(|&i| keep[i]).collect();
        let sub_pts: Vec<f64> = kept.iter().map(|&i| pts_ms[i]).collect();
        let sub_p: Vec<f32> = kept.iter().map(|&i| p[i]).collect();
        let sub = self.process(&sub_pts, &sub_p)?;
        let mut smoothed = vec![f32::NAN; p.len()];
        for (&i, &v) in kept.iter().zip(&sub.smoothed) {
            smoothed[i] = v;
        }
        let mut flagged = vec![false; p.len()];
        let segments = sub
            .segments
            .into_iter()
            .map(|seg| {
                let (a, b) = (kept[seg.start_frame as usize], kept[seg.end_frame as usize]);
                flagged[a..=b].iter_mut().for_each(|f| *f = true);
                Segment {
                    start_frame: a as u64,
                    end_frame: b as u64,
                    frames: (b - a + 1) as u64,
                    representative_frame: kept[seg.representative_frame as usize] as u64,
                    ..seg
                }
            })
            .collect();
        Ok(Smoothed {
            smoothed,
            flagged,
            segments,
        })
    }

    /// Smooths a whole study: `p[i]` is frame `i`'s raw probability, `pts_ms[i]` its time.
    pub fn process(&self, pts_ms: &[f64], p: &[f32]) -> Result<Smoothed, SmoothError> {
        if pts_ms.len() != p.len() {
            return Err(SmoothError::Lengths {
                scores: p.len(),
                times: pts_ms.len(),
            });
        }
        let s = &self.settings;
        let smoothed = rule::ema_zero_phase(pts_ms, p, s.tau_ms);
        let frame_ms = rule::frame_durations(pts_ms, FALLBACK_FRAME_MS);
        let runs = rule::hysteresis(&smoothed, s.on, s.off);
        let runs = rule::merge_close(&runs, pts_ms, &frame_ms, s.merge_gap_ms);
        let runs = rule::drop_short(&runs, pts_ms, &frame_ms, s.min_segment_ms);
        let mut flagged = vec![false; p.len()];
        let segments = runs
            .iter()
            .map(|&(a, b)| {
                flagged[a..=b].iter_mut().for_each(|f| *f = true);
                let (mean_p, peak_p, rep) = rule::run_stats(p, a, b);
                let (_, peak_smoothed, _) = rule::run_stats(&smoothed, a, b);
                Segment {
                    start_frame: a as u64,
                    end_frame: b as u64,
                    start_ms: pts_ms[a],
                    end_ms: pts_ms[b] + frame_ms[b],
                    frames: (b - a + 1) as u64,
                    peak_p,
                    mean_p,
                    peak_smoothed,
                    representative_frame: rep as u64,
                    representative_ms: pts_ms[rep],
                }
            })
            .collect();
        Ok(Smoothed {
            smoothed,
            flagged,
            segments,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(n: usize, fps: f64) -> Vec<f64> {
        (0..n).map(|i| i as f64 * 1000.0 / fps).collect()
    }

    #[test]
    fn flickers_are_withheld_and_a_lesion_is_one_segment() {
        let n = 300;
        let t = times(n, 30.0);
        let mut p = vec![0.05f32; n];
        // Two-frame false alarm.
        p[40] = 0.95;
        p[41] = 0.95;
        // A lesion 100..=179 with a short dip inside.
        for v in &mut p[100..180] {
            *v = 0.9;
        }
        for v in &mut p[140..143] {
            *v = 0.1;
        }
        let out = Smoother::new(Settings::default())
            .unwrap()
            .process(&t, &p)
            .unwrap();
        assert_eq!(out.segments.len(), 1, "{:?}", out.segments);
        let seg = &out.segments[0];
        assert!((98..=102).contains(&seg.start_frame), "{seg:?}");
        assert!((177..=181).contains(&seg.end_frame), "{seg:?}");
        assert_eq!(seg.peak_p, 0.9);
        assert_eq!(seg.representative_frame, 100);
        assert!(!out.flagged[40] && !out.flagged[41]);
        assert!(out.flagged[141], "the dip is inside the segment");
        assert_eq!(
            out.flagged.iter().filter(|&&f| f).count() as u64,
            seg.frames
        );
        assert_eq!(out.smoothed.len(), n);
    }

    #[test]
    fn a_single_capsule_frame_can_be_a_segment() {
        let t = times(20, 2.0);
        let mut p = vec![0.0f32; 20];
        p[7] = 0.97;
        let out = Smoother::new(Settings::default())
            .unwrap()
            .process(&t, &p)
            .unwrap();
        assert_eq!(out.segments.len(), 1);
        let seg = &out.segments[0];
        assert_eq!((seg.start_frame, seg.end_frame), (7, 7));
        assert_eq!((seg.start_ms, seg.end_ms), (3500.0, 4000.0));
    }

    #[test]
    fn left_out_frames_neither_count_nor_shift_frame_numbers() {
        let s = Smoother::new(Settings::default()).unwrap();
        let pts = times(200, 30.0);
        let mut p = vec![0.05f32; 200];
        p[80..140].iter_mut().for_each(|v| *v = 0.95);
        let all = s.process(&pts, &p).unwrap();
        // Corrupt frames inside the lesion carry 0 but are left out: the segment is the same.
        let mut holed = p.clone();
        let mut keep = vec![true; 200];
        for i in [90, 91, 120] {
            holed[i] = 0.0;
            keep[i] = false;
        }
        let kept = s.process_kept(&pts, &holed, &keep).unwrap();
        assert_eq!(kept.segments.len(), 1);
        let (a, b) = (&all.segments[0], &kept.segments[0]);
        assert_eq!(
            (a.start_frame, a.end_frame, a.frames),
            (b.start_frame, b.end_frame, b.frames)
        );
        assert!(kept.smoothed[90].is_nan() && kept.flagged[90]);
        assert!(keep[b.representative_frame as usize]);
        // Taken as 0 instead, the same frames would dent the smoothed curve.
        let zeros = s.process(&pts, &holed).unwrap();
        assert!(zeros.smoothed[91] < kept.smoothed[92] - 0.05);
    }

    #[test]
    fn bad_settings_are_refused() {
        let bad = Settings {
            on: 0.3,
            off: 0.6,
            ..Settings::default()
        };
        assert!(Smoother::new(bad).is_err());
        let bad = Settings {
            tau_ms: f64::NAN,
            ..Settings::default()
        };
        assert!(Smoother::new(bad)
            .unwrap_err()
            .to_string()
            .contains("tau_ms"));
        let ok = Smoother::new(Settings::default()).unwrap();
        assert!(ok.process(&[0.0], &[]).is_err());
        assert_eq!(ok.process(&[], &[]).unwrap(), Smoothed::default());
    }
}
