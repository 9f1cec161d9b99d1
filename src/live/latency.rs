//! Latency percentiles over a long live run, in bounded memory.
//!
//! Input: one latency sample (ms) per frame. Output: [`Percentiles`] (p50, p95, p99, max) over
//! the whole run and over the window since the last [`LatencyLog::take_window`] call (the
//! per-second log line). Never fails: non-finite or negative samples are ignored.
//!
//! * **Storage**: a histogram of [`BIN_MS`] = 0.1 ms bins from 0 to [`RANGE_MS`] = 10 s plus
//!   one overflow bin, and the exact maximum, for the run and for the window: about 1.6 MB whatever the run's length.
//! * **Percentile**: nearest rank. The q-th percentile of `n` samples is the `⌈q/100 · n⌉`-th
//!   smallest (at least the 1st). It is reported as the upper edge of that sample's bin,
//!   capped at the exact maximum: never below the true value, at most 0.1 ms above it. A rank
//!   in the overflow bin (≥ 10 s) reports the exact maximum.

use serde::Serialize;

/// Histogram bin width (ms): the resolution of every percentile but `max`.
pub const BIN_MS: f64 = 0.1;
/// Samples from this value on (ms) share the overflow bin.
pub const RANGE_MS: f64 = 10_000.0;
/// Regular bins; index `BINS` is the overflow bin.
const BINS: usize = 100_000;

/// Latency percentiles (ms).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// A fixed-bin histogram with an exact maximum.
#[derive(Debug, Clone)]
struct Histogram {
    counts: Vec<u64>,
    n: u64,
    max: f64,
}

impl Histogram {
    fn new() -> Self {
        Self {
            counts: vec![0; BINS + 1],
            n: 0,
            max: 0.0,
        }
    }

    fn bin(ms: f64) -> usize {
        if ms >= RANGE_MS {
            BINS
        } else {
            ((ms / BIN_MS) as usize).min(BINS - 1)
        }
    }

    fn record(&mut self, bin: usize, ms: f64) {
        self.counts[bin] += 1;
        self.n += 1;
        self.max = self.max.max(ms);
    }

    /// The nearest-rank `q`-th percentile (see the module docs).
    fn percentile(&self, q: f64) -> f64 {
        let rank = ((q / 100.0 * self.n as f64).ceil() as u64).clamp(1, self.n);
        let mut seen = 0;
        for (bin, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                if bin == BINS {
                    return self.max;
                }
                // (bin + 1) / 10 rather than (bin + 1) × 0.1: 4.6, not 4.6000000000000005.
                return ((bin + 1) as f64 / (1.0 / BIN_MS)).min(self.max);
            }
        }
        self.max
    }

    fn percentiles(&self) -> Option<Percentiles> {
        (self.n > 0).then(|| Percentiles {
            p50: self.percentile(50.0),
            p95: self.percentile(95.0),
            p99: self.percentile(99.0),
            max: self.max,
        })
    }

    fn clear(&mut self) {
        if self.n > 0 {
            self.counts.fill(0);
            self.n = 0;
            self.max = 0.0;
        }
    }
}

/// Latency samples of a run: the whole run and the current window (see the module docs).
#[derive(Debug, Clone)]
pub struct LatencyLog {
    total: Histogram,
    window: Histogram,
}

impl Default for LatencyLog {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyLog {
    /// An empty log.
    pub fn new() -> Self {
        Self {
            total: Histogram::new(),
            window: Histogram::new(),
        }
    }

    /// Records one sample in milliseconds (non-finite or negative samples are ignored).
    pub fn record(&mut self, ms: f64) {
        if !(ms.is_finite() && ms >= 0.0) {
            return;
        }
        let bin = Histogram::bin(ms);
        self.total.record(bin, ms);
        self.window.record(bin, ms);
    }

    /// Percentiles over every sample so far (None before the first).
    pub fn total(&self) -> Option<Percentiles> {
        self.total.percentiles()
    }

    /// Percentiles over the samples since the last call (the per-second log line), then starts a new window.
    pub fn take_window(&mut self) -> Option<Percentiles> {
        let p = self.window.percentiles();
        self.window.clear();
        p
    }

    /// Samples recorded so far (ignored ones not counted).
    pub fn count(&self) -> u64 {
        self.total.n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64) -> bool {
        // Never below the true value, at most one bin above it.
        got >= want - 1e-9 && got <= want + BIN_MS + 1e-9
    }

    #[test]
    fn one_to_a_hundred() {
        let mut log = LatencyLog::new();
        assert_eq!(log.total(), None);
        for ms in 1..=100 {
            log.record(f64::from(ms));
        }
        let p = log.total().unwrap();
        assert!(close(p.p50, 50.0), "{p:?}");
        assert!(close(p.p95, 95.0), "{p:?}");
        assert!(close(p.p99, 99.0), "{p:?}");
        assert_eq!(p.max, 100.0);
        assert_eq!(log.count(), 100);
    }

    #[test]
    fn nearest_rank_on_few_samples() {
        let mut log = LatencyLog::new();
        // Sorted: 2.25, 7.5, 20.0. Ranks: p50 ⌈1.5⌉ = 2, p95 ⌈2.85⌉ = 3, p99 3.
        for ms in [20.0, 2.25, 7.5] {
            log.record(ms);
        }
        let p = log.total().unwrap();
        assert!(close(p.p50, 7.5), "{p:?}");
        assert_eq!(p.p95, 20.0, "capped at the exact max");
        assert_eq!(p.p99, 20.0);
        // A single sample is every percentile.
        let mut one = LatencyLog::new();
        one.record(3.0);
        let p = one.total().unwrap();
        assert!(close(p.p50, 3.0) && p.p50 <= 3.0 && p.max == 3.0, "{p:?}");
    }

    #[test]
    fn bad_samples_are_ignored() {
        let mut log = LatencyLog::new();
        for ms in [f64::NAN, f64::INFINITY, -1.0, f64::NEG_INFINITY] {
            log.record(ms);
        }
        assert_eq!(log.count(), 0);
        assert_eq!(log.total(), None);
        log.record(0.0);
        assert_eq!(
            log.total(),
            Some(Percentiles {
                p50: 0.0,
                p95: 0.0,
                p99: 0.0,
                max: 0.0
            })
        );
    }

    #[test]
    fn windows_restart_but_the_total_keeps_everything() {
        let mut log = LatencyLog::new();
        for _ in 0..10 {
            log.record(5.0);
        }
        let w = log.take_window().unwrap();
        assert!(close(w.p50, 5.0) && w.max == 5.0, "{w:?}");
        assert_eq!(log.take_window(), None, "nothing since the last call");
        for _ in 0..30 {
            log.record(40.0);
        }
        let w = log.take_window().unwrap();
        assert!(close(w.p50, 40.0) && close(w.p95, 40.0), "{w:?}");
        // Total: 10 × 5 then 30 × 40; rank 20 (p50) is a 40.
        let t = log.total().unwrap();
        assert!(close(t.p50, 40.0), "{t:?}");
        assert_eq!(log.count(), 40);
    }

    #[test]
    fn overflow_reports_the_exact_max() {
        let mut log = LatencyLog::new();
        for _ in 0..98 {
            log.record(1.0);
        }
        log.record(12_000.0);
        log.record(25_000.0);
        let p = log.total().unwrap();
        // 100 samples: p99 is rank 99, in the overflow bin.
        assert_eq!(p.p99, 25_000.0);
        assert!(close(p.p95, 1.0));
        assert_eq!(p.max, 25_000.0);
        // Just under the range still has its own bin.
        let mut edge = LatencyLog::new();
        edge.record(9_999.95);
        edge.record(9_999.95);
        let e = edge.total().unwrap();
        assert!(close(e.p50, 9_999.95), "{e:?}");
    }
}
