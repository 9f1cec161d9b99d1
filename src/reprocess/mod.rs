//! `endoscan reprocess`: a recorded study — video file or capsule image export — scored frame by
//! frame, smoothed into segments, and written out for a reader.
//!
//! Input: a file GStreamer's decodebin handles, or an image directory/glob; an endoscan ONNX
//! model. Output in `--out DIR`: `frames.csv`, `segments.json`, `annotated.mp4`,
//! `thumbnails/`, `report.html`, `summary.json`, and the `scores.csv` + `checkpoint.json` pair
//! that `--resume` continues from.
//!
//! Pass 1 ([`pipeline`]) decodes, locates the image area, preprocesses and runs batched
//! inference in threads joined by bounded channels; the scores are logged and checkpointed
//! as they come. Smoothing ([`crate::smooth`]) then needs the whole study. Pass 2
//! ([`annotate`]) decodes again to draw the annotated video and the segment thumbnails.
//!
//! Nothing is lost: frames decoded, scored and written are counted and must agree. A
//! corrupt or truncated input, a failing model or disk stops the study with an error naming
//! the file; what was scored until then is written out, marked incomplete (`summary.json`,
//! `segments.json`, the report), and the exit code is non-zero.
//!
//! The image area fails closed ([`crate::preprocess::tracker`], `docs/masking.md`): frames
//! without a trusted area (black frames, text only, before an area has stayed put) score 0,
//! are counted as `without_image_area` and shown black. Frames that are no picture
//! (white-outs, uniform fills) or that the capture marked corrupt are not scored and left out
//! of smoothing; corrupt ones are listed by file or frame in `summary.json`, the report and
//! the log, and `--strict` makes the first one fatal. `frames.csv` gives each frame's status.

pub mod annotate;
mod args;
pub mod checkpoint;
pub mod files;
pub mod outputs;
pub mod pipeline;
pub mod quality;
pub mod report;
mod report_plot;
mod steps;
mod summary;

use std::path::Path;

use anyhow::{bail, Context};

pub use self::args::{
    ReprocessArgs, Settings, StudyOptions, DEFAULT_BATCH, DEFAULT_CHECKPOINT_MS, DEFAULT_INPUT,
    DEFAULT_OUT, DEFAULT_QUEUE, OFF_OVER_ON,
};
pub use self::files::sha256_file;
pub use self::summary::{Counts, ModelInfo, Summary};
pub use crate::infer::Scorer;
pub use crate::infer::DEFAULT_MODEL;
use crate::infer::{bundled, model_or_bundled, Model};
use crate::preprocess::Preprocessor;
use crate::smooth::Smoother;
use crate::util::outdir_lock::OutDirLock;

/// A finished (or stopped) study: the summary, and the error that stopped it.
pub struct Study {
    pub summary: Summary,
    pub error: Option<anyhow::Error>,
}

/// Runs studies with one set of [`Settings`].
pub struct Reprocess {
    settings: Settings,
}

impl Reprocess {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        Smoother::new(settings.smooth)?;
        if settings.batch == 0 {
            bail!("batch size must be at least 1");
        }
        Ok(Self { settings })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Reprocesses `input` with the model `scorer` (described by `model`) into `out`: pass 1
    /// scores every frame, smoothing finds the segments, pass 2 draws the annotated video and
    /// thumbnails, and the results are written. `Err` only when nothing could start (bad input
    /// path, output not writable); later failures return a [`Study`] with partial outputs and
    /// the error.
    pub fn run(
        &self,
        input: &Path,
        model: &ModelInfo,
        preprocessor: &Preprocessor,
        scorer: &mut dyn Scorer,
        out: &Path,
    ) -> anyhow::Result<Study> {
        // One writer per output folder: a second study into `out` is refused, naming this one.
        let _lock = OutDirLock::acquire(out)?;
        let mut study = steps::StudyRun::open(&self.settings, input, model, preprocessor, out)?;
        let pass = study.score(preprocessor, scorer)?;
        let smoothed = study.smooth()?;
        study.annotate(&smoothed)?;
        study.write_results(model, pass, &smoothed)
    }
}

/// Top-level entry point of `endoscan reprocess`.
pub fn run(args: &ReprocessArgs) -> anyhow::Result<()> {
    let input = match &args.input {
        Some(p) => p.clone(),
        None => bundled(DEFAULT_INPUT).with_context(|| {
            format!("{DEFAULT_INPUT}: no INPUT given and the bundled sample is missing (looked in the working directory and $ENDOSCAN_ROOT); pass a video file or image directory")
        })?,
    };
    let model_path = model_or_bundled(args.model.as_deref())?;
    let mut loaded = Model::load(&model_path, &args.options.backend.options(true))?;
    let settings = Settings::from_args(args, loaded.metadata().threshold)?;
    let model = ModelInfo::new(&model_path, loaded.metadata())?;
    let preprocessor = loaded.preprocessor().clone();
    let study =
        Reprocess::new(settings)?.run(&input, &model, &preprocessor, &mut loaded, &args.out)?;
    summary::print_summary(&study.summary, args.json)?;
    match study.error {
        None => Ok(()),
        Some(e) => {
            let written = study.summary.frames.written;
            Err(e.context(match written {
                0 => format!("{}: study incomplete, no frame scored", args.out.display()),
                n => format!(
                    "{}: study incomplete, results for the first {n} frames written and marked incomplete",
                    args.out.display()
                ),
            }))
        }
    }
}
