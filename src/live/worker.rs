//! The live inference worker: one thread that takes the newest frame from a [`LatestSlot`],
//! locates its image area (fail closed), prepares and scores it, smooths the score with
//! [`LiveAlerts`] and publishes a [`LiveResult`].
//!
//! The video thread never waits for it: it offers frames with [`Worker::offer`] (a copy of the
//! raw planes, converted to RGB here, off the video thread) and reads the newest result with
//! [`Worker::latest`]. A frame offered while the worker is busy displaces the one waiting, so
//! the model always sees the newest frame and a slow model costs results, never video.
//!
//! Failure modes: a model that does not load, or a scoring error, puts the worker in
//! [`WorkerState::Failed`] (the overlay says AI OFF); the thread ends and the video goes on.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::alert::{LiveAlerts, LiveStep, Persistence};
use super::slot::LatestSlot;
use crate::capture::Frame;
use crate::infer::stage::{score_batch, BatchSettings};
use crate::infer::{ClassifierOptions, Scorer};
use crate::localize::Finding;
use crate::overlay::canvas::{raw_to_rgb, RawLayout};
use crate::preprocess::stage::model_input;
use crate::preprocess::{
    AreaSettings, AreaTracker, ContentArea, FrameStatus, Prepare, TrackerSettings,
};

/// How long the worker waits for a frame before looking at the stop flag again.
const POLL: Duration = Duration::from_millis(100);

/// A copy of one raw video frame, as the element received it.
pub struct RawFrame {
    /// Position in the stream at the element (every frame counts, inferred or not).
    pub seq: u64,
    pub pts: Duration,
    pub layout: RawLayout,
    pub width: u32,
    pub height: u32,
    /// Each plane's bytes and stride, in the layout's plane order.
    pub planes: Vec<(Vec<u8>, usize)>,
    /// The stream restarted before this frame (the source came back): forget the history.
    pub restart: bool,
}

/// What the model said of one frame.
#[derive(Debug, Clone)]
pub struct LiveResult {
    pub seq: u64,
    pub pts: Duration,
    /// Frame score (0 for a frame the model did not see: no area, white-out, …).
    pub p: f32,
    pub step: LiveStep,
    pub status: FrameStatus,
    /// The trusted image area of the frame, if any.
    pub area: Option<Arc<ContentArea>>,
    /// Where the model's evidence is (frame pixels), for models with a class-activation map.
    pub finding: Option<Finding>,
    /// Wall time of locate + prepare + score.
    pub model_ms: f64,
}

/// Whether the worker can score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerState {
    /// Loading the model.
    Starting,
    Running,
    /// The model failed to load or to score: AI OFF, the reason says why.
    Failed(String),
}

/// How the worker scores.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub model: PathBuf,
    pub options: ClassifierOptions,
    pub preprocess: crate::cuda::select::PreprocessChoice,
    pub on: f32,
    pub off: f32,
    pub tau_ms: f64,
    pub persistence: Persistence,
}

/// Something that scores prepared frames: a loaded model, or a test's own scorer.
pub struct Model {
    pub scorer: Box<dyn Scorer>,
    pub prepare: Box<dyn Prepare + Send>,
    pub batch: BatchSettings,
    /// How the image area is found (the model's preprocessing settings).
    pub area: AreaSettings,
}

impl Model {
    /// Loads the ONNX model of `settings`.
    pub fn load(settings: &WorkerSettings) -> anyhow::Result<Self> {
        let model = crate::infer::Model::load(&settings.model, &settings.options)?;
        let meta = model.metadata().clone();
        let prepare = model.preprocessor().clone();
        Ok(Self {
            batch: BatchSettings {
                input_size: meta.input_size,
                normalization: meta.normalization,
                batch: 1,
            },
            area: *prepare.area_settings(),
            prepare: crate::cuda::select::prepare_stage(settings.preprocess, &prepare)?,
            scorer: model.into_scorer(),
        })
    }
}

type Listener = Box<dyn Fn(&LiveResult) + Send>;

/// The shared side of the worker: the slot in, the newest result and the state out.
struct Shared {
    slot: LatestSlot<RawFrame>,
    latest: Mutex<Option<LiveResult>>,
    state: Mutex<WorkerState>,
}

/// A running inference worker (see the module docs). Dropping it stops the thread.
pub struct Worker {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts a worker that loads its model with `load` on its own thread (a slow or failing
    /// load never delays the video) and calls `listener` with every result.
    pub fn start(
        load: impl FnOnce() -> anyhow::Result<Model> + Send + 'static,
        settings: &WorkerSettings,
        listener: Listener,
    ) -> anyhow::Result<Self> {
        let alerts = LiveAlerts::new(
            settings.on,
            settings.off,
            settings.tau_ms,
            settings.persistence,
        )?;
        let shared = Arc::new(Shared {
            slot: LatestSlot::new(),
            latest: Mutex::new(None),
            state: Mutex::new(WorkerState::Starting),
        });
        let inner = shared.clone();
        let thread = std::thread::Builder::new()
            .name("endoscan-infer".into())
            .spawn(move || run(&inner, load, alerts, listener))?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Offers a frame for inference; returns whether it displaced an unread one (skipped).
    pub fn offer(&self, frame: RawFrame) -> bool {
        self.shared.slot.put(frame).is_some()
    }

    /// The newest result, if any.
    pub fn latest(&self) -> Option<LiveResult> {
        self.shared.latest.lock().expect("result lock").clone()
    }

    /// Whether the worker is loading, running or failed.
    pub fn state(&self) -> WorkerState {
        self.shared.state.lock().expect("state lock").clone()
    }

    /// Stops the thread and waits for it (at most one scoring call).
    pub fn stop(&mut self) {
        self.shared.slot.close();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the live inference thread panicked");
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

fn set_state(shared: &Shared, state: WorkerState) {
    *shared.state.lock().expect("state lock") = state;
}

/// The worker thread: load, then score the newest frame until the slot closes or scoring fails.
fn run(
    shared: &Shared,
    load: impl FnOnce() -> anyhow::Result<Model>,
    mut alerts: LiveAlerts,
    listener: Listener,
) {
    let mut model = match load() {
        Ok(model) => model,
        Err(e) => {
            tracing::error!("live: the model is off: {e:#}");
            set_state(shared, WorkerState::Failed(format!("{e:#}")));
            return;
        }
    };
    set_state(shared, WorkerState::Running);
    let mut tracker = live_tracker(model.area);
    while !shared.slot.is_closed() {
        let Some(raw) = shared.slot.take(POLL) else {
            continue;
        };
        if raw.restart {
            alerts.reset();
            tracker = live_tracker(model.area);
        }
        match score_one(&mut model, &mut tracker, &mut alerts, raw) {
            Ok(result) => {
                listener(&result);
                *shared.latest.lock().expect("result lock") = Some(result);
            }
            Err(e) => {
                tracing::error!("live: scoring failed, the AI is off: {e:#}");
                set_state(shared, WorkerState::Failed(format!("{e:#}")));
                return;
            }
        }
    }
}

/// The area tracker of a live stream: every inferred frame is its own evidence block; an area
/// is trusted after it stayed put over 3 frames and half a second, as in reprocessing.
fn live_tracker(area: AreaSettings) -> AreaTracker {
    AreaTracker::new(TrackerSettings {
        block: 1,
        ..TrackerSettings::video(area)
    })
}

/// Locates, prepares, scores and smooths one frame.
fn score_one(
    model: &mut Model,
    tracker: &mut AreaTracker,
    alerts: &mut LiveAlerts,
    raw: RawFrame,
) -> anyhow::Result<LiveResult> {
    let started = Instant::now();
    let planes: Vec<(&[u8], usize)> = raw.planes.iter().map(|(d, s)| (&d[..], *s)).collect();
    let rgb = raw_to_rgb(raw.layout, raw.width, raw.height, &planes)?;
    let frame = Frame::from_rgb_image(raw.seq, raw.pts, rgb);
    let located = tracker
        .push(frame)
        .pop()
        .ok_or_else(|| anyhow::anyhow!("the area tracker held back a frame of a 1-frame block"))?;
    let input = model_input(model.prepare.as_ref(), &located)?;
    let scored = score_batch(
        model.scorer.as_mut(),
        model.batch,
        std::slice::from_ref(&input),
    )?;
    let p = scored.first().map_or(0.0, |s| s.p);
    let finding = scored.first().and_then(|s| s.finding);
    // White-outs, menus and corrupt frames say nothing about the mucosa: as offline, they are
    // not smoothed, and the alert stays as it was.
    let step = if located.status.is_smoothed() {
        alerts.push(raw.pts.as_secs_f64() * 1e3, p)
    } else {
        alerts.hold()
    };
    Ok(LiveResult {
        seq: raw.seq,
        pts: raw.pts,
        p,
        step,
        status: located.status,
        area: located.area,
        finding,
        model_ms: started.elapsed().as_secs_f64() * 1e3,
    })
}

#[cfg(test)]
mod tests;
