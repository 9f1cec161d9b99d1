//! What a study reports about itself: the model, the frame counts, `summary.json` and the
//! summary printed on the terminal.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::files::sha256_file;
use super::pipeline::{CorruptFrame, StageTimes};
use super::quality;
use crate::capture::SourceKind;
use crate::model::ModelMetadata;
use crate::smooth;

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
    /// Frames without a trusted image area (scored 0).
    pub without_image_area: u64,
    /// Frames that are no picture (white-outs, uniform fills): not scored, not smoothed.
    pub not_a_picture: u64,
    /// Frames the capture marked corrupt: not scored, not smoothed, listed in `corrupt`.
    pub corrupt: u64,
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
    /// Corrupt frames: frame, file and reason.
    pub corrupt: Vec<CorruptFrame>,
    /// The fail-closed rule the image area was tracked by.
    pub masking: quality::MaskingRule,
    pub times: StageTimes,
    /// Frames per second of pass 1 (scored frames / wall time).
    pub pipeline_fps: f64,
    pub out_dir: String,
    pub outputs: BTreeMap<&'static str, String>,
}

pub fn print_summary(s: &Summary, json: bool) -> anyhow::Result<()> {
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
    print_frame_notes(&mut out, s)?;
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

/// The lines about resumed, unscored and corrupt frames.
fn print_frame_notes(out: &mut impl std::io::Write, s: &Summary) -> anyhow::Result<()> {
    let c = &s.frames;
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
    if c.not_a_picture > 0 {
        writeln!(
            out,
            "  not a picture (white-out, uniform): {} frames (not scored)",
            c.not_a_picture
        )?;
    }
    if c.corrupt > 0 {
        writeln!(out, "  CORRUPT: {} frames (not scored):", c.corrupt)?;
        for f in s.corrupt.iter().take(20) {
            writeln!(out, "    frame {} {}: {}", f.frame, f.file, f.reason)?;
        }
        if s.corrupt.len() > 20 {
            writeln!(out, "    … {} more in summary.json", s.corrupt.len() - 20)?;
        }
    }
    writeln!(
        out,
        "  segments: {} ({} flagged frames, {:.1} s of {:.1} s)",
        s.segments, c.flagged, s.flagged_s, s.duration_s
    )?;
    Ok(())
}
