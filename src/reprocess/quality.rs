//! The report's frame-quality section: frames that were not scored (no trusted image area,
//! white-outs, uniform fills, corrupt frames), the corrupt ones listed by file or frame, and
//! the fail-closed masking rule they were treated by.

use std::fmt::Write;

use serde::Serialize;

use super::pipeline::CorruptFrame;
use super::Summary;
use crate::plot::escape;
use crate::preprocess::TrackerSettings;

/// Corrupt frames listed in the report; the rest are in `summary.json`.
const MAX_LISTED: usize = 200;

/// The masking rule a study ran with, as `summary.json` records it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MaskingRule {
    /// Frames per evidence block.
    pub block: usize,
    /// Stream time a new area must stay put before it is trusted (ms).
    pub adopt_ms: f64,
    /// Evidence frames a new area must be seen in before it is trusted.
    pub adopt_frames: u64,
    /// Brightness at or below which a pixel is black border.
    pub black_level: u8,
}

impl From<&TrackerSettings> for MaskingRule {
    fn from(t: &TrackerSettings) -> Self {
        Self {
            block: t.block,
            adopt_ms: t.adopt_ms,
            adopt_frames: t.adopt_frames,
            black_level: t.area.black_level,
        }
    }
}

/// Writes the frame-quality section.
pub fn section(h: &mut String, summary: &Summary) {
    let c = &summary.frames;
    let _ = write!(
        h,
        "<section><h2>Frame quality and masking</h2><table class=\"kv\">"
    );
    let rows = [
        ("Scored in a trusted image area", c.scored - c.without_image_area - c.not_a_picture - c.corrupt, "scored by the model"),
        ("Without trusted image area", c.without_image_area, "black, text only, or before an area was trusted: written black, scored 0"),
        ("No picture", c.not_a_picture, "white-outs and uniform fills: not scored, left out of smoothing"),
        ("Corrupt", c.corrupt, "damaged files or buffers the decoder marked corrupted: written black, not scored, left out of smoothing"),
    ];
    for (label, n, what) in rows {
        let _ = write!(
            h,
            "<tr><th>{label}</th><td>{n} <span class=\"muted\">— {what}</span></td></tr>"
        );
    }
    let _ = write!(h, "</table>");
    corrupt_list(h, &summary.corrupt);
    rule(h, &summary.masking);
    let _ = writeln!(h, "</section>");
}

fn corrupt_list(h: &mut String, corrupt: &[CorruptFrame]) {
    if corrupt.is_empty() {
        return;
    }
    let _ = write!(
        h,
        "<h3 class=\"error\">Corrupt frames ({})</h3><table class=\"segs\"><thead><tr><th>Frame</th>\
         <th>File</th><th>Reason</th></tr></thead><tbody>",
        corrupt.len()
    );
    for f in corrupt.iter().take(MAX_LISTED) {
        let _ = write!(
            h,
            "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            f.frame,
            escape(&f.file),
            escape(&f.reason)
        );
    }
    let _ = write!(h, "</tbody></table>");
    if corrupt.len() > MAX_LISTED {
        let _ = write!(
            h,
            "<p class=\"muted\">… and {} more, listed in summary.json.</p>",
            corrupt.len() - MAX_LISTED
        );
    }
}

fn rule(h: &mut String, m: &MaskingRule) {
    let _ = write!(
        h,
        "<h3>Masking rule (fails closed)</h3><p>Everything outside the endoscopic image area — \
         the tower's patient-data panel — is black in the annotated video and the thumbnails, \
         and never reaches the model. The area is taken only from frames that look like \
         endoscopic pictures: saturated white-outs, uniform fills and menus, frames that change \
         abruptly from the one before, and corrupt frames are never evidence. A new or changed \
         area is trusted only after it has stayed in place for {} evidence frames over at least \
         {:.0} ms (evidence is averaged over blocks of {} frames; pixels of brightness ≤ {} are \
         border). Until an area is trusted, frames are written black and score 0; while a \
         changed area proves itself, a frame shows at most the part of it inside the old \
         trusted area, or nothing.</p>",
        m.adopt_frames, m.adopt_ms, m.block, m.black_level
    );
}
