//! Pass 1: every frame scored, composed from the shared stages on the [`Runner`]:
//!
//! ```text
//! capture::stage::decode ──frames──▶ preprocess::stage::locate_and_prepare
//!     ──model inputs──▶ infer::stage::score_batches ──scores──▶ caller (log, bar)
//! ```
//! Channels are bounded (back-pressure to the decoder; nothing is dropped). A stage that
//! fails stops; the stages after it finish what they already received, so partial results
//! are complete up to the failure. A stage stuck longer than the stall limit stops the pass
//! with an error naming it. The first real error is returned with the counts, so the caller
//! can flush and mark the study incomplete.
//!
//! Frames before `resume_from` are decoded and located (the content area depends on every
//! frame from the first) but not scored: their scores come from the checkpoint.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crossbeam_channel::bounded;

use crate::capture::{self, Capture, Frame, StreamInfo};
use crate::infer::stage::{score_batches, BatchSettings, ScoredFrame};
use crate::infer::Scorer;
use crate::pipeline::{first_error, Runner};
use crate::preprocess::stage::locate_and_prepare;
use crate::preprocess::{AreaTracker, Located, ModelInput, Preprocessor, TrackerSettings};

/// Settings of the scoring pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PassSettings {
    pub capture: capture::Settings,
    pub tracker: TrackerSettings,
    pub batch: usize,
    /// Frames each channel holds.
    pub queue: usize,
    /// How long a stage may stay in one piece of work before the pass counts as stalled.
    pub stall_after: Duration,
    /// CPU or GPU preparation (`--preprocess`).
    pub preprocess: crate::cuda::select::PreprocessChoice,
}

/// A frame the capture marked corrupt, as the summary and report list it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CorruptFrame {
    pub frame: u64,
    /// The image file (image sequences) or the video.
    pub file: String,
    pub reason: String,
}

/// Busy time of each stage (time spent working, not waiting on channels).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct StageTimes {
    pub decode_s: f64,
    pub prepare_s: f64,
    pub infer_s: f64,
    pub wall_s: f64,
}

/// How the pass ended.
#[derive(Debug)]
pub struct PassOutcome {
    /// Frames decoded (from the first frame, resumed ones included).
    pub decoded: u64,
    /// Frames scored in this pass.
    pub scored: u64,
    pub stream: StreamInfo,
    /// Content hash of an image sequence read to the end.
    pub manifest_sha256: Option<String>,
    /// How many times an image area was adopted as trusted.
    pub area_changes: u64,
    /// Frames the capture marked corrupt, from the first frame.
    pub corrupt: Vec<CorruptFrame>,
    pub times: StageTimes,
    /// The pass stopped on request (`--interrupt-after`) before the end of the input.
    pub interrupted: bool,
    /// What stopped the pass early, if anything.
    pub error: Option<anyhow::Error>,
}

/// Runs pass 1 over `input`. `on_scores` receives scored frames in order, a batch at a time;
/// `stop_after` ends the pass after the batch that reaches that many frames in total.
/// Errors opening the input are returned as `Err`; later ones in [`PassOutcome::error`].
#[allow(clippy::too_many_arguments)]
pub fn score_frames(
    input: &Path,
    settings: PassSettings,
    preprocessor: &Preprocessor,
    scorer: &mut dyn Scorer,
    resume_from: u64,
    stop_after: Option<u64>,
    mut on_scores: impl FnMut(&[ScoredFrame]) -> anyhow::Result<()>,
) -> anyhow::Result<PassOutcome> {
    let runner = Runner::new(input.display().to_string(), settings.stall_after);
    let mut capture = Capture::open(input, settings.capture)?;
    capture.cancel_on(runner.stop_flag());
    let files = capture.image_files().map(<[_]>::to_vec).unwrap_or_default();
    let queue = settings.queue.max(1);
    let (frame_tx, frame_rx) = bounded::<Frame>(queue);
    let (input_tx, input_rx) = bounded::<ModelInput>(queue.max(settings.batch));
    let (score_tx, score_rx) = bounded::<Vec<ScoredFrame>>(4);
    let batching = BatchSettings {
        batch: settings.batch,
        input_size: preprocessor.input_size(),
        normalization: preprocessor.normalization(),
    };
    let prepare = crate::cuda::select::prepare_stage(settings.preprocess, preprocessor)?;
    let prepare = &*prepare;
    let mut tracker = AreaTracker::new(settings.tracker);
    let mut corrupt = Vec::new();

    let (scored, interrupted, error) = std::thread::scope(|s| {
        let (decode, locate, score) = (
            runner.stage("decode"),
            runner.stage("prepare"),
            runner.stage("infer"),
        );
        let capture = &mut capture;
        let decode = s.spawn(move || capture::stage::decode(&decode, capture, &frame_tx));
        let (tracker, corrupt) = (&mut tracker, &mut corrupt);
        let locate = s.spawn(move || {
            locate_and_prepare(
                &locate,
                tracker,
                prepare,
                resume_from,
                &frame_rx,
                &input_tx,
                |l| record_corrupt(l, &files, input, corrupt),
            )
        });
        let score = s.spawn(move || score_batches(&score, scorer, batching, &input_rx, &score_tx));

        let end = receive_scores(&runner, score_rx, resume_from, stop_after, &mut on_scores);
        let (scored, interrupted, sink_error) = end;
        let score = score.join().expect("infer stage does not panic");
        let locate = locate.join().expect("prepare stage does not panic");
        let decoded = decode.join().expect("decode stage does not panic");
        // Root causes first: a stall, then a decode error explains what came after it.
        let results = vec![
            decoded.map(|_| ()).map_err(anyhow::Error::from),
            locate,
            score,
        ];
        let error = first_error(&runner, results).or(sink_error);
        (scored, interrupted, error)
    });
    let end = PassEnd {
        scored,
        interrupted,
        error,
    };
    Ok(end.outcome(&runner, &capture, &tracker, corrupt))
}

/// Adds `located` to `corrupt` if the capture marked it so, naming its image file (image
/// sequences) or the video.
fn record_corrupt(
    located: &Located,
    files: &[PathBuf],
    input: &Path,
    corrupt: &mut Vec<CorruptFrame>,
) {
    if let Some(reason) = &located.frame.corrupt {
        let index = located.frame.index;
        let file = files.get(index as usize).map_or(input, PathBuf::as_path);
        corrupt.push(CorruptFrame {
            frame: index,
            file: file.display().to_string(),
            reason: reason.clone(),
        });
    }
}

/// How the stages of pass 1 ended, before the counts are gathered.
struct PassEnd {
    scored: u64,
    interrupted: bool,
    error: Option<anyhow::Error>,
}

impl PassEnd {
    /// The pass's outcome: the runner's per-stage counts and busy times, the stream's facts.
    fn outcome(
        self,
        runner: &Runner,
        capture: &Capture,
        tracker: &AreaTracker,
        corrupt: Vec<CorruptFrame>,
    ) -> PassOutcome {
        let stats = runner.stats();
        let busy = |i: usize| stats[i].busy.as_secs_f64();
        PassOutcome {
            decoded: stats[0].items,
            scored: self.scored,
            stream: capture.info(),
            manifest_sha256: capture.manifest_sha256(),
            area_changes: tracker.changes(),
            corrupt,
            times: StageTimes {
                decode_s: busy(0),
                prepare_s: busy(1),
                infer_s: busy(2),
                wall_s: runner.elapsed().as_secs_f64(),
            },
            // An early stop leaves the stream unfinished: it is not the end of the input.
            interrupted: self.interrupted && self.error.is_none(),
            error: self.error,
        }
    }
}

/// The caller's side of pass 1: scores in order to `on_scores`, until the end, a failure of
/// `on_scores`, or `stop_after` frames in all. Returns the frames received, whether it stopped
/// on `stop_after`, and the error of `on_scores`.
fn receive_scores(
    runner: &Runner,
    rx: crossbeam_channel::Receiver<Vec<ScoredFrame>>,
    resume_from: u64,
    stop_after: Option<u64>,
    on_scores: &mut impl FnMut(&[ScoredFrame]) -> anyhow::Result<()>,
) -> (u64, bool, Option<anyhow::Error>) {
    let mut scored = 0u64;
    while let Some(rows) = runner.recv(&rx) {
        scored += rows.len() as u64;
        if let Err(e) = on_scores(&rows) {
            return (scored, false, Some(e));
        }
        if stop_after.is_some_and(|n| resume_from + scored >= n) {
            return (scored, true, None);
        }
    }
    (scored, false, None)
}
