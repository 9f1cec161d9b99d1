//! The live overlay, drawn in place on the raw frame the element passes on.
//!
//! Input: a [`Canvas`] over the frame and a [`LiveView`] (the image area, the smoothed score,
//! the threshold, the alert, the AI status and how old the shown result is). Output: the same
//! frame with a thick [`ALERT`] border around the image area while the alert is on (and the
//! finding's [`super::FINDING`] box, for a model with a class-activation map), an "AI"
//! status badge top-left, and a small gauge with the threshold marked, the value and the
//! result's age bottom-left: the corners a round or octagonal image leaves black. Or, with no
//! signal, a dark frame saying "NO SIGNAL" and "AI OFF". Never fails; everything clips.
//!
//! Sizes scale with the frame's short side (readable from 480 to 1080 lines). With the AI off
//! the shown score is stale, so neither the border nor a value is drawn, whatever the view says.

use super::canvas::Canvas;
use super::draw;
use super::{ACTIVE, ALERT, CALM, DEFAULT_BORDER_FRACTION, INACTIVE, STRIP_BG, TRACK, WHITE};
use crate::localize::Finding;
use crate::preprocess::ContentArea;
use crate::synth::font;

/// The status dot of a degraded AI (slow or intermittent results): orange, apart from the
/// amber alert.
pub const DEGRADED: [u8; 3] = [255, 110, 20];
/// The background of the "NO SIGNAL" frame.
pub const NO_SIGNAL_BG: [u8; 3] = [16, 16, 20];

/// Whether the AI is analysing the frames shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AiStatus {
    /// Results are fresh.
    On,
    /// No results (no signal, model not running).
    Off,
    /// Results come, but late or with gaps.
    Degraded,
}

impl AiStatus {
    /// What the badge says.
    pub fn label(self) -> &'static str {
        match self {
            Self::On => "AI ON",
            Self::Off => "AI OFF",
            Self::Degraded => "AI DEGRADED",
        }
    }

    /// The badge's dot colour.
    pub fn colour(self) -> [u8; 3] {
        match self {
            Self::On => ACTIVE,
            Self::Off => INACTIVE,
            Self::Degraded => DEGRADED,
        }
    }
}

/// What the live overlay shows on one frame.
#[derive(Debug, Clone, Copy)]
pub struct LiveView<'a> {
    /// Where the image is (border goes around its bounds; None: around the whole frame).
    pub area: Option<&'a ContentArea>,
    /// Gauge value 0..1.
    pub smoothed: f32,
    /// The `on` threshold, marked on the gauge.
    pub threshold: f32,
    /// Thick amber ([`ALERT`]) border when true.
    pub alert: bool,
    pub status: AiStatus,
    /// How many frames old the shown result is (printed small, e.g. "+3").
    pub age_frames: u64,
    /// Where the model's evidence is (frame pixels): boxed while the alert is on.
    pub finding: Option<Finding>,
}

/// Sizes for a frame: the 3×5 digit dot size and the margin from the frame's edge.
#[derive(Debug, Clone, Copy)]
struct Metrics {
    scale: i64,
    margin: i64,
}

impl Metrics {
    fn of(canvas: &Canvas) -> Self {
        let short = i64::from(canvas.width().min(canvas.height()));
        let scale = (short / 160).max(2);
        Self {
            scale,
            margin: 2 * scale,
        }
    }
}

/// Draws border (if alert), gauge with threshold mark and value, AI status dot + label, result age.
pub fn draw_live(canvas: &mut Canvas, view: &LiveView) {
    let m = Metrics::of(canvas);
    if view.alert && view.status != AiStatus::Off {
        draw_border(canvas, view.area);
        if let Some(f) = &view.finding {
            let t = ((canvas.width().min(canvas.height()) as f32 * DEFAULT_BORDER_FRACTION / 2.0)
                .round() as i64)
                .max(2);
            draw::finding(canvas, f, t);
        }
    }
    draw_status(canvas, m, view.status);
    draw_gauge(canvas, m, view);
}

/// A "NO SIGNAL" frame: whole canvas dark, large "NO SIGNAL" text centred, and "AI OFF".
pub fn draw_no_signal(canvas: &mut Canvas) {
    let (w, h) = (i64::from(canvas.width()), i64::from(canvas.height()));
    canvas.fill_rect(0, 0, w, h, NO_SIGNAL_BG);
    const TEXT: &str = "NO SIGNAL";
    // Font pixels so the text spans about half the width.
    let s = (w / 2 / i64::from(font::text_width(TEXT, 1))).max(1);
    let text_w = i64::from(font::text_width(TEXT, s as u32));
    let text_h = s * i64::from(font::GLYPH_H);
    // `label` draws `5·scale/7` font pixels per digit dot: the smallest scale giving `s`.
    let scale = (7 * s + 4) / 5;
    debug_assert_eq!((5 * scale / 7).max(1), s);
    draw::label(
        canvas,
        (w - text_w) / 2,
        (h - text_h) / 2,
        scale,
        TEXT,
        WHITE,
    );
    draw_status(canvas, Metrics::of(canvas), AiStatus::Off);
}

/// The alert border: `DEFAULT_BORDER_FRACTION` of the short side (at least 2 px) around the
/// area's bounds where the frame has room, over the area's edge where it fills the frame.
fn draw_border(canvas: &mut Canvas, area: Option<&ContentArea>) {
    let (w, h) = (canvas.width(), canvas.height());
    let (bx, by, bw, bh) = match area.filter(|a| a.frame_size() == (w as usize, h as usize)) {
        Some(a) => {
            let b = a.bounds();
            (b.x as i64, b.y as i64, b.width as i64, b.height as i64)
        }
        None => (0, 0, i64::from(w), i64::from(h)),
    };
    let t = ((w.min(h) as f32 * DEFAULT_BORDER_FRACTION).round() as i64).max(2);
    let outer = (
        (bx - t).max(0),
        (by - t).max(0),
        (bx + bw + t).min(i64::from(w)),
        (by + bh + t).min(i64::from(h)),
    );
    draw::ring(canvas, outer, t, ALERT);
}

/// Top-left: a dot in the status colour and the status label, on a dark badge.
fn draw_status(canvas: &mut Canvas, m: Metrics, status: AiStatus) {
    let (s, x, y) = (m.scale, m.margin, m.margin);
    let text = status.label();
    let label_x = x + 7 * s;
    let s_font = (5 * s / 7).max(1);
    let end = label_x + i64::from(font::text_width(text, s_font as u32));
    canvas.fill_rect(x - s, y - s, end + s, y + 6 * s, STRIP_BG);
    canvas.fill_rect(x, y, x + 5 * s, y + 5 * s, status.colour());
    draw::label(canvas, label_x, y, s, text, WHITE);
}

/// Bottom-left: the gauge (threshold marked), the value and the result's age, on a dark badge.
fn draw_gauge(canvas: &mut Canvas, m: Metrics, view: &LiveView) {
    let (w, h) = (i64::from(canvas.width()), i64::from(canvas.height()));
    let s = m.scale;
    let (x0, text_y) = (m.margin, h - m.margin - 5 * s);
    let gauge_w = (w / 6).max(20);
    let value = if view.status == AiStatus::Off || view.smoothed.is_nan() {
        None
    } else {
        Some(view.smoothed.clamp(0.0, 1.0))
    };
    let value_text = value.map_or_else(|| "-.--".to_string(), |v| format!("{v:.2}"));
    let age = format!("+{}", view.age_frames.min(999));
    let age_scale = (2 * s / 3).max(2);
    let text_x = x0 + gauge_w + 2 * s;
    // The badge's right end: value text (4 px per dot and character), gap, age label.
    let age_x = text_x + 4 * s * value_text.chars().count() as i64 + s;
    let age_font = (5 * age_scale / 7).max(1) as u32;
    let end = age_x + i64::from(font::text_width(&age, age_font));
    canvas.fill_rect(x0 - s, text_y - s, end + s, text_y + 6 * s, STRIP_BG);
    let (gy0, gy1) = (text_y + s + s / 2, text_y + 4 * s - s / 2);
    canvas.fill_rect(x0, gy0, x0 + gauge_w, gy1, TRACK);
    if let Some(v) = value {
        let fill = (f64::from(v) * gauge_w as f64).round() as i64;
        let colour = if view.alert { ALERT } else { CALM };
        canvas.fill_rect(x0, gy0, x0 + fill, gy1, colour);
    }
    let tx = x0 + (f64::from(view.threshold.clamp(0.0, 1.0)) * gauge_w as f64).round() as i64;
    let half = (s / 3).max(1);
    canvas.fill_rect(tx - half, text_y, tx + half, text_y + 5 * s, WHITE);
    draw::text(canvas, text_x, text_y, s, &value_text, WHITE);
    if value.is_some() {
        let age_y = text_y + 5 * s - 5 * age_scale;
        draw::label(canvas, age_x, age_y, age_scale, &age, INACTIVE);
    }
}

#[cfg(test)]
#[path = "live_tests.rs"]
mod tests;
