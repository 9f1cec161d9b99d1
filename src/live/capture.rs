//! The capture loop of `endoscan live`: pulls frames from the source and pushes them into the
//! display pipeline as they come, never waiting for anything downstream.
//!
//! When the source is lost it pushes NO SIGNAL frames at the source's rate (so the screen
//! says so instead of freezing) and connects again on a thread of its own, with back-off
//! (0.5 s doubling to 5 s), until the source is back or the run stops.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TryRecvError};

use super::display::DisplayPipeline;
use super::source::{connect, LiveSource, Pull, SourceFormat, SourceSpec, TestClip};

/// Wait between connection attempts while the source has been gone less than [`SHORT_LOSS`].
const RETRY_SOON: Duration = Duration::from_millis(500);
/// Wait between connection attempts after that.
const RETRY_LATER: Duration = Duration::from_secs(2);
const SHORT_LOSS: Duration = Duration::from_secs(10);

/// What the capture loop counted (read by the run's log and statistics).
#[derive(Default)]
pub struct CaptureCounts {
    /// Real frames from the source.
    pub captured: AtomicU64,
    pub no_signal_frames: AtomicU64,
    pub reconnects: AtomicU64,
    /// Milliseconds without a source.
    pub lost_ms: AtomicU64,
    /// When frames showing a lesion started (after frames without), for alert latency.
    pub lesion_onsets: Mutex<Vec<Instant>>,
}

/// Why the capture loop ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureEnd {
    Stopped,
    /// A file played as if live reached its end.
    SourceEnded,
    /// The display pipeline no longer takes frames.
    DisplayGone,
}

/// What the loop works with.
pub struct Capture<'a> {
    pub spec: &'a SourceSpec,
    pub format: SourceFormat,
    pub clip: Option<Arc<TestClip>>,
    pub display: &'a DisplayPipeline,
    pub stop: &'a AtomicBool,
    pub counts: &'a CaptureCounts,
}

type Connected = anyhow::Result<(Box<dyn LiveSource>, SourceFormat)>;

/// A lost source and the reconnection under way.
struct Lost {
    since: Instant,
    next_attempt: Instant,
    attempt: Option<Receiver<Connected>>,
    next_frame: Instant,
}

impl Capture<'_> {
    /// Runs until stopped, the file ends or the display goes away.
    pub fn run(&self, first: Box<dyn LiveSource>) -> CaptureEnd {
        let period = Duration::from_secs_f64(1.0 / self.format.fps);
        let wait = period.min(Duration::from_millis(100));
        let mut source = Some(first);
        let mut lost: Option<Lost> = None;
        let mut showed_lesion = false;
        while !self.stop.load(Ordering::SeqCst) {
            if let Some(src) = source.as_mut() {
                match src.pull(wait) {
                    Pull::Frame(buffer, lesion) => {
                        self.note_lesion(lesion, &mut showed_lesion);
                        self.counts.captured.fetch_add(1, Ordering::Relaxed);
                        if !self.display.push(buffer) {
                            return CaptureEnd::DisplayGone;
                        }
                    }
                    Pull::Nothing => {}
                    Pull::Ended => return CaptureEnd::SourceEnded,
                    Pull::Lost(reason) => {
                        tracing::warn!(
                            "{}: source lost ({reason}); showing NO SIGNAL and reconnecting",
                            self.spec.describe()
                        );
                        source = None;
                        let now = Instant::now();
                        lost = Some(Lost {
                            since: now,
                            next_attempt: now + RETRY_SOON,
                            attempt: None,
                            next_frame: now,
                        });
                    }
                }
                continue;
            }
            let state = lost.as_mut().expect("no source means lost");
            if !self.show_no_signal(state, period) {
                return CaptureEnd::DisplayGone;
            }
            if let Some(back) = self.reconnect(state) {
                let gone = state.since.elapsed();
                self.counts
                    .lost_ms
                    .fetch_add(gone.as_millis() as u64, Ordering::Relaxed);
                self.counts.reconnects.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    "{}: source back after {:.1} s",
                    self.spec.describe(),
                    gone.as_secs_f64()
                );
                source = Some(back);
                lost = None;
            }
        }
        if let Some(state) = lost {
            self.counts
                .lost_ms
                .fetch_add(state.since.elapsed().as_millis() as u64, Ordering::Relaxed);
        }
        CaptureEnd::Stopped
    }

    fn note_lesion(&self, lesion: Option<bool>, showed: &mut bool) {
        if let Some(now_shows) = lesion {
            if now_shows && !*showed {
                self.counts
                    .lesion_onsets
                    .lock()
                    .expect("onset lock")
                    .push(Instant::now());
            }
            *showed = now_shows;
        }
    }

    /// Pushes a NO SIGNAL frame when one is due, then sleeps a little.
    fn show_no_signal(&self, state: &mut Lost, period: Duration) -> bool {
        let now = Instant::now();
        if now >= state.next_frame {
            if !self.display.push_no_signal() {
                return false;
            }
            self.counts.no_signal_frames.fetch_add(1, Ordering::Relaxed);
            state.next_frame += period;
            if state.next_frame < now {
                state.next_frame = now + period;
            }
        }
        let pause = state
            .next_frame
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(10));
        std::thread::sleep(pause);
        true
    }

    /// Starts a connection attempt when one is due; returns the source once one succeeded.
    fn reconnect(&self, state: &mut Lost) -> Option<Box<dyn LiveSource>> {
        if state.attempt.is_none() && Instant::now() >= state.next_attempt {
            let (tx, rx) = crossbeam_channel::bounded(1);
            let spec = self.spec.clone();
            let size = Some((self.format.width, self.format.height));
            let clip = self.clip.clone();
            std::thread::spawn(move || {
                let _ = tx.send(connect(&spec, size, clip.as_ref()));
            });
            state.attempt = Some(rx);
        }
        let result = match state.attempt.as_ref()?.try_recv() {
            Ok(result) => result,
            Err(TryRecvError::Empty) => return None,
            Err(TryRecvError::Disconnected) => Err(anyhow::anyhow!("the connection thread died")),
        };
        state.attempt = None;
        match result {
            Ok((source, _)) => Some(source),
            Err(e) => {
                tracing::debug!("{}: reconnection failed: {e:#}", self.spec.describe());
                let wait = if state.since.elapsed() < SHORT_LOSS {
                    RETRY_SOON
                } else {
                    RETRY_LATER
                };
                state.next_attempt = Instant::now() + wait;
                None
            }
        }
    }
}
