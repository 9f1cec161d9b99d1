//! What the live run's watcher keeps: the element's bus messages (scores, alerts, AI status)
//! turned into counts and latencies, a log line a second, the optional alert tone, and the
//! statistics at the end.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;

use super::capture::{CaptureCounts, CaptureEnd};
use super::display::Shown;
use super::latency::LatencyLog;
use super::run::LiveReport;
use super::stats::{FrameCounts, LiveStats, ModelMs};

/// How often the run logs its state.
const LOG_EVERY: Duration = Duration::from_secs(1);

/// The watcher's state (see the module docs).
pub struct Monitor {
    tone: bool,
    model_ms: LatencyLog,
    inferred: u64,
    alerts: u64,
    alert_latency: LatencyLog,
    onsets_seen: usize,
    /// When the model first scored a frame in a trusted area: lesions that came into view
    /// before it (while the model loaded, the area was not yet trusted) say nothing of the
    /// alert rule's latency.
    first_scored: Option<Instant>,
    status: String,
    off_since: Option<Instant>,
    off: Duration,
    last_log: Instant,
    last_displayed: u64,
    last_captured: u64,
    last_inferred: u64,
}

impl Monitor {
    pub fn new(tone: bool) -> Self {
        let now = Instant::now();
        Self {
            tone,
            model_ms: LatencyLog::new(),
            inferred: 0,
            alerts: 0,
            alert_latency: LatencyLog::new(),
            onsets_seen: 0,
            first_scored: None,
            status: "AI OFF".into(),
            off_since: Some(now),
            off: Duration::ZERO,
            last_log: now,
            last_displayed: 0,
            last_captured: 0,
            last_inferred: 0,
        }
    }

    /// Takes one bus message; an error message ends the run with its text.
    pub fn on_message(&mut self, msg: &gst::Message, counts: &CaptureCounts) -> anyhow::Result<()> {
        let src = || {
            msg.src()
                .map_or("?".into(), |s| s.path_string().to_string())
        };
        match msg.view() {
            gst::MessageView::Error(e) => anyhow::bail!(
                "{}: {}{}",
                src(),
                e.error(),
                e.debug().map_or(String::new(), |d| format!(" ({d})"))
            ),
            gst::MessageView::Warning(w) => tracing::warn!("{}: {}", src(), w.error()),
            gst::MessageView::Element(el) => {
                if let Some(s) = el.structure() {
                    self.on_element(s, counts);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn on_element(&mut self, s: &gst::StructureRef, counts: &CaptureCounts) {
        match s.name().as_str() {
            "endoscan-score" => {
                self.inferred += 1;
                // Model time is of frames the model saw: a frame without an image area (or a
                // white-out) is located and dropped in a millisecond, and says nothing of it.
                if let (Ok("ok"), Ok(ms)) = (s.get::<&str>("status"), s.get::<f64>("model-ms")) {
                    self.model_ms.record(ms);
                    self.first_scored.get_or_insert_with(Instant::now);
                }
            }
            "endoscan-alert" if s.get::<&str>("state") == Ok("start") => {
                self.alerts += 1;
                tracing::info!("live: ALERT (p smoothed ≥ on, persistent)");
                self.measure_alert_latency(counts);
                if self.tone {
                    play_tone();
                }
            }
            "endoscan-alert" => tracing::info!("live: alert ended"),
            "endoscan-status" => {
                let status = s.get::<&str>("status").unwrap_or("?").to_string();
                let reason = s.get::<&str>("reason").unwrap_or("");
                tracing::info!(
                    "live: {status}{}",
                    if reason.is_empty() {
                        String::new()
                    } else {
                        format!(": {reason}")
                    }
                );
                self.set_status(status);
            }
            _ => {}
        }
    }

    /// Latency from the newest lesion onset not yet matched to this alert.
    fn measure_alert_latency(&mut self, counts: &CaptureCounts) {
        let onsets = counts.lesion_onsets.lock().expect("onset lock");
        if onsets.len() > self.onsets_seen {
            let onset = onsets[onsets.len() - 1];
            self.onsets_seen = onsets.len();
            if self.first_scored.is_some_and(|first| onset >= first) {
                self.alert_latency
                    .record(onset.elapsed().as_secs_f64() * 1e3);
            }
        }
    }

    fn set_status(&mut self, status: String) {
        let now = Instant::now();
        if let Some(since) = self.off_since.take() {
            self.off += now - since;
        }
        if status == "AI OFF" {
            self.off_since = Some(now);
        }
        self.status = status;
    }

    /// Logs the last second's rates and latencies, once a second.
    pub fn tick(&mut self, counts: &CaptureCounts, shown: &Shown) {
        let dt = self.last_log.elapsed();
        if dt < LOG_EVERY {
            return;
        }
        self.last_log = Instant::now();
        let displayed = shown.displayed.load(Ordering::Relaxed);
        let captured = counts.captured.load(Ordering::Relaxed);
        let rate = |now: u64, before: u64| (now - before) as f64 / dt.as_secs_f64();
        let latency = shown.latency.lock().expect("latency lock").take_window();
        let model = self.model_ms.take_window();
        tracing::info!(
            "live: {:.1} fps captured, {:.1} shown, {:.1} scored; capture→display p50 {} p99 {} max {}; model p50 {} p99 {}; {}",
            rate(captured, self.last_captured),
            rate(displayed, self.last_displayed),
            rate(self.inferred, self.last_inferred),
            ms(latency.map(|p| p.p50)),
            ms(latency.map(|p| p.p99)),
            ms(latency.map(|p| p.max)),
            ms(model.map(|p| p.p50)),
            ms(model.map(|p| p.p99)),
            self.status
        );
        (self.last_displayed, self.last_captured, self.last_inferred) =
            (displayed, captured, self.inferred);
    }

    /// The run's statistics.
    pub fn report(
        mut self,
        counts: &CaptureCounts,
        shown: &Shown,
        elapsed: Duration,
        end: CaptureEnd,
    ) -> LiveReport {
        self.set_status(String::new());
        let secs = elapsed.as_secs_f64().max(1e-9);
        let captured = counts.captured.load(Ordering::Relaxed);
        let displayed = shown.displayed.load(Ordering::Relaxed);
        let latency = shown.latency.lock().expect("latency lock").total();
        let model = self.model_ms.total();
        let lost = Duration::from_millis(counts.lost_ms.load(Ordering::Relaxed));
        LiveReport {
            stats: LiveStats {
                source_fps: captured as f64 / secs,
                display_fps: displayed as f64 / secs,
                inferred_fps: self.inferred as f64 / secs,
                frames: FrameCounts {
                    captured,
                    displayed,
                    inferred: self.inferred,
                    skipped: captured.saturating_sub(self.inferred),
                },
                latency_ms: latency.unwrap_or_default(),
                model_ms: model.map(ModelMs::from).unwrap_or_default(),
                reconnects: counts.reconnects.load(Ordering::Relaxed),
                ai_off_s: (self.off + lost).min(elapsed).as_secs_f64(),
            },
            alert_latency_ms: self.alert_latency.total(),
            alerts: self.alerts,
            end,
        }
    }
}

fn ms(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.1} ms"))
}

/// A short low tone (220 Hz, 0.3 s) on the default audio output, on a thread of its own; no
/// audio device is not an error.
fn play_tone() {
    std::thread::spawn(|| {
        let description = "audiotestsrc wave=sine freq=220 volume=0.4 num-buffers=15 samplesperbuffer=882 ! audioconvert ! autoaudiosink";
        let Ok(pipeline) = gst::parse::launch(description) else {
            return;
        };
        if pipeline.set_state(gst::State::Playing).is_err() {
            return;
        }
        if let Some(bus) = pipeline.bus() {
            let _ = bus.timed_pop_filtered(
                gst::ClockTime::from_seconds(2),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            );
        }
        let _ = pipeline.set_state(gst::State::Null);
    });
}
