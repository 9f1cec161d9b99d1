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
//! Frames in which no image area is found (black frames, menus) cannot show a lesion: they
//! are written with probability 0, counted in the summary as `without_image_area`, and
//! shown black in the annotated video.

pub mod annotate;
pub mod area;
pub mod checkpoint;
pub mod model;
pub mod outputs;
pub mod pipeline;
pub mod report;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Serialize;
use sha2::{Digest, Sha256};

use self::checkpoint::{Identity, ScoreLog};
use self::outputs::{SegmentRecord, SegmentsFile};
use self::pipeline::{PassSettings, StageTimes};
use crate::capture::{self, Capture, SourceKind};
use crate::infer::{Classifier, ClassifierOptions, ExecutionProvider};
use crate::model::ModelMetadata;
use crate::preprocess::{AreaSettings, Preprocessor};
use crate::smooth::{self, Smoother};
use crate::{overlay, sink};

pub use model::Scorer;

/// Frames per inference batch.
pub const DEFAULT_BATCH: usize = 16;
/// Frames each pipeline channel holds.
pub const DEFAULT_QUEUE: usize = 16;
/// Input when none is given: the bundled sample.
pub const DEFAULT_INPUT: &str = "samples/sample.mp4";
/// Model when none is given: the bundled demo model.
pub const DEFAULT_MODEL: &str = "models/demo.onnx";
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
    /// ONNX Runtime execution provider.
    #[arg(long, value_enum, default_value_t = ExecutionProvider::Cpu)]
    pub provider: ExecutionProvider,
    /// GPU index for cuda / tensorrt.
    #[arg(long, value_name = "ID", default_value_t = 0)]
    pub device: i32,
    /// ONNX Runtime intra-op threads [default: one per core].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
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
    match s.parse::<usize>() {
        Ok(n) if (1..=MAX_BATCH).contains(&n) => Ok(n),
        _ => Err(format!("expected a whole number from 1 to {MAX_BATCH}")),
    }
}

/// Everything a study run is configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub batch: usize,
    pub queue: usize,
    pub capture: capture::Settings,
    pub area: AreaSettings,
    pub area_block: usize,
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
    /// Draw progress bars (on a terminal).
    pub progress: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            batch: DEFAULT_BATCH,
            queue: DEFAULT_QUEUE,
            capture: capture::Settings::default(),
            area: AreaSettings::default(),
            area_block: area::DEFAULT_AREA_BLOCK,
            smooth: smooth::Settings::default(),
            overlay: overlay::Settings::default(),
            sink: sink::Settings::default(),
            video: true,
            resume: false,
            interrupt_after: None,
            checkpoint_interval: std::time::Duration::from_millis(DEFAULT_CHECKPOINT_MS),
            progress: false,
        }
    }
}

impl Settings {
    /// Typed settings from the command line, checked; `model_threshold` (the model's decision
    /// threshold) is where segments start unless `--on` says otherwise.
    pub fn from_args(args: &ReprocessArgs, model_threshold: f32) -> anyhow::Result<Self> {
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
                ..capture::Settings::default()
            },
            smooth,
            overlay: overlay::Settings {
                threshold: on,
                ..overlay::Settings::default()
            },
            video: !args.no_video,
            resume: args.resume,
            interrupt_after: args.interrupt_after,
            checkpoint_interval: std::time::Duration::from_millis(args.checkpoint_ms),
            progress: std::io::stderr().is_terminal(),
            ..Self::default()
        })
    }

    /// The settings that change scores, as recorded in the checkpoint.
    fn score_identity(&self) -> String {
        format!(
            "image_fps={} black_level={} cell={} min_area_fraction={} area_block={}",
            self.capture.image_fps,
            self.area.black_level,
            self.area.cell,
            self.area.min_area_fraction,
            self.area_block
        )
    }
}

/// What the model is, for the summary and report.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub path: String,
    pub sha256: String,
    pub variant: String,
    pub input_size: usize,
    pub normalization: String,
    pub classes: Vec<String>,
    pub positive_class: String,
    pub threshold: f32,
    pub weights_sha256: String,
}

impl ModelInfo {
    pub fn new(path: &Path, meta: &ModelMetadata) -> anyhow::Result<Self> {
        Ok(Self {
            path: path.display().to_string(),
            sha256: sha256_file(path)?,
            variant: meta.variant.to_string(),
            input_size: meta.input_size,
            normalization: meta.normalization.to_string(),
            classes: meta.classes.clone(),
            positive_class: meta.positive_class().to_string(),
            threshold: meta.threshold,
            weights_sha256: meta.weights_sha256.clone(),
        })
    }
}

/// Frame counts; a complete study has `decoded == scored == written` (and `annotated`, when
/// a video is written).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Counts {
    pub decoded: u64,
    pub scored: u64,
    pub written: u64,
    pub annotated: Option<u64>,
    /// Scored frames taken from the checkpoint (`--resume`).
    pub resumed: u64,
    pub without_image_area: u64,
    pub flagged: u64,
}

/// The run's summary (`summary.json`, `--json`).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub complete: bool,
    /// Why the study is incomplete.
    pub error: Option<String>,
    pub input: String,
    pub input_kind: SourceKind,
    /// SHA-256 of the video file, or of the image sequence's manifest (`sha256  name` lines).
    pub input_sha256: Option<String>,
    pub model: ModelInfo,
    pub frames: Counts,
    pub fps: Option<f64>,
    pub duration_s: f64,
    pub segments: usize,
    pub flagged_s: f64,
    pub smoothing: smooth::Settings,
    pub area_changes: u64,
    pub times: StageTimes,
    /// Frames per second of pass 1 (scored frames / wall time).
    pub pipeline_fps: f64,
    pub out_dir: String,
    pub outputs: BTreeMap<&'static str, String>,
}

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

    /// Reprocesses `input` with the model `scorer` (described by `model`) into `out`.
    /// `Err` only when nothing could start (bad input path, output not writable); later
    /// failures return a [`Study`] with partial outputs and the error.
    pub fn run(
        &self,
        input: &Path,
        model: &ModelInfo,
        preprocessor: &Preprocessor,
        scorer: &mut dyn Scorer,
        out: &Path,
    ) -> anyhow::Result<Study> {
        let s = &self.settings;
        std::fs::create_dir_all(out)
            .with_context(|| format!("{}: cannot create the output directory", out.display()))?;
        let input_id = input_identity(input, s.capture)?;
        let identity = Identity {
            input: input.display().to_string(),
            input_id: input_id.clone(),
            model_sha256: model.sha256.clone(),
            batch: s.batch,
            settings: format!(
                "{} input_size={} normalization={}",
                s.score_identity(),
                preprocessor.input_size(),
                preprocessor.normalization()
            ),
        };
        let (mut log, mut rows) = match s.resume {
            true => match ScoreLog::resume(out, identity.clone())? {
                Some((log, rows)) => {
                    tracing::info!(
                        "{}: resuming after {} checkpointed frames",
                        out.display(),
                        rows.len()
                    );
                    (log, rows)
                }
                None => {
                    tracing::warn!(
                        "{}: no checkpoint to resume from; starting at the first frame",
                        out.display()
                    );
                    (ScoreLog::create(out, identity)?, Vec::new())
                }
            },
            false => (ScoreLog::create(out, identity)?, Vec::new()),
        };
        let resumed = rows.len() as u64;
        let thumbs_dir = out.join(outputs::THUMBNAIL_DIR);

        // Thumbnails of an earlier run would not match this one's segments.
        if thumbs_dir.exists() {
            clear_thumbnails(&thumbs_dir)?;
        }

        // Pass 1: score.
        let mut last_commit = std::time::Instant::now();
        let hint = probe_length(input, s.capture);
        let bar = progress_bar(s.progress, hint, "scoring");
        bar.set_position(resumed);
        let pass = pipeline::score_frames(
            input,
            PassSettings {
                capture: s.capture,
                area: s.area,
                area_block: s.area_block,
                batch: s.batch,
                queue: s.queue,
            },
            preprocessor,
            scorer,
            resumed,
            s.interrupt_after,
            |batch| {
                log.append(batch)?;
                if last_commit.elapsed() >= s.checkpoint_interval {
                    log.commit()?;
                    last_commit = std::time::Instant::now();
                }
                rows.extend_from_slice(batch);
                bar.set_position(rows.len() as u64);
                Ok(())
            },
        )?;
        bar.finish_and_clear();
        // Whatever was scored is checkpointed, whether the pass ended or stopped.
        let mut error = log.commit().err();
        let committed = log.rows();
        if committed != rows.len() as u64 {
            error = error.or(Some(anyhow::anyhow!(
                "{}: {} rows on disk but {} frames scored",
                out.join(checkpoint::SCORES_FILE).display(),
                committed,
                rows.len()
            )));
        }
        let mut error = pass.error.or(error);
        if pass.interrupted {
            error = Some(anyhow::anyhow!(
                "interrupted after {} frames (--interrupt-after); run again with --resume to continue",
                rows.len()
            ));
        }
        let complete = error.is_none();
        let mut counts = Counts {
            decoded: pass.decoded,
            scored: rows.len() as u64,
            resumed,
            without_image_area: rows.iter().filter(|r| !r.image_area).count() as u64,
            ..Counts::default()
        };
        if complete && counts.decoded != counts.scored {
            error = Some(anyhow::anyhow!(
                "{}: decoded {} frames but scored {}",
                input.display(),
                counts.decoded,
                counts.scored
            ));
        }

        // Smoothing and segments.
        let pts: Vec<f64> = rows.iter().map(|r| r.pts_ms).collect();
        let p: Vec<f32> = rows.iter().map(|r| r.p).collect();
        let smoothed = Smoother::new(s.smooth)?.process(&pts, &p)?;
        counts.flagged = smoothed.flagged.iter().filter(|&&f| f).count() as u64;
        let mut records: Vec<SegmentRecord> = smoothed
            .segments
            .iter()
            .enumerate()
            .map(|(i, seg)| SegmentRecord {
                id: i + 1,
                segment: seg.clone(),
                thumbnail: None,
            })
            .collect();

        // Pass 2: annotated video and thumbnails, for complete studies.
        let video_path = out.join(outputs::VIDEO_FILE);
        if error.is_none() {
            std::fs::create_dir_all(&thumbs_dir)
                .with_context(|| format!("{}: cannot create", thumbs_dir.display()))?;
            let thumbnails: BTreeMap<u64, PathBuf> = records
                .iter_mut()
                .map(|r| {
                    let name = format!(
                        "segment_{:03}_frame_{:06}.png",
                        r.id, r.segment.representative_frame
                    );
                    r.thumbnail = Some(format!("{}/{name}", outputs::THUMBNAIL_DIR));
                    (r.segment.representative_frame, thumbs_dir.join(name))
                })
                .collect();
            let bar = progress_bar(s.progress, Some(counts.scored), "annotating");
            let job = annotate::AnnotateJob {
                capture: s.capture,
                area: s.area,
                area_block: s.area_block,
                scores: &rows,
                smoothed: &smoothed,
                overlay: s.overlay,
                sink: s.sink,
                video: s.video.then_some(video_path.as_path()),
                thumbnails,
            };
            match annotate::annotate(input, job, &|n| bar.set_position(n)) {
                Ok(n) if n == counts.scored => counts.annotated = s.video.then_some(n),
                Ok(n) => {
                    error = Some(anyhow::anyhow!(
                        "{}: the second decode gave {n} frames, the first {}",
                        input.display(),
                        counts.scored
                    ))
                }
                Err(e) => error = Some(e.context("writing the annotated video and thumbnails")),
            }
            bar.finish_and_clear();
        }
        if error.is_some() {
            for r in &mut records {
                r.thumbnail = None;
            }
        }

        // Results.
        let complete = error.is_none();
        let frames_path = out.join(outputs::FRAMES_FILE);
        counts.written = outputs::write_frames_csv(&frames_path, &rows, &smoothed)?;
        if complete && !(counts.decoded == counts.scored && counts.scored == counts.written) {
            error = Some(anyhow::anyhow!(
                "frame counts disagree: decoded {}, scored {}, written {}",
                counts.decoded,
                counts.scored,
                counts.written
            ));
        }
        let complete = error.is_none();
        outputs::write_json(
            &out.join(outputs::SEGMENTS_FILE),
            &SegmentsFile {
                complete,
                frames: counts.written,
                rule: &s.smooth,
                segments: &records,
            },
        )?;
        let input_sha256 = match pass.stream.kind {
            SourceKind::Video => Some(input_id),
            SourceKind::Images => pass.manifest_sha256.clone(),
        };
        let mut files = BTreeMap::new();
        files.insert("frames_csv", frames_path.display().to_string());
        files.insert(
            "segments_json",
            out.join(outputs::SEGMENTS_FILE).display().to_string(),
        );
        files.insert(
            "summary_json",
            out.join(outputs::SUMMARY_FILE).display().to_string(),
        );
        files.insert(
            "report_html",
            out.join(outputs::REPORT_FILE).display().to_string(),
        );
        files.insert(
            "checkpoint",
            out.join(checkpoint::CHECKPOINT_FILE).display().to_string(),
        );
        if counts.annotated.is_some() {
            files.insert("annotated_mp4", video_path.display().to_string());
        }
        if complete {
            files.insert("thumbnails", thumbs_dir.display().to_string());
        }
        let duration_s = match (rows.last(), rows.len()) {
            (Some(last), n) if n > 1 => {
                (last.pts_ms - rows[0].pts_ms) / 1e3 * n as f64 / (n - 1) as f64
            }
            (Some(_), _) => pass.stream.fps.map(|f| 1.0 / f).unwrap_or(0.0),
            _ => 0.0,
        };
        let summary = Summary {
            complete,
            error: error.as_ref().map(|e| format!("{e:#}")),
            input: input.display().to_string(),
            input_kind: pass.stream.kind,
            input_sha256,
            model: model.clone(),
            frames: counts,
            fps: pass.stream.fps,
            duration_s,
            segments: records.len(),
            flagged_s: records
                .iter()
                .map(|r| (r.segment.end_ms - r.segment.start_ms) / 1e3)
                .sum(),
            smoothing: s.smooth,
            area_changes: pass.area_changes,
            times: pass.times,
            pipeline_fps: if pass.times.wall_s > 0.0 {
                pass.scored as f64 / pass.times.wall_s
            } else {
                0.0
            },
            out_dir: out.display().to_string(),
            outputs: files,
        };
        outputs::write_json(&out.join(outputs::SUMMARY_FILE), &summary)?;
        let html = report::render(&summary, &rows, &smoothed, &records, out);
        checkpoint::write_atomic(&out.join(outputs::REPORT_FILE), html.as_bytes())?;
        if summary.frames.annotated.is_none() && video_path.exists() {
            // A partial file, or one from an earlier run that does not match these results.
            std::fs::remove_file(&video_path)
                .with_context(|| format!("{}: cannot remove", video_path.display()))?;
        }
        Ok(Study { summary, error })
    }
}

/// Removes thumbnails of an earlier run (only files this command writes).
fn clear_thumbnails(dir: &Path) -> anyhow::Result<()> {
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot read", dir.display()))?
    {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("segment_") && name.ends_with(".png") {
            std::fs::remove_file(&path)
                .with_context(|| format!("{}: cannot remove", path.display()))?;
        }
    }
    Ok(())
}

/// SHA-256 of a video file, or of an image sequence's file-name list (cheap, and stable when
/// a corrupt image is replaced before `--resume`).
fn input_identity(input: &Path, settings: capture::Settings) -> anyhow::Result<String> {
    if input.is_file() {
        return sha256_file(input);
    }
    let capture = Capture::open(input, settings)?;
    let mut h = Sha256::new();
    for f in capture.image_files().unwrap_or_default() {
        h.update(
            f.file_name()
                .map(|n| n.as_encoded_bytes())
                .unwrap_or_default(),
        );
        h.update(b"\n");
    }
    Ok(hex(&h.finalize()))
}

/// SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Frame count estimate for the progress bar (first frame's caps and duration).
fn probe_length(input: &Path, settings: capture::Settings) -> Option<u64> {
    let mut capture = Capture::open(input, settings).ok()?;
    if capture.info().frames_hint.is_none() {
        capture.next_frame().ok()??;
    }
    capture.info().frames_hint
}

fn progress_bar(enabled: bool, len: Option<u64>, what: &'static str) -> indicatif::ProgressBar {
    if !enabled {
        return indicatif::ProgressBar::hidden();
    }
    let bar = match len {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    let template = match len {
        Some(_) => "{msg:>10} [{bar:40}] {pos}/{len} frames  {fps}  ETA {eta}",
        None => "{msg:>10} {spinner} {pos} frames  {fps}",
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        let fps = |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.1} frames/s", state.per_sec());
        };
        bar.set_style(style.with_key("fps", fps).progress_chars("=> "));
    }
    bar.set_message(what);
    bar
}

/// Resolves a default path: as given relative to the working directory, else under
/// `$ENDOSCAN_ROOT` (set by scripts/env.sh).
fn bundled(relative: &str) -> Option<PathBuf> {
    let here = PathBuf::from(relative);
    if here.exists() {
        return Some(here);
    }
    let root = std::env::var_os("ENDOSCAN_ROOT")?;
    let there = PathBuf::from(root).join(relative);
    there.exists().then_some(there)
}

/// Top-level entry point of `endoscan reprocess`.
pub fn run(args: &ReprocessArgs) -> anyhow::Result<()> {
    let input = match &args.input {
        Some(p) => p.clone(),
        None => bundled(DEFAULT_INPUT).with_context(|| {
            format!("{DEFAULT_INPUT}: no INPUT given and the bundled sample is missing (looked in the working directory and $ENDOSCAN_ROOT); pass a video file or image directory")
        })?,
    };
    let model_path = match &args.model {
        Some(p) => p.clone(),
        None => bundled(DEFAULT_MODEL).with_context(|| {
            format!("{DEFAULT_MODEL}: no --model given and the bundled demo model is missing (looked in the working directory and $ENDOSCAN_ROOT); pass --model FILE.onnx (see `endoscan export`)")
        })?,
    };
    let options = ClassifierOptions {
        provider: args.provider,
        device_id: args.device,
        intra_threads: args.threads,
        shares_cpu: true,
    };
    let mut classifier = Classifier::load(&model_path, &options)?;
    let settings = Settings::from_args(args, classifier.metadata().threshold)?;
    let model = ModelInfo::new(&model_path, classifier.metadata())?;
    let preprocessor = classifier.preprocessor().clone();
    let study =
        Reprocess::new(settings)?.run(&input, &model, &preprocessor, &mut classifier, &args.out)?;
    print_summary(&study.summary, args.json)?;
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

fn print_summary(s: &Summary, json: bool) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, s)?;
        writeln!(out)?;
        return Ok(());
    }
    let c = &s.frames;
    let ok = c.decoded == c.scored && c.scored == c.written && s.complete;
    writeln!(
        out,
        "{} → {}{}",
        s.input,
        s.out_dir,
        if s.complete { "" } else { "  (INCOMPLETE)" }
    )?;
    writeln!(
        out,
        "  frames: decoded {} {} scored {} {} written {}{}{}",
        c.decoded,
        if c.decoded == c.scored { "=" } else { "≠" },
        c.scored,
        if c.scored == c.written { "=" } else { "≠" },
        c.written,
        c.annotated
            .map(|n| format!(", annotated {n}"))
            .unwrap_or_default(),
        if ok { "  ✓" } else { "" }
    )?;
    if c.resumed > 0 {
        writeln!(out, "  resumed: {} frames from the checkpoint", c.resumed)?;
    }
    if c.without_image_area > 0 {
        writeln!(
            out,
            "  without image area: {} frames (scored 0)",
            c.without_image_area
        )?;
    }
    writeln!(
        out,
        "  segments: {} ({} flagged frames, {:.1} s of {:.1} s)",
        s.segments, c.flagged, s.flagged_s, s.duration_s
    )?;
    let t = &s.times;
    let rate = |n: u64, secs: f64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    let new = c.scored - c.resumed;
    writeln!(
        out,
        "  speed: {:.1} frames/s (stage capacity: decode {:.0}, prepare {:.0}, infer {:.1} frames/s)",
        s.pipeline_fps,
        rate(c.decoded, t.decode_s),
        rate(new, t.prepare_s),
        rate(new, t.infer_s)
    )?;
    writeln!(
        out,
        "  report: {}",
        s.outputs
            .get("report_html")
            .map(String::as_str)
            .unwrap_or("-")
    )?;
    Ok(())
}
