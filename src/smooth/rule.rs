//! The smoothing rule's arithmetic, on plain slices (no GStreamer, no ONNX Runtime).
//!
//! Times are in milliseconds so the rule means the same at 2 fps (capsule) and 60 fps (tower).

/// Zero-phase exponential moving average: a causal EMA forward, then the same backward over
/// its output, so peaks are not delayed (offline we have the whole study). The per-step
/// factor follows the time step: `α = 1 − exp(−Δt / τ)`, so a frame's weight halves every
/// `τ·ln 2` ms whatever the frame rate; `τ = 0` returns the input.
pub fn ema_zero_phase(pts_ms: &[f64], p: &[f32], tau_ms: f64) -> Vec<f32> {
    assert_eq!(pts_ms.len(), p.len(), "one time per score");
    if tau_ms <= 0.0 || p.is_empty() {
        return p.to_vec();
    }
    let alphas: Vec<f64> = (1..p.len())
        .map(|i| {
            let dt = (pts_ms[i] - pts_ms[i - 1]).max(0.0);
            1.0 - (-dt / tau_ms).exp()
        })
        .collect();
    let mut fwd = Vec::with_capacity(p.len());
    let mut s = p[0] as f64;
    fwd.push(s);
    for i in 1..p.len() {
        s += alphas[i - 1] * (p[i] as f64 - s);
        fwd.push(s);
    }
    let mut out = vec![0f32; p.len()];
    let mut s = fwd[p.len() - 1];
    out[p.len() - 1] = s as f32;
    for i in (0..p.len() - 1).rev() {
        s += alphas[i] * (fwd[i] - s);
        out[i] = s as f32;
    }
    out
}

/// Hysteresis: a run starts where `s ≥ on` and lasts while `s ≥ off` (`off ≤ on`).
/// Returns inclusive `(first, last)` index pairs.
pub fn hysteresis(s: &[f32], on: f32, off: f32) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start: Option<usize> = None;
    for (i, &v) in s.iter().enumerate() {
        match start {
            None if v >= on => start = Some(i),
            Some(first) if v < off => {
                runs.push((first, i - 1));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(first) = start {
        runs.push((first, s.len() - 1));
    }
    runs
}

/// Joins runs separated by a gap of at most `max_gap_ms` (time from the end of one run's
/// last frame to the next run's first frame).
pub fn merge_close(
    runs: &[(usize, usize)],
    pts_ms: &[f64],
    frame_ms: &[f64],
    max_gap_ms: f64,
) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(runs.len());
    for &(a, b) in runs {
        if let Some(last) = out.last_mut() {
            let gap = pts_ms[a] - (pts_ms[last.1] + frame_ms[last.1]);
            if gap <= max_gap_ms + 1e-6 {
                last.1 = b;
                continue;
            }
        }
        out.push((a, b));
    }
    out
}

/// Keeps runs that last at least `min_ms` (first frame's start to last frame's end).
pub fn drop_short(
    runs: &[(usize, usize)],
    pts_ms: &[f64],
    frame_ms: &[f64],
    min_ms: f64,
) -> Vec<(usize, usize)> {
    runs.iter()
        .copied()
        .filter(|&(a, b)| pts_ms[b] + frame_ms[b] - pts_ms[a] >= min_ms - 1e-6)
        .collect()
}

/// Per-frame durations: the step to the next frame, the last one repeating the previous step
/// (or `fallback_ms` for a single frame or a zero step).
pub fn frame_durations(pts_ms: &[f64], fallback_ms: f64) -> Vec<f64> {
    let n = pts_ms.len();
    let mut d: Vec<f64> = (0..n)
        .map(|i| {
            if i + 1 < n {
                (pts_ms[i + 1] - pts_ms[i]).max(0.0)
            } else {
                0.0
            }
        })
        .collect();
    if n >= 2 {
        d[n - 1] = d[n - 2];
    }
    for v in &mut d {
        if *v <= 0.0 {
            *v = fallback_ms;
        }
    }
    d
}

/// Mean, peak and arg-peak (first on ties) of `p[a..=b]`.
pub fn run_stats(p: &[f32], a: usize, b: usize) -> (f32, f32, usize) {
    let slice = &p[a..=b];
    let mean = slice.iter().map(|&v| v as f64).sum::<f64>() / slice.len() as f64;
    let (arg, peak) = slice
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
            if v > bv {
                (i, v)
            } else {
                (bi, bv)
            }
        });
    (mean as f32, peak, a + arg)
}

/// Intersection over union of two inclusive frame ranges.
pub fn iou(a: (usize, usize), b: (usize, usize)) -> f64 {
    let inter = (a.1.min(b.1) as i64 - a.0.max(b.0) as i64 + 1).max(0) as f64;
    let union = (a.1 - a.0 + 1) as f64 + (b.1 - b.0 + 1) as f64 - inter;
    inter / union
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(n: usize, fps: f64) -> Vec<f64> {
        (0..n).map(|i| i as f64 * 1000.0 / fps).collect()
    }

    #[test]
    fn ema_keeps_constants_and_is_symmetric() {
        let t = times(50, 30.0);
        let flat = vec![0.7f32; 50];
        for v in ema_zero_phase(&t, &flat, 100.0) {
            assert!((v - 0.7).abs() < 1e-6);
        }
        let mut spike = vec![0f32; 51];
        spike[25] = 1.0;
        let s = ema_zero_phase(&times(51, 30.0), &spike, 100.0);
        // Zero phase: the peak stays where it was and the shape is symmetric about it.
        let peak = s.iter().cloned().fold(f32::MIN, f32::max);
        assert_eq!(s.iter().position(|&v| v == peak), Some(25));
        for k in 1..10 {
            assert!(
                (s[25 - k] - s[25 + k]).abs() < 0.02,
                "{k}: {} vs {}",
                s[25 - k],
                s[25 + k]
            );
        }
        assert!(peak < 0.5, "a one-frame spike is damped: {peak}");
    }

    #[test]
    fn ema_factor_follows_time_not_frames() {
        // At 2 fps (500 ms steps) τ = 100 ms barely smooths; at 60 fps it smooths a lot.
        let mut spike = vec![0f32; 21];
        spike[10] = 1.0;
        let slow = ema_zero_phase(&times(21, 2.0), &spike, 100.0);
        let fast = ema_zero_phase(&times(21, 60.0), &spike, 100.0);
        assert!(slow[10] > 0.98, "{}", slow[10]);
        assert!(fast[10] < 0.2, "{}", fast[10]);
        assert_eq!(ema_zero_phase(&times(21, 30.0), &spike, 0.0), spike);
    }

    #[test]
    fn hysteresis_needs_on_to_start_and_off_to_stop() {
        let s = [0.1, 0.6, 0.45, 0.4, 0.2, 0.45, 0.55, 0.9];
        assert_eq!(hysteresis(&s, 0.5, 0.35), vec![(1, 3), (6, 7)]);
        assert_eq!(hysteresis(&s, 0.95, 0.35), vec![]);
        assert_eq!(hysteresis(&[], 0.5, 0.3), vec![]);
    }

    #[test]
    fn close_runs_merge_and_short_runs_drop() {
        let t = times(40, 10.0); // 100 ms frames
        let d = frame_durations(&t, 100.0);
        let runs = [(2, 4), (6, 10), (20, 20), (30, 35)];
        // Gap between (2,4) and (6,10): 500 ms end of frame 4 to 600 ms start of frame 6.
        assert_eq!(
            merge_close(&runs, &t, &d, 100.0),
            vec![(2, 10), (20, 20), (30, 35)]
        );
        assert_eq!(merge_close(&runs, &t, &d, 50.0), runs.to_vec());
        // (20,20) lasts 100 ms, (30,35) 600 ms.
        assert_eq!(
            drop_short(&runs, &t, &d, 300.0),
            vec![(2, 4), (6, 10), (30, 35)]
        );
        assert_eq!(drop_short(&runs, &t, &d, 100.0), runs.to_vec());
    }

    #[test]
    fn durations_fill_the_last_frame() {
        assert_eq!(
            frame_durations(&[0.0, 40.0, 80.0], 33.0),
            vec![40.0, 40.0, 40.0]
        );
        assert_eq!(frame_durations(&[5.0], 33.0), vec![33.0]);
        assert_eq!(frame_durations(&[], 33.0), Vec::<f64>::new());
    }

    #[test]
    fn stats_and_iou() {
        let p = [0.1, 0.9, 0.3, 0.9, 0.5];
        let (mean, peak, arg) = run_stats(&p, 1, 4);
        assert!((mean - 0.65).abs() < 1e-6);
        assert_eq!((peak, arg), (0.9, 1));
        assert_eq!(iou((0, 9), (0, 9)), 1.0);
        assert_eq!(iou((0, 9), (10, 19)), 0.0);
        assert!((iou((0, 9), (5, 14)) - 5.0 / 15.0).abs() < 1e-12);
    }
}
