//! Latency of repeated calls: p50/p99 in milliseconds after warm-up calls (cuDNN autotuning,
//! engine builds and allocator growth happen in those).

use std::time::Instant;

use serde::Serialize;

/// Calls before the timed ones.
pub const WARMUP_CALLS: usize = 5;

/// Median and 99th percentile of one call, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Times `runs` calls of `call` (at least one) after [`WARMUP_CALLS`] untimed ones.
pub fn time_calls(
    runs: usize,
    mut call: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Latency> {
    for _ in 0..WARMUP_CALLS {
        call()?;
    }
    let mut ms = Vec::with_capacity(runs.max(1));
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        call()?;
        ms.push(start.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    Ok(Latency {
        p50_ms: at(0.5),
        p99_ms: at(0.99),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_timed_calls_only() {
        let mut calls = 0;
        let latency = time_calls(3, || {
            calls += 1;
            // The warm-up calls are slow; they must not reach the percentiles.
            if calls <= WARMUP_CALLS {
                std::thread::sleep(std::time::Duration::from_millis(30));
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(calls, WARMUP_CALLS + 3);
        assert!(latency.p99_ms < 20.0, "{latency:?}");
        assert!(latency.p50_ms <= latency.p99_ms);
    }

    #[test]
    fn an_error_stops_the_timing() {
        let err = time_calls(3, || anyhow::bail!("the GPU went away")).unwrap_err();
        assert_eq!(err.to_string(), "the GPU went away");
    }
}
