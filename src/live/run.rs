//! `endoscan live`: source → capture loop → display pipeline (the `endoscan` element, display,
//! recording), watched from the calling thread: the element's bus messages, a log line a
//! second, the stop conditions (Ctrl-C/SIGTERM, `--seconds`, the end of a file), and the
//! statistics at the end.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use gstreamer as gst;
use gstreamer::prelude::*;

use super::args::{Display, LiveArgs};
use super::capture::{Capture, CaptureCounts, CaptureEnd};
use super::display::{DisplayPipeline, DisplaySettings};
use super::latency::Percentiles;
use super::monitor::Monitor;
use super::source::{connect, SourceSpec, TestClip};
use super::stats::{write_stats, LiveStats};
use crate::element::settings::Settings as ElementSettings;
use crate::live::alert::Persistence;

/// Longest wait for the recording to be finished at the end.
const FINISH_TIMEOUT: Duration = Duration::from_secs(10);

/// A live run, checked and resolved from the command line.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    pub source: SourceSpec,
    pub element: ElementSettings,
    pub display: Display,
    pub record: Option<PathBuf>,
    pub seconds: Option<f64>,
    pub tone: bool,
}

impl LiveConfig {
    /// Checks the command line (thresholds, persistence, source) before anything starts.
    pub fn from_args(args: &LiveArgs) -> anyhow::Result<Self> {
        let model = crate::infer::model_or_bundled(args.model.as_deref())?;
        // The element turns a model that fails into AI OFF; asked for by name, a missing file
        // is the user's typo: say so before anything starts.
        if !model.is_file() {
            anyhow::bail!("{}: no such model file", model.display());
        }
        let element = ElementSettings {
            model: Some(model),
            provider: args.backend.provider,
            device: args.backend.device,
            threads: args.backend.threads.unwrap_or(0) as u32,
            preprocess: args.backend.preprocess,
            on: args.on,
            off: args.off,
            persistence: Persistence {
                on_k: args.persist_on,
                of_n: args.persist_window,
                off_m: args.persist_off,
            },
            mask_outside_area: !args.no_mask,
            interval: args.interval.max(1),
            ..ElementSettings::default()
        };
        // The same check the worker makes, up front: a bad setting is one clear error line.
        crate::live::alert::LiveAlerts::new(
            element.on,
            element.off,
            element.tau_ms,
            element.persistence,
        )?;
        if let Some(s) = args.seconds.filter(|s| !(s.is_finite() && *s > 0.0)) {
            anyhow::bail!("--seconds {s}: must be a positive number of seconds");
        }
        Ok(Self {
            source: SourceSpec::parse(&args.source)?,
            element,
            display: args.display,
            record: args.record.clone(),
            seconds: args.seconds,
            tone: args.tone,
        })
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct LiveReport {
    pub stats: LiveStats,
    /// Lesion enters (synthetic source) → alert starts.
    pub alert_latency_ms: Option<Percentiles>,
    pub alerts: u64,
    pub end: CaptureEnd,
}

/// `endoscan live`.
pub fn run(args: &LiveArgs) -> anyhow::Result<()> {
    let config = LiveConfig::from_args(args)?;
    let stop = super::signals::install();
    let report = run_live(&config, stop)?;
    if let Some(path) = &args.stats {
        write_stats(path, &report.stats)?;
    }
    let s = &report.stats;
    eprintln!(
        "live: {} frames captured, {} shown ({:.1} fps), {} scored, {} alerts; \
         capture→display p50 {:.1} ms, p99 {:.1} ms; {} reconnections",
        s.frames.captured,
        s.frames.displayed,
        s.display_fps,
        s.frames.inferred,
        report.alerts,
        s.latency_ms.p50,
        s.latency_ms.p99,
        s.reconnects
    );
    Ok(())
}

/// Runs `config` until `stop` is raised, `--seconds` pass or a file ends.
pub fn run_live(config: &LiveConfig, stop: &AtomicBool) -> anyhow::Result<LiveReport> {
    crate::gst::init().map_err(|e| anyhow::anyhow!(e))?;
    let clip = match &config.source {
        SourceSpec::Test(spec) => {
            tracing::info!(
                "test://: rendering {:.0} s of synthetic endoscope at {}x{}, {} fps",
                spec.seconds,
                spec.width,
                spec.height,
                spec.fps
            );
            Some(Arc::new(TestClip::render(spec)))
        }
        _ => None,
    };
    let (first, format) = connect(&config.source, None, clip.as_ref())
        .with_context(|| format!("{}: cannot open the source", config.source.describe()))?;
    let display = DisplayPipeline::start(&DisplaySettings {
        format,
        display: config.display,
        record: config.record.clone(),
        element: config.element.clone(),
    })?;
    tracing::info!(
        "live: {} at {}x{}, {:.2} fps{}",
        config.source.describe(),
        format.width,
        format.height,
        format.fps,
        config
            .record
            .as_ref()
            .map_or(String::new(), |p| format!(", recording to {}", p.display()))
    );
    let counts = CaptureCounts::default();
    let halt = AtomicBool::new(false);
    let started = Instant::now();
    let capture = Capture {
        spec: &config.source,
        format,
        clip,
        display: &display,
        stop: &halt,
        counts: &counts,
    };
    let mut monitor = Monitor::new(config.tone);
    let (end, watched) = std::thread::scope(|scope| {
        let thread = scope.spawn(|| capture.run(first));
        let watched = watch(
            &display,
            config,
            stop,
            &thread,
            &mut monitor,
            &counts,
            started,
        );
        halt.store(true, Ordering::SeqCst);
        let end = thread.join().unwrap_or(CaptureEnd::Stopped);
        (end, watched)
    });
    let elapsed = started.elapsed();
    if let Err(e) = display.finish(FINISH_TIMEOUT) {
        tracing::warn!("live: {e:#}");
    }
    watched?;
    Ok(monitor.report(&counts, &display.shown, elapsed, end))
}

/// Watches the display pipeline's bus until a stop condition; an error on the bus ends the run.
fn watch(
    display: &DisplayPipeline,
    config: &LiveConfig,
    stop: &AtomicBool,
    capture: &std::thread::ScopedJoinHandle<'_, CaptureEnd>,
    monitor: &mut Monitor,
    counts: &CaptureCounts,
    started: Instant,
) -> anyhow::Result<()> {
    let bus = display.pipeline.bus().context("a pipeline has a bus")?;
    let limit = config.seconds.map(Duration::from_secs_f64);
    loop {
        if stop.load(Ordering::SeqCst) {
            tracing::info!("live: stopping (signal)");
            return Ok(());
        }
        if limit.is_some_and(|l| started.elapsed() >= l) || capture.is_finished() {
            return Ok(());
        }
        if let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(50)) {
            monitor.on_message(&msg, counts)?;
        }
        monitor.tick(counts, &display.shown);
    }
}
