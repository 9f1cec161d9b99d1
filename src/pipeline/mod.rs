//! The stage runner every mode composes its stages with: threads joined by bounded channels,
//! per-stage busy time and item counts, first-error propagation, a clean stop, and a stall
//! watchdog.
//!
//! A mode spawns one scoped thread per stage, each given a [`StageHandle`] from the same
//! [`Runner`], and drives the last stage on its own thread with [`Runner::recv`]:
//!
//! ```text
//! source ──ch──▶ stage ──ch──▶ stage ──ch──▶ caller (Runner::recv)
//! ```
//!
//! * **Back-pressure**: channels are bounded; a slow stage blocks the one before it, back to the
//!   decoder, and nothing is dropped (offline). Live modes use a latest-only slot instead.
//! * **Errors**: a stage that fails returns its error and stops; the stages after it finish
//!   what they already received (partial results are complete up to the failure), the stages
//!   before it stop at their next send. [`first_error`] picks the root cause (the earliest
//!   stage's error).
//! * **Stop**: [`Runner::stop`] (or a stall) makes every [`StageHandle::send`] and
//!   [`StageHandle::recv`] give up at once and calls the abort hooks stages registered (e.g.
//!   setting a GStreamer pipeline to NULL), so no thread stays blocked.
//! * **Watchdog**: a stage is *working* while inside [`StageHandle::work`]. One that stays in
//!   a single piece of work longer than the stall limit has stalled: the run is stopped with an
//!   error naming the stage and the input ([`Stalled`]), and the caller flushes what it has.

mod stage;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use stage::StageState;
pub use stage::{StageHandle, StageStats};

/// How long a stage may stay in one piece of work before the run counts as stalled.
pub const DEFAULT_STALL: Duration = Duration::from_secs(180);
/// How often blocked channel operations look at the stop flag and the watchdog.
const TICK: Duration = Duration::from_millis(100);

/// A stage that stopped making progress.
#[derive(Debug, thiserror::Error)]
#[error("{input}: the {stage} stage made no progress for {:.0} s; stopped (a hung decoder or encoder? raise --stall-timeout if the model is just slow)", .after.as_secs_f64())]
pub struct Stalled {
    pub stage: &'static str,
    pub input: String,
    pub after: Duration,
}

/// Runs one composition of stages: shared stop flag, stage states and abort hooks.
pub struct Runner {
    input: String,
    stall_after: Duration,
    stop: Arc<AtomicBool>,
    stages: Mutex<Vec<Arc<StageState>>>,
    aborts: Mutex<Vec<Box<dyn Fn() + Send + Sync>>>,
    stalled: Mutex<Option<Stalled>>,
    started: Instant,
    finished: AtomicBool,
}

impl Runner {
    /// A runner for stages reading `input` (named in errors), stalled after `stall_after`.
    pub fn new(input: impl Into<String>, stall_after: Duration) -> Self {
        Self {
            input: input.into(),
            stall_after,
            stop: Arc::new(AtomicBool::new(false)),
            stages: Mutex::new(Vec::new()),
            aborts: Mutex::new(Vec::new()),
            stalled: Mutex::new(None),
            started: Instant::now(),
            finished: AtomicBool::new(false),
        }
    }

    /// Registers a stage called `name`; the handle goes to the stage's thread.
    pub fn stage(&self, name: &'static str) -> StageHandle<'_> {
        let state = Arc::new(StageState::new(name));
        self.stages.lock().expect("stage list").push(state.clone());
        StageHandle::new(self, state)
    }

    /// Registers something to call when the run is stopped (unblocks a stage stuck in a call
    /// it cannot interrupt itself, e.g. a GStreamer push).
    pub fn on_abort(&self, abort: impl Fn() + Send + Sync + 'static) {
        self.aborts
            .lock()
            .expect("abort hooks")
            .push(Box::new(abort));
    }

    /// The flag a stage's own loops may poll (e.g. a decoder waiting for samples).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// Stops every stage: channel operations give up and abort hooks run.
    pub fn stop(&self) {
        if !self.stop.swap(true, Ordering::SeqCst) {
            for abort in self.aborts.lock().expect("abort hooks").iter() {
                abort();
            }
        }
    }

    /// Whether the run was stopped (on request or by the watchdog).
    pub fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Receives from the last stage on the caller's thread, watching for stalls meanwhile.
    /// `None` when the channel is closed, or when the run was stopped.
    pub fn recv<T>(&self, rx: &Receiver<T>) -> Option<T> {
        stage::recv_until_stopped(rx, self, || self.watch())
    }

    /// Watches for stalls on a thread of its own until [`Runner::finish`], for compositions
    /// whose caller works instead of waiting in [`Runner::recv`].
    pub fn watchdog<'scope>(
        &'scope self,
        scope: &'scope std::thread::Scope<'scope, '_>,
    ) -> std::thread::ScopedJoinHandle<'scope, ()> {
        scope.spawn(move || {
            while !self.finished.load(Ordering::SeqCst) && !self.is_stopped() {
                std::thread::sleep(TICK);
                self.watch();
            }
        })
    }

    /// Ends the watchdog: every stage has returned.
    pub fn finish(&self) {
        self.finished.store(true, Ordering::SeqCst);
    }

    /// Checks every stage for a stall; stops the run on the first one found.
    pub fn watch(&self) {
        let stalled = self
            .stages
            .lock()
            .expect("stage list")
            .iter()
            .find_map(|s| s.working_for(self.started).map(|d| (s.name(), d)))
            .filter(|&(_, d)| d >= self.stall_after);
        if let Some((stage, after)) = stalled {
            let mut slot = self.stalled.lock().expect("stall slot");
            if slot.is_none() {
                tracing::error!("{}: the {stage} stage stalled", self.input);
                *slot = Some(Stalled {
                    stage,
                    input: self.input.clone(),
                    after,
                });
            }
            drop(slot);
            self.stop();
        }
    }

    /// The stall that stopped the run, if any (taken once).
    pub fn take_stall(&self) -> Option<Stalled> {
        self.stalled.lock().expect("stall slot").take()
    }

    /// Busy time and item count of every stage, in registration order.
    pub fn stats(&self) -> Vec<StageStats> {
        self.stages
            .lock()
            .expect("stage list")
            .iter()
            .map(|s| s.stats())
            .collect()
    }

    /// Time since the runner was made.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// The root cause among stage results given in stage order: a stall first (it explains the
/// rest), then the earliest stage's error.
pub fn first_error(runner: &Runner, results: Vec<anyhow::Result<()>>) -> Option<anyhow::Error> {
    if let Some(stall) = runner.take_stall() {
        return Some(stall.into());
    }
    results.into_iter().find_map(Result::err)
}

#[cfg(test)]
mod tests;
