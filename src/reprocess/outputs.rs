//! The study's result files: `frames.csv`, `segments.json`, `summary.json`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use super::checkpoint::write_atomic;
use crate::infer::stage::ScoredFrame;
use crate::localize::{columns, Finding};
use crate::smooth::{Segment, Smoothed};

pub const FRAMES_FILE: &str = "frames.csv";
pub const SEGMENTS_FILE: &str = "segments.json";
pub const SUMMARY_FILE: &str = "summary.json";
pub const REPORT_FILE: &str = "report.html";
pub const VIDEO_FILE: &str = "annotated.mp4";
pub const THUMBNAIL_DIR: &str = "thumbnails";

/// Writes `frames.csv` (`frame,pts_ms,p_positive,p_smoothed,flagged,status` and the
/// finding's `box_x,box_y,box_w,box_h,peak_x,peak_y`, one row per frame; `p_positive` and
/// `p_smoothed` are empty for frames the model did not score and smoothing left out, the
/// finding for frames not flagged, as it is shown only while an alert is on); returns the rows
/// written.
pub fn write_frames_csv(
    path: &Path,
    scores: &[ScoredFrame],
    smoothed: &Smoothed,
) -> anyhow::Result<u64> {
    let mut text = Vec::with_capacity(48 * (scores.len() + 1));
    writeln!(
        text,
        "frame,pts_ms,p_positive,p_smoothed,flagged,status,{}",
        columns::HEADER
    )
    .expect("writing to memory");
    for (i, s) in scores.iter().enumerate() {
        let (p, p_smoothed) = if s.status.is_smoothed() {
            (
                format!("{:.6}", s.p),
                format!("{:.6}", smoothed.smoothed[i]),
            )
        } else {
            (String::new(), String::new())
        };
        let flagged = smoothed.flagged[i];
        writeln!(
            text,
            "{},{:.3},{p},{p_smoothed},{},{},{}",
            s.index,
            s.pts_ms,
            u8::from(flagged),
            s.status.name(),
            columns::format(s.finding.as_ref().filter(|_| flagged))
        )
        .expect("writing to memory");
    }
    write_atomic(path, &text)?;
    Ok(scores.len() as u64)
}

/// A segment as written to `segments.json`.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentRecord {
    pub id: usize,
    #[serde(flatten)]
    pub segment: Segment,
    /// Relative path of the representative frame's thumbnail, once written.
    pub thumbnail: Option<String>,
    /// The frame rectangle the thumbnail shows, scaled down (for `endoscan check-masking`).
    pub thumbnail_source: Option<crate::preprocess::Rect>,
    /// Where the model's evidence is on the representative frame (frame pixels), for models
    /// with a class-activation map.
    pub finding: Option<Finding>,
}

/// `segments.json`.
#[derive(Debug, Serialize)]
pub struct SegmentsFile<'a> {
    /// False when the study stopped early: segments cover the frames scored so far only.
    pub complete: bool,
    pub frames: u64,
    pub rule: &'a crate::smooth::Settings,
    pub segments: &'a [SegmentRecord],
}

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let mut json = serde_json::to_string_pretty(value)
        .with_context(|| format!("{}: cannot serialize", path.display()))?;
    json.push('\n');
    write_atomic(path, json.as_bytes())
}
