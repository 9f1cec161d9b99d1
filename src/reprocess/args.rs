//! The command line and settings of `endoscan reprocess`.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::bail;

use crate::capture;
use crate::infer::BackendArgs;
use crate::preprocess::TrackerSettings;
use crate::smooth::{self, Smoother};
use crate::{overlay, sink};

/// Frames per inference batch.
pub const DEFAULT_BATCH: usize = 16;
/// Frames each pipeline channel holds.
pub const DEFAULT_QUEUE: usize = 16;
/// Input when none is given: the bundled sample.
pub const DEFAULT_INPUT: &str = "samples/sample.mp4";
/// Output directory when none is given.
pub const DEFAULT_OUT: &str = "out";

/// Arguments of `endoscan reprocess`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReprocessArgs {
    /// Video file (mp4, mkv, webm, avi, mov, ogv…), image directory, or glob such as
    /// 'study/*.png' [default: the bundled samples/sample.mp4]
    #[arg(value_name = "INPUT")]
    pub input: Option<PathBuf>,
    /// Endoscan ONNX model [default: the bundled models/demo.onnx]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_OUT)]
    pub out: PathBuf,
    /// Print a JSON summary on stdout (for scripts).
    #[arg(long)]
    pub json: bool,
    /// Continue an interrupted study from the checkpoint in --out.
    #[arg(long)]
    pub resume: bool,
    #[command(flatten)]
    pub options: StudyOptions,
}

/// How a study is scored, smoothed and written: the options `endoscan reprocess` and
/// `endoscan batch` share.
#[derive(Debug, Clone, clap::Args)]
pub struct StudyOptions {
    /// Frames per inference batch.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BATCH, value_parser = parse_batch)]
    pub batch: usize,
    /// Frame rate given to image sequences.
    #[arg(long, value_name = "FPS", default_value_t = capture::DEFAULT_IMAGE_FPS)]
    pub image_fps: f64,
    /// Smoothing time constant in ms (0: none).
    #[arg(long, value_name = "MS", default_value_t = smooth::DEFAULT_TAU_MS)]
    pub tau_ms: f64,
    /// Smoothed probability at which a segment starts [default: the model's decision threshold,
    /// chosen on validation by `endoscan train`].
    #[arg(long, value_name = "P")]
    pub on: Option<f32>,
    /// Smoothed probability below which a segment ends [default: 0.7 × --on].
    #[arg(long, value_name = "P")]
    pub off: Option<f32>,
    /// Segments closer than this (ms) are merged.
    #[arg(long, value_name = "MS", default_value_t = smooth::DEFAULT_MERGE_GAP_MS)]
    pub merge_gap_ms: f64,
    /// Segments shorter than this (ms) are dropped.
    #[arg(long, value_name = "MS", default_value_t = smooth::DEFAULT_MIN_SEGMENT_MS)]
    pub min_segment_ms: f64,
    /// Skip annotated.mp4 (thumbnails and report are still written).
    #[arg(long)]
    pub no_video: bool,
    /// Seconds a stage (decoder, model, encoder) may work on one item before the study
    /// stops as stalled, with partial results written and marked incomplete.
    #[arg(long, value_name = "S", default_value_t = crate::pipeline::DEFAULT_STALL.as_secs_f64())]
    pub stall_timeout: f64,
    /// Stop at the first corrupt frame (damaged image file, buffer the decoder marked
    /// corrupted) instead of listing it and going on.
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Testing aid: stop as if interrupted once this many frames are checkpointed.
    #[arg(long, value_name = "FRAMES", hide = true)]
    pub interrupt_after: Option<u64>,
    /// Longest time between checkpoints while scoring, in ms.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_CHECKPOINT_MS, hide = true)]
    pub checkpoint_ms: u64,
}

/// Longest time between checkpoints while scoring (ms): syncing every batch would cost a disk
/// flush per 16 frames on 100k-frame capsule studies; a second of work is all an
/// interruption can lose.
pub const DEFAULT_CHECKPOINT_MS: u64 = 1000;

/// Default `--off` as a fraction of `--on`: the hysteresis band below the start threshold.
pub const OFF_OVER_ON: f32 = 0.7;
/// Largest batch accepted on the command line.
const MAX_BATCH: usize = 4096;

fn parse_batch(s: &str) -> Result<usize, String> {
    crate::cli::parse_batch_size(s, MAX_BATCH)
}

/// Everything a study run is configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub batch: usize,
    pub queue: usize,
    pub capture: capture::Settings,
    /// Content-area tracking (fail closed).
    pub tracker: TrackerSettings,
    pub smooth: smooth::Settings,
    pub overlay: overlay::Settings,
    pub sink: sink::Settings,
    /// Write `annotated.mp4`.
    pub video: bool,
    /// Continue from the checkpoint in the output directory.
    pub resume: bool,
    /// Stop as if interrupted after this many frames (tests).
    pub interrupt_after: Option<u64>,
    /// Longest time between checkpoints while scoring.
    pub checkpoint_interval: std::time::Duration,
    /// How long a stage may stay in one piece of work before the study stops as stalled.
    pub stall_after: std::time::Duration,
    /// CPU or GPU preparation.
    pub preprocess: crate::cuda::select::PreprocessChoice,
    /// Draw progress bars (on a terminal).
    pub progress: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            batch: DEFAULT_BATCH,
            queue: DEFAULT_QUEUE,
            capture: capture::Settings::default(),
            tracker: TrackerSettings::video(Default::default()),
            smooth: smooth::Settings::default(),
            overlay: overlay::Settings::default(),
            sink: sink::Settings::default(),
            video: true,
            resume: false,
            interrupt_after: None,
            checkpoint_interval: std::time::Duration::from_millis(DEFAULT_CHECKPOINT_MS),
            stall_after: crate::pipeline::DEFAULT_STALL,
            preprocess: Default::default(),
            progress: false,
        }
    }
}

impl Settings {
    /// Typed settings from the command line, checked; `model_threshold` (the model's decision
    /// threshold) is where segments start unless `--on` says otherwise.
    pub fn from_args(args: &ReprocessArgs, model_threshold: f32) -> anyhow::Result<Self> {
        Self::from_options(&args.options, args.resume, model_threshold)
    }

    /// [`Settings::from_args`] from the shared study options; `resume` continues from a
    /// checkpoint in the output folder.
    pub fn from_options(
        args: &StudyOptions,
        resume: bool,
        model_threshold: f32,
    ) -> anyhow::Result<Self> {
        if !(args.stall_timeout.is_finite() && args.stall_timeout > 0.0) {
            bail!(
                "--stall-timeout must be a positive number of seconds (got {})",
                args.stall_timeout
            );
        }
        if !(args.image_fps.is_finite() && args.image_fps > 0.0) {
            bail!(
                "--image-fps must be a positive number (got {})",
                args.image_fps
            );
        }
        let on = args.on.unwrap_or(model_threshold);
        let smooth = smooth::Settings {
            tau_ms: args.tau_ms,
            on,
            off: args.off.unwrap_or(OFF_OVER_ON * on),
            merge_gap_ms: args.merge_gap_ms,
            min_segment_ms: args.min_segment_ms,
        };
        Smoother::new(smooth)?;
        Ok(Self {
            batch: args.batch,
            capture: capture::Settings {
                image_fps: args.image_fps,
                strict: args.strict,
                ..capture::Settings::default()
            },
            smooth,
            overlay: overlay::Settings {
                threshold: on,
                ..overlay::Settings::default()
            },
            video: !args.no_video,
            resume,
            interrupt_after: args.interrupt_after,
            checkpoint_interval: std::time::Duration::from_millis(args.checkpoint_ms),
            stall_after: std::time::Duration::from_secs_f64(args.stall_timeout),
            preprocess: args.backend.preprocess,
            progress: std::io::stderr().is_terminal(),
            ..Self::default()
        })
    }

    /// The settings that change scores, as recorded in the checkpoint.
    pub fn score_identity(&self) -> String {
        let t = &self.tracker;
        format!(
            "image_fps={} black_level={} cell={} min_area_fraction={} area_block={} adopt_ms={} adopt_frames={} strict={}",
            self.capture.image_fps,
            t.area.black_level,
            t.area.cell,
            t.area.min_area_fraction,
            t.block,
            t.adopt_ms,
            t.adopt_frames,
            self.capture.strict
        )
    }
}
