//! One stage's side of the runner: its state for the watchdog, its statistics, and the
//! channel operations that give up when the run stops.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, SendTimeoutError, Sender};

use super::{Runner, TICK};

/// `working_since` of a stage that is not inside [`StageHandle::work`].
const IDLE: u64 = u64::MAX;

/// What the watchdog and the statistics see of a stage.
pub(super) struct StageState {
    name: &'static str,
    /// Nanoseconds after the runner's start at which the current work began, or [`IDLE`].
    working_since: AtomicU64,
    busy_ns: AtomicU64,
    items: AtomicU64,
}

impl StageState {
    pub(super) fn new(name: &'static str) -> Self {
        Self {
            name,
            working_since: AtomicU64::new(IDLE),
            busy_ns: AtomicU64::new(0),
            items: AtomicU64::new(0),
        }
    }

    pub(super) fn name(&self) -> &'static str {
        self.name
    }

    /// How long the current piece of work has lasted, if the stage is working.
    pub(super) fn working_for(&self, started: Instant) -> Option<Duration> {
        let since = self.working_since.load(Ordering::SeqCst);
        (since != IDLE).then(|| {
            started
                .elapsed()
                .saturating_sub(Duration::from_nanos(since))
        })
    }

    pub(super) fn stats(&self) -> StageStats {
        StageStats {
            name: self.name,
            busy: Duration::from_nanos(self.busy_ns.load(Ordering::SeqCst)),
            items: self.items.load(Ordering::SeqCst),
        }
    }
}

/// A stage's busy time (working, not waiting on channels) and the items it counted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StageStats {
    pub name: &'static str,
    pub busy: Duration,
    pub items: u64,
}

/// What a stage's thread holds: time its work, count its items, move data through channels.
pub struct StageHandle<'r> {
    runner: &'r Runner,
    state: Arc<StageState>,
}

impl<'r> StageHandle<'r> {
    pub(super) fn new(runner: &'r Runner, state: Arc<StageState>) -> Self {
        Self { runner, state }
    }

    /// Runs one piece of work: timed as busy, and watched for stalls while it runs.
    pub fn work<T>(&self, f: impl FnOnce() -> T) -> T {
        let start = self.runner.started.elapsed().as_nanos() as u64;
        self.state.working_since.store(start, Ordering::SeqCst);
        let t = Instant::now();
        let out = f();
        let busy = t.elapsed().as_nanos() as u64;
        self.state.busy_ns.fetch_add(busy, Ordering::SeqCst);
        self.state.working_since.store(IDLE, Ordering::SeqCst);
        out
    }

    /// Counts `n` items done.
    pub fn count(&self, n: u64) {
        self.state.items.fetch_add(n, Ordering::SeqCst);
    }

    /// Whether the run was stopped: the stage should end.
    pub fn stopped(&self) -> bool {
        self.runner.is_stopped()
    }

    /// Sends `item` downstream, waiting while the channel is full; `false` when the receiver
    /// is gone or the run was stopped (the stage should end).
    pub fn send<T>(&self, tx: &Sender<T>, mut item: T) -> bool {
        loop {
            if self.stopped() {
                return false;
            }
            match tx.send_timeout(item, TICK) {
                Ok(()) => return true,
                Err(SendTimeoutError::Disconnected(_)) => return false,
                Err(SendTimeoutError::Timeout(back)) => item = back,
            }
        }
    }

    /// Receives from upstream; `None` at the end of the stream or when the run was stopped.
    pub fn recv<T>(&self, rx: &Receiver<T>) -> Option<T> {
        recv_until_stopped(rx, self.runner, || {})
    }
}

/// Receives from `rx`, giving up when `runner` is stopped or the channel closes; `on_tick`
/// runs each time a [`TICK`] passes without an item.
pub(super) fn recv_until_stopped<T>(
    rx: &Receiver<T>,
    runner: &Runner,
    on_tick: impl Fn(),
) -> Option<T> {
    loop {
        if runner.is_stopped() {
            return None;
        }
        match rx.recv_timeout(TICK) {
            Ok(item) => return Some(item),
            Err(RecvTimeoutError::Disconnected) => return None,
            Err(RecvTimeoutError::Timeout) => on_tick(),
        }
    }
}
