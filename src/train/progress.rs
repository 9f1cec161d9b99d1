//! Training progress: an indicatif bar with loss, learning rate, images/s and ETA when stderr is
//! a terminal; otherwise an info log line every [`LOG_EVERY_FRACTION`] of the run or
//! [`LOG_EVERY_SECONDS`], whichever comes first (CI logs stay readable).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

/// Log lines (without a terminal) at least every this fraction of the steps.
pub const LOG_EVERY_FRACTION: f64 = 0.05;
/// … and at least every this many seconds.
pub const LOG_EVERY_SECONDS: u64 = 30;

/// Reports steps of one process of a run.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    batch: usize,
    first: u64,
    started: Instant,
    last_log: Instant,
    log_every: u64,
}

impl Progress {
    /// Steps `first..total` of batches of `batch` images are about to run.
    pub fn new(first: u64, total: u64, batch: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar =
                crate::util::progress::bar(Some(total), "train", "steps").with_position(first);
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        Self {
            bar,
            total,
            batch,
            first,
            started: Instant::now(),
            last_log: Instant::now(),
            log_every: ((total as f64 * LOG_EVERY_FRACTION).ceil() as u64).max(1),
        }
    }

    /// Training images per second in this process so far.
    pub fn images_per_second(&self, done: u64) -> f64 {
        let secs = self.started.elapsed().as_secs_f64();
        ((done - self.first) * self.batch as u64) as f64 / secs.max(1e-9)
    }

    /// `done` steps are finished, the last with `loss` at `lr`.
    pub fn step(&mut self, done: u64, loss: f64, lr: f64) {
        let rate = self.images_per_second(done);
        match &self.bar {
            Some(bar) => {
                bar.set_position(done);
                bar.set_message(format!("loss {loss:.4}  lr {lr:.2e}  {rate:.1} img/s"));
            }
            None => {
                let due = done.is_multiple_of(self.log_every)
                    || self.last_log.elapsed() >= Duration::from_secs(LOG_EVERY_SECONDS)
                    || done == self.total;
                if due {
                    self.last_log = Instant::now();
                    let left = (self.total - done) as f64 * self.batch as f64 / rate.max(1e-9);
                    tracing::info!(
                        "step {done}/{}  loss {loss:.4}  lr {lr:.2e}  {rate:.1} img/s  ETA {}",
                        self.total,
                        clock(left)
                    );
                }
            }
        }
    }

    /// Prints a line without tearing the bar.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => tracing::info!("{line}"),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `1h02m03s`, `4m05s` or `6s`.
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, s) => format!("{h}h{m:02}m{s:02}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_reads_naturally() {
        assert_eq!(clock(5.4), "5s");
        assert_eq!(clock(245.0), "4m05s");
        assert_eq!(clock(3723.0), "1h02m03s");
        assert_eq!(clock(-1.0), "0s");
    }
}
